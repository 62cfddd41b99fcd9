"""What versioned saves and session locks cost (issue 12): db and cache, engine level.

One load + modify one key + save cycle of a JSON session (the benchmark payload), without
contention, four ways on the same engine, interleaved in one run:

- ``plain``: ``load`` + ``save``;
- ``versioned``: ``load_versioned`` + ``save_versioned`` (compare-and-set);
- ``locked``: ``acquire_lock`` + ``load`` + ``save`` + ``release_lock``;
- db only, ``plain, before issue 12``: ``load`` + ``save`` through the SQL of schema 1
  (no ``version = version + 1``), on the same file: what the plain path paid before.

Prints medians and p10-p90 in µs per cycle and each row's ratio to ``plain``.
Never imported by tests; run it by hand:

    .venv/bin/python bench/bench_versioned.py [--repeats 15] [--number 2000]
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import PAYLOAD
from harness.timing import counts, interleave, print_table
from sessionware_cache import CacheEngine
from sessionware_db import DbEngine

import sessionware

#: The SQL of schema 1 (sessionware-db before issue 12): writes leave the version alone.
BEFORE_UPDATE = (
    'UPDATE "sessionware_session" SET session_data = ?, expires_at = ? '
    "WHERE session_key = ? AND expires_at > ?"
)


def cycles(engine: Any, label: str) -> dict[str, Callable[[], None]]:
    """The three cycles on one seeded session of ``engine``."""
    key = sessionware.new_session_key()
    later = time.time() + 3600
    engine.save(key, json.dumps(PAYLOAD).encode(), later, must_create=True)
    counter = itertools.count()

    def plain() -> None:
        data = json.loads(engine.load(key))
        data["counter"] = next(counter)  # a new value every time
        engine.save(key, json.dumps(data).encode(), later)

    def versioned() -> None:
        raw, version = engine.load_versioned(key)
        data = json.loads(raw)
        data["counter"] = next(counter)
        engine.save_versioned(key, json.dumps(data).encode(), later, version)

    def locked() -> None:
        token = engine.acquire_lock(key, 10)
        try:
            plain()
        finally:
            engine.release_lock(key, token)

    return {
        f"{label}: plain load + modify + save": plain,
        f"{label}: versioned load + modify + save": versioned,
        f"{label}: locked (acquire, load + modify + save, release)": locked,
    }


def before(path: Path) -> Callable[[], None]:
    """The db's plain cycle through the SQL of schema 1, on its own session in ``path``."""
    engine = DbEngine(path=path)
    engine._sql_update = BEFORE_UPDATE  # what save ran before issue 12
    return cycles(engine, "db")["db: plain load + modify + save"]


def main() -> None:
    args = counts(__doc__).parse_args()
    n, r = args.number, args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        db, cache = DbEngine(path=path), CacheEngine()
        ops = {
            **cycles(db, "db"),
            "db: plain, before issue 12 (no version bump)": before(path),
            **cycles(cache, "cache"),
        }
        results = interleave(ops, number=n, rounds=r, warmup=n)
        db.close()
    floors = {name: name.split(":")[0] + ": plain load + modify + save" for name in ops}
    for name in list(floors):
        if floors[name] == name:
            del floors[name]
    print(
        f"sqlite {sqlite3.sqlite_version}, WAL, synchronous=NORMAL; no contention; "
        f"{r} interleaved rounds x {n} cycles after a warm-up; ratio to the same engine's plain"
    )
    print_table(results, floors, width=60)


if __name__ == "__main__":
    main()
