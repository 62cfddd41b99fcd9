"""Lost updates at the session level: 2 writers x N load-modify-save cycles on ONE session.

Every cycle goes through ``sessionware.session_store(engine=...)`` as an
application's request would: ``Store(key)``, change, ``save()``, no pause.
Rows per engine (db, file, redis in 2 processes; cache in 2 threads of one
process, since its store lives in the process):

- ``own key, plain``: each writer increments its own key, versioning off
  (a bound class with ``_versioned = False``: plain ``load``/``save``, what
  every session library does);
- ``own key, versioned``: the same with versioned saves (merge on conflict);
- ``same key, versioned``: both increment one key; the merge keeps one value and
  reports the loss (a ``sessionware.concurrency`` WARNING per conflict);
- ``same key, lock()``: both increment one key inside ``with session.lock():``.

Columns: increments lost (acknowledged by ``save()`` but missing from the final
data), saves that gave up (``VersionConflict``/``LockTimeout``), conflicts reported
(WARNING lines), microseconds per cycle (each writer's wall time / cycles,
averaged). Run by hand (the redis rows need a server on 127.0.0.1:6379)::

    .venv/bin/python bench/bench_lost_updates.py [--cycles 2000] [--quick]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import queue
import socket
import tempfile
import threading
import time
import uuid
from typing import Any

import sessionware
from sessionware import LockTimeout, VersionConflict

REDIS_URL = "redis://127.0.0.1:6379/0"
MODES = ("own key, plain", "own key, versioned", "same key, versioned", "same key, lock()")


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def bound(engine: str, options: dict[str, Any], mode: str) -> Any:
    Store = sessionware.session_store(engine=engine, **options)
    if mode.endswith("plain"):  # the session flag: plain load/save on a versioned engine
        return type("PlainStore", (Store,), {"_versioned": False})
    return Store


def writer(Store: Any, key: str, name: str, mode: str, cycles: int, out: Any) -> None:
    """``cycles`` load-modify-save cycles; puts (name, acknowledged, gave up, reported, s)."""
    counter = _Counter()
    log = logging.getLogger("sessionware.concurrency")
    log.addHandler(counter)
    field = "n" if mode.startswith("same") else name
    acknowledged = gave_up = 0
    started = time.perf_counter()
    for _ in range(cycles):
        s = Store(key)
        try:
            if mode.endswith("lock()"):
                with s.lock():
                    s[field] = s.get(field, 0) + 1
            else:
                s[field] = s.get(field, 0) + 1
                s.save()
            acknowledged += 1
        except (VersionConflict, LockTimeout):
            gave_up += 1
    seconds = time.perf_counter() - started
    log.removeHandler(counter)
    out.put((name, acknowledged, gave_up, counter.count, seconds))


def _process_writer(engine: str, options: dict[str, Any], *args: Any) -> None:
    writer(bound(engine, options, args[2]), *args)


def race(engine: str, options: dict[str, Any], mode: str, cycles: int) -> tuple[int, ...]:
    """(lost, gave up, reported, µs per cycle) for one row."""
    Store = bound(engine, options, mode)
    s = Store()
    s["start"] = True
    s.save()
    key = s.session_key
    names = ("x", "y")
    if engine == "cache":
        results: Any = queue.Queue()
        workers: list[Any] = [
            threading.Thread(target=writer, args=(Store, key, n, mode, cycles, results))
            for n in names
        ]
    else:
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        workers = [
            context.Process(
                target=_process_writer, args=(engine, options, key, n, mode, cycles, results)
            )
            for n in names
        ]
    for worker in workers:
        worker.start()
    rows = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    final = Store(key).load()
    acknowledged = sum(row[1] for row in rows)
    if mode.startswith("same"):
        stored = final.get("n", 0)
    else:
        stored = sum(final.get(row[0], 0) for row in rows)
    micros = sum(row[4] for row in rows) / len(rows) / cycles * 1e6
    return acknowledged - stored, sum(row[2] for row in rows), sum(row[3] for row in rows), micros


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2000, help="cycles per writer (2000)")
    parser.add_argument("--quick", action="store_true", help="300 cycles per writer")
    args = parser.parse_args()
    cycles = 300 if args.quick else args.cycles
    logging.getLogger("sessionware.concurrency").propagate = False  # counted, not printed
    with tempfile.TemporaryDirectory() as directory:
        engines: list[tuple[str, dict[str, Any]]] = [
            ("db", {"path": os.path.join(directory, "sessions.db")}),
            ("file", {"path": directory}),
        ]
        if redis_answers():
            prefix = f"swbench-lost-{uuid.uuid4().hex[:8]}:"
            engines.append(("redis", {"url": REDIS_URL, "prefix": prefix}))
        else:
            print("(no Redis on 127.0.0.1:6379: redis rows skipped)")
        engines.append(("cache", {}))
        print(f"2 writers x {cycles} cycles on one session (cache: 2 threads; others: 2 processes)")
        head = ("engine", "mode", "lost", "gave up", "reported", "µs/cycle")
        print("{:<7} {:<20} {:>6} {:>8} {:>9} {:>9}".format(*head))
        for engine, options in engines:
            for mode in MODES:
                lost, gave_up, reported, micros = race(engine, options, mode, cycles)
                print(
                    f"{engine:<7} {mode:<20} {lost:>6} {gave_up:>8} {reported:>9} {micros:>9.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
