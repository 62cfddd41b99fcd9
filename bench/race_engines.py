"""Lost updates at the engine level (issue 12): 2 racers x 2,000 read-modify-write cycles.

Two racers load one session, add one to a counter and save it, again and again, through
the engine's raw methods (bytes in, bytes out; no ``SessionStore``, so no merge). db, file
and redis race in two processes (each builds its own engine on the same store); cache,
an in-process store, races in two threads sharing one engine. Four ways, from
``sessionware.testing.count_lost_updates``:

- ``own key, plain``: each racer its own counter, ``load`` + ``save``: the race of the
  issue (what the session's merge of top-level keys fixes);
- ``own key, versioned``: ``load_versioned`` + ``save_versioned``, the cycle retried on
  ``VersionConflict``;
- ``same key, plain``: both racers one counter, ``load`` + ``save``;
- ``same key, locked``: ``acquire_lock`` (polled every 100 µs), ``load`` + ``save``,
  ``release_lock``.

Prints, per row, the increments lost (of ``2 x cycles``), the retries (versioned saves
refused, or lock attempts that found the lock held), the seconds of the slower racer
and how long both ran at once (a race without overlap proves nothing). The session-level
race (``SessionStore`` merging) is ``bench/bench_lost_updates.py``. Never imported by
tests; run it by hand (redis rows need a server on 127.0.0.1:6379):

    .venv/bin/python bench/race_engines.py [--cycles 2000] [--quick] [--engines db,file,redis,cache]
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from pathlib import Path
from typing import Any

from harness.services import REDIS_URL, redis_available, redis_cleanup
from sessionware_cache import CacheEngine

from sessionware.testing import count_lost_updates

ENGINES = ("db", "file", "redis", "cache")
#: (label, mode, same_key) of each row.
RACES: tuple[tuple[str, Any, bool], ...] = (
    ("own key, plain", "plain", False),
    ("own key, versioned", "versioned", False),
    ("same key, plain", "plain", True),
    ("same key, locked", "locked", True),
)
WIDTH = 20


def contenders(names: list[str], tmp: Path, prefix: str) -> dict[str, tuple[Any, dict[str, Any]]]:
    """What ``count_lost_updates`` builds each engine from: an importable name and options,
    or (cache, raced by threads) the one instance both threads share."""
    (tmp / "files").mkdir(mode=0o700)
    built: dict[str, tuple[Any, dict[str, Any]]] = {
        "db": ("sessionware_db:DbEngine", {"path": str(tmp / "race.sqlite3")}),
        "file": ("sessionware_file:FileEngine", {"path": str(tmp / "files")}),
        "redis": ("sessionware_redis:RedisEngine", {"url": REDIS_URL, "prefix": prefix}),
        "cache": (CacheEngine(), {}),
    }
    return {name: built[name] for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2000, help="cycles per racer")
    parser.add_argument("--quick", action="store_true", help="200 cycles per racer")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated")
    args = parser.parse_args()
    cycles = 200 if args.quick else args.cycles
    names = [name for name in args.engines.split(",") if name]
    unknown = sorted(set(names) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engines {unknown}; choose from {','.join(ENGINES)}")
    if "redis" in names and not redis_available():
        print("(no Redis answering PING on 127.0.0.1:6379: redis rows skipped)")
        names.remove("redis")
    prefix = f"swbench-race-{uuid.uuid4().hex[:8]}:"
    print(
        f"2 racers x {cycles} load + add one + save cycles on one session "
        "(db, file, redis: processes; cache: threads); lost of "
        f"{2 * cycles}, retries = conflicts or busy lock attempts\n"
    )
    print(
        f"{'engine':7} {'race':{WIDTH}} {'lost':>6} {'lost %':>7} {'retries':>8} "
        f"{'seconds':>8} {'overlap':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for name, (engine, options) in contenders(names, Path(tmp), prefix).items():
                for label, mode, same_key in RACES:
                    report = count_lost_updates(
                        engine,
                        options,
                        mode=mode,
                        cycles=cycles,
                        processes=name != "cache",
                        same_key=same_key,
                        timeout=600,
                    )
                    print(
                        f"{name:7} {label:{WIDTH}} {report.lost:6d} {report.lost_fraction:7.1%} "
                        f"{report.conflicts + report.busy:8d} {report.seconds:8.2f} "
                        f"{report.overlap:8.2f}"
                        + ("" if report.overlapped else "  (no overlap: proves nothing)")
                    )
                if name == "cache":
                    engine.close()
        finally:
            if "redis" in names:
                redis_cleanup(prefix)


if __name__ == "__main__":
    main()
