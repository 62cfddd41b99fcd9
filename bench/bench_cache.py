"""Benchmark: the cache engine through SessionStore, against a locked cachetools + JSON floor.

Prints medians and p10-p90 in microseconds per operation (after a warm-up),
each operation's ratio to its floor measured in the same run, and the memory
the engine takes to hold 100,000 sessions of PAYLOAD (tracemalloc). Never
imported by tests; run it by hand:

    .venv/bin/python bench/bench_cache.py [--repeat 15] [--number 2000] [--sessions 100000]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from itertools import count

import cachetools
from harness import PAYLOAD
from harness.timing import measure, print_table

import sessionware

FLOORS = {
    "cache: engine.load + engine.save (update)": "floor: TLRUCache get + set under a lock",
    "cache: SessionStore(key) + one read": "floor: locked get + json loads (read)",
    "cache: load + modify one key + save": "floor: get + loads + dumps + set (write)",
}


def memory_per_session(sessions: int) -> tuple[int, tuple[int, int, int]]:
    """Bytes an engine holding ``sessions`` sessions of PAYLOAD takes, and object sizes.

    Returns the total and, for one session, the serialized length, the size of
    its ``bytes`` object and the size of its key ``str``.

    Keys and serialized payloads are made before tracing (tracemalloc makes
    every allocation slow) and added back with ``sys.getsizeof``; the traced
    part is what the engine adds: expiry, tuples and cachetools' bookkeeping.
    """
    serializer = sessionware.get_serializer("json")
    expires_at = time.time() + 3600
    # Plugin discovery imports modules; do it before tracing so they are not counted.
    sessionware.get_engine("cache").close()
    rows = [
        (sessionware.new_session_key(), serializer.dumps(dict(PAYLOAD, counter=i)))
        for i in range(sessions)
    ]
    held = sum(sys.getsizeof(key) + sys.getsizeof(data) for key, data in rows)
    gc.collect()
    tracemalloc.start()
    engine = sessionware.get_engine("cache", maxsize=sessions)
    for key, data in rows:
        engine.save(key, data, expires_at, must_create=True)
    gc.collect()
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert engine.size == sessions and engine.evictions == 0
    engine.close()
    key, data = rows[-1]
    return traced + held, (len(data), sys.getsizeof(data), sys.getsizeof(key))


def floor(key: str) -> dict[str, Callable[[], object]]:
    """A cachetools get + set under a lock, and encoding the payload."""
    cache: cachetools.TLRUCache[str, tuple[bytes, float], float] = cachetools.TLRUCache(
        10_000, ttu=lambda _k, v, _now: v[1], timer=time.time
    )
    lock = threading.Lock()
    later = time.time() + 3600
    cache[key] = (json.dumps(PAYLOAD).encode(), later)
    payload = dict(PAYLOAD)
    counter = count()

    def get_set() -> None:
        with lock:
            data = cache[key][0]
        with lock:
            cache[key] = (data, later)

    def read() -> None:
        with lock:
            data = cache[key][0]
        json.loads(data)

    def write() -> None:
        with lock:
            data = cache[key][0]
        session = json.loads(data)
        session["counter"] = next(counter)
        encoded = json.dumps(session).encode()
        with lock:
            cache[key] = (encoded, later)

    return {
        "floor: TLRUCache get + set under a lock": get_set,
        "floor: json dumps + loads of PAYLOAD": lambda: json.loads(json.dumps(payload).encode()),
        "floor: locked get + json loads (read)": read,
        "floor: get + loads + dumps + set (write)": write,
    }


def sessions(Store: type[sessionware.SessionStore], key: str) -> dict[str, Callable[[], object]]:
    """The engine alone, then through SessionStore: a load, a load + modify + save."""
    engine, counter = Store.engine, count()
    encoded, later = json.dumps(PAYLOAD).encode(), time.time() + 3600

    def engine_load_save() -> None:
        engine.save(key, engine.load(key) or encoded, later)

    def load_modify_save() -> None:
        session = Store(key)
        session["counter"] = next(counter)
        session.save()

    return {
        "cache: engine.load + engine.save (update)": engine_load_save,
        "cache: SessionStore(key) + one read": lambda: Store(key)["user_id"],
        "cache: load + modify one key + save": load_modify_save,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--number", type=int, default=2000, help="operations per repeat")
    parser.add_argument("--sessions", type=int, default=100_000, help="for the memory figure")
    args = parser.parse_args()
    n, r = args.number, args.repeat
    Store = sessionware.session_store(engine="cache", maxsize=10_000)
    seed = Store()
    seed.update(PAYLOAD)
    seed.save()
    assert seed.session_key is not None
    ops = {**floor(seed.session_key), **sessions(Store, seed.session_key)}
    results = {name: measure(fn, number=n, repeat=r) for name, fn in ops.items()}
    Store.engine.close()
    print(f"cachetools {cachetools.__version__}; {r} repeats x {n} ops after a warm-up")
    print_table(results, FLOORS, width=44)
    total, (length, data_size, key_size) = memory_per_session(args.sessions)
    per_session = total / args.sessions
    print(
        f"memory: {args.sessions:,} sessions of PAYLOAD ({length} B serialized) take "
        f"{total / 2**20:.1f} MiB (tracemalloc): {per_session:.0f} B per session = "
        f"{data_size} B data object + {key_size} B key + "
        f"{per_session - data_size - key_size:.0f} B expiry and cachetools bookkeeping"
    )


if __name__ == "__main__":
    main()
