"""Benchmark: the cache engine through SessionStore, against a locked cachetools + JSON floor.

Prints medians and p10-p90 in microseconds per operation (after a warm-up),
each operation's ratio to its floor measured in the same run, and the memory
the engine takes to hold 100,000 sessions of PAYLOAD (tracemalloc, measured as
``compare_scale.py`` measures it: ``scenarios/scale_memory.py``). Never
imported by tests; run it by hand:

    .venv/bin/python bench/bench_cache.py [--repeat 15] [--number 2000] [--sessions 100000]
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from itertools import count

import cachetools
from harness import PAYLOAD
from harness.sessions import load, load_modify_save, seeded
from harness.timing import counts, measure, print_table
from scenarios.scale_memory import cache_memory

import sessionware

FLOORS = {
    "cache: engine.load + engine.save (update)": "floor: TLRUCache get + set under a lock",
    "cache: SessionStore(key) + one read": "floor: locked get + json loads (read)",
    "cache: load + modify one key + save": "floor: get + loads + dumps + set (write)",
}


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
    engine = Store.engine
    encoded, later = json.dumps(PAYLOAD).encode(), time.time() + 3600

    def engine_load_save() -> None:
        engine.save(key, engine.load(key) or encoded, later)

    return {
        "cache: engine.load + engine.save (update)": engine_load_save,
        "cache: SessionStore(key) + one read": load(Store, key),
        "cache: load + modify one key + save": load_modify_save(Store, key),
    }


def main() -> None:
    parser = counts(__doc__)
    parser.add_argument("--sessions", type=int, default=100_000, help="for the memory figure")
    args = parser.parse_args()
    n, r = args.number, args.repeat
    Store = sessionware.session_store(engine="cache", maxsize=10_000)
    key = seeded(Store)
    ops = {**floor(key), **sessions(Store, key)}
    results = {name: measure(fn, number=n, repeat=r) for name, fn in ops.items()}
    Store.engine.close()
    print(f"cachetools {cachetools.__version__}; {r} repeats x {n} ops after a warm-up")
    print_table(results, FLOORS, width=44)
    # As compare_scale.py measures it, in this process: keys and payloads made before
    # tracing (tracemalloc makes every allocation slow), added back with sys.getsizeof.
    memory = cache_memory(args.sessions, "tracemalloc")
    total, length = memory["bytes"], memory["serialized"]
    data_size, key_size = memory["data_object"], memory["key_object"]
    per_session = total / args.sessions
    print(
        f"memory: {args.sessions:,} sessions of PAYLOAD ({length} B serialized) take "
        f"{total / 2**20:.1f} MiB (tracemalloc): {per_session:.0f} B per session = "
        f"{data_size} B data object + {key_size} B key + "
        f"{per_session - data_size - key_size:.0f} B expiry and cachetools bookkeeping"
    )


if __name__ == "__main__":
    main()
