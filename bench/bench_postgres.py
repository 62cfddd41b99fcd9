"""The postgres engine next to a raw psycopg floor: load, and load + modify + save.

Same server, same table layout, same durability (a logged table; the server's
own `synchronous_commit`), same process, rounds interleaved:

- `engine load`: `PostgresEngine.load` (pool checkout, one prepared SELECT);
- `floor load`: a `psycopg_pool.ConnectionPool` connection, one SELECT;
- `engine cycle`: `load_versioned` + modify one key of the JSON session +
  `save_versioned` (compare-and-set: one UPDATE with the version check);
- `floor cycle`: the same by hand on a pooled connection — one SELECT of the
  data and version, one `UPDATE ... WHERE session_key = %s AND version = %s`;
- `engine cycle, unlogged`: the engine's cycle on an `unlogged=True` table
  (faster commits; every session lost if the server crashes) — the trade the
  docs describe, not a peer at equal durability.

Prints medians and p10-p90 in µs per call and each engine row's ratio to its
floor (issue 13's target: at most 1.3x). The Django comparison is another
script's. Needs a PostgreSQL: `SESSIONWARE_BENCH_POSTGRES_URL`, default
`postgresql://postgres@127.0.0.1:5432/test`; works in a schema of its own,
dropped at the end. Never imported by tests:

    .venv/bin/python bench/bench_postgres.py [--repeat 15] [--number 500] [--quick]
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from typing import Any

import psycopg
from harness import PAYLOAD
from harness.timing import counts, interleave, print_table
from psycopg import sql
from psycopg_pool import ConnectionPool

import sessionware

URL = os.environ.get("SESSIONWARE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def main() -> int:
    parser = counts(__doc__, repeat=15, number=500)
    parser.add_argument("--quick", action="store_true", help="3 rounds of 100 calls")
    args = parser.parse_args()
    rounds, number = (3, 100) if args.quick else (args.repeat, args.number)
    try:
        psycopg.connect(URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"skipped: no PostgreSQL at {URL} ({exc})", file=sys.stderr)
        return 0

    schema = f"swbench_{uuid.uuid4().hex[:10]}"
    engine: Any = sessionware.get_engine("postgres", url=URL, schema=schema)
    unlogged: Any = sessionware.get_engine(
        "postgres", url=URL, schema=schema, table="unlogged_session", unlogged=True
    )
    pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
        URL, min_size=1, max_size=4, kwargs={"autocommit": True}, open=True
    )
    try:
        later = time.time() + 3600
        payload = json.dumps(PAYLOAD).encode()
        key = engine.save(sessionware.new_session_key(), payload, later, must_create=True)
        fast_key = unlogged.save(sessionware.new_session_key(), payload, later, must_create=True)
        table = sql.Identifier(schema, engine.table)
        select = sql.SQL(
            "SELECT session_data, version FROM {} WHERE session_key = %s AND expires_at > %s"
        ).format(table)
        update = sql.SQL(
            "UPDATE {} SET session_data = %s, expires_at = %s, version = version + 1 "
            "WHERE session_key = %s AND version = %s AND expires_at > %s"
        ).format(table)
        select_text = select.as_string(None)
        update_text = update.as_string(None)

        def engine_cycle(store: Any = engine, session: str = key) -> None:
            data, version = store.load_versioned(session)
            state = json.loads(data)
            state["counter"] += 1
            store.save_versioned(session, json.dumps(state).encode(), later, version)

        def floor_load() -> Any:
            with pool.connection() as conn:
                return conn.execute(select_text, (key, time.time())).fetchone()

        def floor_cycle() -> None:
            with pool.connection() as conn:
                row = conn.execute(select_text, (key, time.time())).fetchone()
                assert row is not None
                state = json.loads(row[0])
                state["counter"] += 1
                conn.execute(
                    update_text, (json.dumps(state).encode(), later, key, row[1], time.time())
                )

        ops = {
            "engine load": lambda: engine.load(key),
            "floor load (pooled psycopg, one SELECT)": floor_load,
            "engine cycle (load_versioned + save_versioned)": engine_cycle,
            "floor cycle (one SELECT, one UPDATE with version)": floor_cycle,
            "engine cycle, unlogged table": lambda: engine_cycle(unlogged, fast_key),
        }
        results = interleave(ops, number=number, rounds=rounds)
        print(f"postgres engine vs raw psycopg at {engine.address}, {rounds} x {number} calls")
        print_table(
            results,
            floors={
                "engine load": "floor load (pooled psycopg, one SELECT)",
                "engine cycle (load_versioned + save_versioned)": (
                    "floor cycle (one SELECT, one UPDATE with version)"
                ),
                "engine cycle, unlogged table": (
                    "floor cycle (one SELECT, one UPDATE with version)"
                ),
            },
            width=52,
        )
    finally:
        engine.close()
        unlogged.close()
        pool.close()
        with psycopg.connect(URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
