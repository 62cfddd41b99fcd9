"""The postgres engine's clear_expired of 1,000,000 sessions, half expired, while requests run.

The table is the engine's own (made by the engine in a schema of its own), filled by
one ``INSERT ... SELECT ... FROM generate_series`` in one statement: 32-character keys,
the benchmark payload with a counter, every other row expired (up to 30 days ago), the
rest live (1 hour to 14 days ahead), then ``VACUUM ANALYZE`` so the purge starts on a
settled table. A request thread takes 1,000 live sessions made through the engine and
runs load + modify + save cycles on them (``load_versioned``, json, ``save_versioned``:
what a request that writes its session does), back to back, first for a baseline of
``--baseline`` seconds, then during ``engine.clear_expired()`` in the main thread.

Prints the purge's total time and rows removed, and the request cycles' latency
before and during the purge: median, p99 and the longest any request waited. Same
durability as production: a logged table, the server's ``synchronous_commit``. Needs
a PostgreSQL (``SESSIONWARE_BENCH_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``); the schema is dropped at the end.

    .venv/bin/python bench/bench_postgres_purge.py [--rows 1000000] [--quick]

``--quick``: 100,000 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import uuid
from typing import Any

import psycopg
from harness import PAYLOAD
from psycopg import sql

import sessionware

URL = os.environ.get("SESSIONWARE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
LIVE_KEYS = 1000
FILL = """
INSERT INTO {t} (session_key, session_data, expires_at, version)
SELECT md5('swbench' || i::text),
       convert_to(%(prefix)s || i::text || '}}', 'UTF8'),
       CASE WHEN i %% 2 = 0 THEN %(now)s - 1 - random() * 2592000
            ELSE %(now)s + 3600 + random() * 1206000 END,
       1
  FROM generate_series(1, %(rows)s) AS i
"""


def fill(engine: Any, rows: int, now: float) -> float:
    """The engine's table with ``rows`` sessions, half expired, in one statement; seconds."""
    started = time.perf_counter()
    engine.health()  # the engine creates its schema and tables
    body = json.dumps(PAYLOAD, separators=(",", ":"))
    prefix = body[: body.rindex(":") + 1]
    table = sql.Identifier(engine.schema, engine.table)
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(sql.SQL(FILL).format(t=table), {"prefix": prefix, "now": now, "rows": rows})
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(table))
    return time.perf_counter() - started


class Requests(threading.Thread):
    """Load + modify + save cycles on live sessions, back to back; each one's latency."""

    def __init__(self, engine: Any, keys: list[str]) -> None:
        super().__init__(daemon=True)
        self.engine, self.keys = engine, keys
        self.phase = "baseline"
        self.latencies: dict[str, list[float]] = {"baseline": [], "purge": [], "after": []}
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        rng = random.Random(7)
        later = time.time() + 14 * 86400
        while not self.stop.is_set():
            key = rng.choice(self.keys)
            phase = self.phase
            started = time.perf_counter()
            try:
                data, version = self.engine.load_versioned(key)
                state = json.loads(data)
                state["counter"] += 1
                self.engine.save_versioned(key, json.dumps(state).encode(), later, version)
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self.latencies[phase].append(time.perf_counter() - started)


def describe(values: list[float]) -> str:
    if not values:
        return "no requests"
    ordered = sorted(values)
    p50 = ordered[len(ordered) // 2] * 1e3
    p99 = ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)] * 1e3
    return (
        f"{len(values):6d} requests, median {p50:6.2f} ms, p99 {p99:6.2f} ms, "
        f"max {ordered[-1] * 1e3:7.2f} ms"
    )


def main() -> int:
    flags = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    flags.add_argument("--rows", type=int, default=1_000_000)
    flags.add_argument("--quick", action="store_true", help="100,000 rows")
    flags.add_argument("--baseline", type=float, default=3.0, help="seconds before the purge")
    args = flags.parse_args()
    rows = 100_000 if args.quick else args.rows
    try:
        with psycopg.connect(URL, connect_timeout=3) as conn:
            server = conn.execute("SHOW server_version").fetchone()
            sync = conn.execute("SHOW synchronous_commit").fetchone()
    except psycopg.Error as exc:
        print(f"skipped: no PostgreSQL at {URL} ({exc})", file=sys.stderr)
        return 0
    assert server is not None and sync is not None
    schema = f"swbench_purge_{uuid.uuid4().hex[:10]}"
    engine: Any = sessionware.get_engine("postgres", url=URL, schema=schema)
    try:
        now = time.time()
        built = fill(engine, rows, now)
        payload = json.dumps(PAYLOAD).encode()
        keys = [
            engine.save(sessionware.new_session_key(), payload, now + 86400, must_create=True)
            for _ in range(LIVE_KEYS)
        ]
        print(
            f"PostgreSQL {server[0]} at {engine.address}, synchronous_commit={sync[0]}, logged "
            f"table; {rows:,} rows ({rows // 2:,} expired) built in {built:.1f} s; "
            f"batch_size={engine.batch_size}"
        )
        requests = Requests(engine, keys)
        requests.start()
        time.sleep(args.baseline)
        requests.phase = "purge"
        started = time.perf_counter()
        removed = engine.clear_expired()
        total = time.perf_counter() - started
        requests.phase = "after"
        time.sleep(0.5)
        requests.stop.set()
        requests.join()
        print(
            f"clear_expired: {removed:,} rows removed in {total:.2f} s ({removed / total:,.0f}/s)"
        )
        print(f"  requests before the purge: {describe(requests.latencies['baseline'])}")
        print(f"  requests during the purge: {describe(requests.latencies['purge'])}")
        print(f"  requests after the purge:  {describe(requests.latencies['after'])}")
        if requests.errors:
            print(f"  {len(requests.errors)} failed requests, first: {requests.errors[0]}")
        left = engine.count_expired()
        print(f"  expired rows left: {left}")
    finally:
        engine.close()
        with psycopg.connect(URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
