"""Benchmark: the db engine through SessionStore, against the raw SQLite + JSON floor.

Prints medians and p10/p90 in microseconds per operation over several repeats
(after a warm-up), and each operation's ratio to the floor measured in the
same run — absolute numbers move +-30% between runs on a shared VM, ratios much
less. Never imported by tests; run it by hand:

    .venv/bin/python bench/bench_db.py [--repeats 15] [--number 2000]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sessionware

SESSION: dict[str, Any] = {
    "user_id": 42,
    "username": "alice",
    "recent": [3, 1, 4],
    "flags": {"beta": True, "dark": False},
    "login_at": "2026-05-09T07:35:25+00:00",
    "counter": 0,
}


def measure(fn: Callable[[int], None], number: int, repeats: int) -> list[float]:
    """µs per call of ``fn(i)`` for each repeat; one untimed repeat first as warm-up."""
    for i in range(number):
        fn(i)
    samples = []
    counter = number
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn(counter)
            counter += 1
        samples.append((time.perf_counter() - start) / number * 1e6)
    return samples


def summary(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    deciles = statistics.quantiles(ordered, n=10, method="inclusive")
    return statistics.median(ordered), deciles[0], deciles[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--number", type=int, default=2000, help="operations per repeat")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        Store = sessionware.session_store(engine="db", path=path)
        seed = Store()
        seed.update(SESSION)
        seed.save()
        key = seed.session_key
        assert key is not None

        def store_load(i: int) -> None:
            Store(key)["user_id"]

        def store_load_modify_save(i: int) -> None:
            session = Store(key)
            # A new value every time: SQLite skips writes that change nothing.
            session["counter"] = i
            session.save()

        # The floor: what one request's session cannot avoid, same file, same settings.
        floor_path = Path(tmp) / "floor.sqlite3"
        conn = sqlite3.connect(floor_path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            "CREATE TABLE s (session_key TEXT PRIMARY KEY, session_data BLOB NOT NULL, "
            "expires_at REAL NOT NULL)"
        )
        conn.execute("CREATE INDEX s_exp ON s (expires_at)")
        later = time.time() + 3600
        conn.execute("INSERT INTO s VALUES (?, ?, ?)", (key, json.dumps(SESSION).encode(), later))

        def floor_select(i: int) -> None:
            conn.execute("SELECT session_data FROM s WHERE session_key = ?", (key,)).fetchone()

        def floor_select_loads(i: int) -> None:
            row = conn.execute("SELECT session_data FROM s WHERE session_key = ?", (key,))
            json.loads(row.fetchone()[0])

        def floor_select_upsert(i: int) -> None:
            raw = conn.execute(
                "SELECT session_data FROM s WHERE session_key = ?", (key,)
            ).fetchone()[0]
            data = json.loads(raw)
            data["counter"] = i
            conn.execute(
                "INSERT INTO s VALUES (?, ?, ?) ON CONFLICT (session_key) DO UPDATE SET "
                "session_data = excluded.session_data, expires_at = excluded.expires_at",
                (key, json.dumps(data).encode(), later),
            )

        payload = dict(SESSION)

        def floor_json(i: int) -> None:
            json.loads(json.dumps(payload).encode())

        n, r = args.number, args.repeats
        results = {
            "raw: sqlite3 SELECT by primary key": measure(floor_select, n, r),
            "raw: json dumps + loads (5-key session)": measure(floor_json, n, r),
            "raw: SELECT + json loads (read floor)": measure(floor_select_loads, n, r),
            "raw: SELECT + json + upsert (write floor)": measure(floor_select_upsert, n, r),
            "db: SessionStore(key) + one read": measure(store_load, n, r),
            "db: load + modify one key + save": measure(store_load_modify_save, n, r),
        }
        conn.close()
        Store.engine.close()

    medians = {name: summary(s)[0] for name, s in results.items()}
    read_floor = medians["raw: SELECT + json loads (read floor)"]
    write_floor = medians["raw: SELECT + json + upsert (write floor)"]
    floors = {
        "db: SessionStore(key) + one read": read_floor,
        "db: load + modify one key + save": write_floor,
    }
    print(
        f"sqlite {sqlite3.sqlite_version}, WAL, synchronous=NORMAL; "
        f"{r} repeats x {n} ops after a warm-up repeat"
    )
    print(f"{'operation':56} {'median':>8} {'p10':>8} {'p90':>8}  vs floor")
    for name, samples in results.items():
        median, p10, p90 = summary(samples)
        ratio = f"{median / floors[name]:.2f}x" if name in floors else ""
        print(f"{name:56} {median:8.1f} {p10:8.1f} {p90:8.1f}  {ratio}")
    print(
        f"read floor = SELECT + json loads ({read_floor:.1f} µs); "
        f"write floor = SELECT + json + upsert ({write_floor:.1f} µs)"
    )


if __name__ == "__main__":
    main()
