"""Lost updates (issue 12) on db and cache: two racers, read-modify-write cycles on one session.

db: two processes on one SQLite file; cache: two threads on one engine (switching every
few bytecodes). Each cycle loads the session, adds one to a counter and saves it:

- ``own key, plain``: each racer its own counter, ``load``/``save`` (the race of the issue);
- ``own key, versioned``: ``load_versioned``/``save_versioned``, retried on VersionConflict;
- ``same key, plain``: both racers one counter;
- ``same key, versioned``: both racers one counter, the whole cycle retried on
  VersionConflict (the engine's compare-and-set alone; the session's merge of top-level
  keys is another matter);
- ``same key, locked``: ``acquire_lock`` (polled every 200 µs), ``load``/``save``,
  ``release_lock``.

Prints, per row, the increments lost (expected minus stored), the retries (conflicts, or
tries that found the lock taken) and the seconds. The file and redis engines have their
own script, ``bench/race_file_redis.py``. Never imported by tests; run it by hand:

    .venv/bin/python bench/race_db_cache.py [--cycles 2000] [--engines db,cache]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sessionware_cache import CacheEngine
from sessionware_db import DbEngine

import sessionware

MODES = [
    ("own", "plain"),
    ("own", "versioned"),
    ("same", "plain"),
    ("same", "versioned"),
    ("same", "locked"),
]


def run_cycles(engine: Any, key: str, counter: str, mode: str, cycles: int) -> int:
    """``cycles`` increments of ``counter`` in the session ``key``; return the retries."""
    later = engine.now() + 600
    retries = 0
    for _ in range(cycles):
        if mode == "plain":
            data = json.loads(engine.load(key))
            data[counter] += 1
            engine.save(key, json.dumps(data).encode(), later)
        elif mode == "versioned":
            while True:
                raw, version = engine.load_versioned(key)
                data = json.loads(raw)
                data[counter] += 1
                try:
                    engine.save_versioned(key, json.dumps(data).encode(), later, version)
                    break
                except sessionware.VersionConflict:
                    retries += 1
        else:
            while (token := engine.acquire_lock(key, 10)) is None:
                retries += 1
                time.sleep(0.0002)
            try:
                data = json.loads(engine.load(key))
                data[counter] += 1
                engine.save(key, json.dumps(data).encode(), later)
            finally:
                engine.release_lock(key, token)
    return retries


def worker(path: str, key: str, counter: str, mode: str, cycles: int) -> None:
    """One db racer, in its own process: waits for a line on stdin, then races."""
    engine = DbEngine(path=path)
    print("ready", flush=True)
    sys.stdin.readline()
    print(run_cycles(engine, key, counter, mode, cycles), flush=True)
    engine.close()


def seed(engine: Any, same: str) -> tuple[str, list[str]]:
    key = sessionware.new_session_key()
    counters = ["n", "n"] if same == "same" else ["a", "b"]
    engine.save(key, json.dumps(dict.fromkeys(counters, 0)).encode(), engine.now() + 600, True)
    return key, counters


def race_db(path: Path, same: str, mode: str, cycles: int) -> tuple[int, int, float]:
    engine = DbEngine(path=path)
    key, counters = seed(engine, same)
    racers = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", str(path), key, c, mode, str(cycles)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for c in counters
    ]
    for racer in racers:
        assert racer.stdout is not None and racer.stdout.readline() == "ready\n"
    started = time.perf_counter()
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write("go\n")
        racer.stdin.flush()
    retries = sum(int(racer.communicate(timeout=600)[0]) for racer in racers)
    seconds = time.perf_counter() - started
    stored = json.loads(engine.load(key) or b"{}")
    engine.close()
    return 2 * cycles - sum(stored.values()), retries, seconds


def race_cache(same: str, mode: str, cycles: int) -> tuple[int, int, float]:
    engine = CacheEngine()
    key, counters = seed(engine, same)
    retries: list[int] = []
    barrier = threading.Barrier(2)

    def racer(counter: str) -> None:
        barrier.wait()
        retries.append(run_cycles(engine, key, counter, mode, cycles))

    threads = [threading.Thread(target=racer, args=(c,)) for c in counters]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # the threads really interleave inside the cycles
    started = time.perf_counter()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    seconds = time.perf_counter() - started
    stored = json.loads(engine.load(key) or b"{}")
    return 2 * cycles - sum(stored.values()), sum(retries), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2000, help="cycles per racer")
    parser.add_argument("--engines", default="db,cache")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        path, key, counter, mode, cycles = args.worker
        worker(path, key, counter, mode, int(cycles))
        return
    n = args.cycles
    print(f"2 racers x {n} read-modify-write cycles on one session (db: processes, cache: threads)")
    header = ("engine", "counter", "mode", "lost", "lost %", "retries", "s")
    print("{:7} {:9} {:10} {:>6} {:>7} {:>8} {:>6}".format(*header))
    with tempfile.TemporaryDirectory() as tmp:
        runs: dict[str, Callable[[str, str], tuple[int, int, float]]] = {
            "db": lambda same, mode: race_db(Path(tmp) / "race.sqlite3", same, mode, n),
            "cache": lambda same, mode: race_cache(same, mode, n),
        }
        for name in args.engines.split(","):
            for same, mode in MODES:
                lost, retries, seconds = runs[name](same, mode)
                print(
                    f"{name:7} {same + ' key':9} {mode:10} {lost:6d} {lost / (2 * n):7.1%} "
                    f"{retries:8d} {seconds:6.2f}"
                )


if __name__ == "__main__":
    main()
