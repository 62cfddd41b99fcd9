"""Benchmark: the db engine through SessionStore, against the raw SQLite + JSON floor.

Prints medians and p10/p90 in microseconds per operation over several repeats
(after a warm-up), and each operation's ratio to the floor measured in the
same run — absolute numbers move +-30% between runs on a shared VM, ratios much
less. Never imported by tests; run it by hand:

    .venv/bin/python bench/bench_db.py [--repeats 15] [--number 2000]
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness import PAYLOAD
from harness.sessions import load, load_modify_save, seeded
from harness.timing import counts, measure, print_table

import sessionware

SELECT = "SELECT session_data FROM s WHERE session_key = ?"
UPSERT = (
    "INSERT INTO s VALUES (?, ?, ?) ON CONFLICT (session_key) DO UPDATE SET "
    "session_data = excluded.session_data, expires_at = excluded.expires_at"
)
FLOORS = {
    "db: SessionStore(key) + one read": "raw: SELECT + json loads (read floor)",
    "db: load + modify one key + save": "raw: SELECT + json + upsert (write floor)",
}


def floor(path: Path, key: str) -> dict[str, Callable[[], object]]:
    """What one request's session cannot avoid: same file settings, a raw connection."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE s (session_key TEXT PRIMARY KEY, session_data BLOB NOT NULL, "
        "expires_at REAL NOT NULL)"
    )
    conn.execute("CREATE INDEX s_exp ON s (expires_at)")
    later = time.time() + 3600
    conn.execute("INSERT INTO s VALUES (?, ?, ?)", (key, json.dumps(PAYLOAD).encode(), later))
    counter = itertools.count()
    payload = dict(PAYLOAD)

    def select_upsert() -> None:
        data = json.loads(conn.execute(SELECT, (key,)).fetchone()[0])
        data["counter"] = next(counter)  # a new value every time: SQLite skips no-op writes
        conn.execute(UPSERT, (key, json.dumps(data).encode(), later))

    return {
        "raw: sqlite3 SELECT by primary key": lambda: conn.execute(SELECT, (key,)).fetchone(),
        "raw: json dumps + loads (5-key session)": lambda: json.loads(json.dumps(payload).encode()),
        "raw: SELECT + json loads (read floor)": lambda: json.loads(
            conn.execute(SELECT, (key,)).fetchone()[0]
        ),
        "raw: SELECT + json + upsert (write floor)": select_upsert,
    }


def main() -> None:
    parser = counts(__doc__)
    args = parser.parse_args()
    n, r = args.number, args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        Store = sessionware.session_store(engine="db", path=Path(tmp) / "bench.sqlite3")
        key = seeded(Store)
        ops = {
            **floor(Path(tmp) / "floor.sqlite3", key),
            "db: SessionStore(key) + one read": load(Store, key),
            "db: load + modify one key + save": load_modify_save(Store, key),
        }
        # One untimed repeat first as warm-up.
        results = {name: measure(fn, number=n, repeat=r, warmup=n) for name, fn in ops.items()}
        Store.engine.close()
    print(
        f"sqlite {sqlite3.sqlite_version}, WAL, synchronous=NORMAL; "
        f"{r} repeats x {n} ops after a warm-up repeat"
    )
    print_table(results, FLOORS, width=56)


if __name__ == "__main__":
    main()
