"""The scale comparison's memory figure: what the cache engine takes to hold its sessions.

100,000 sessions of PAYLOAD (maxsize 200,000, nothing evicted): tracemalloc and the RSS
delta, each measured in a fresh process (``python -m scenarios.scale_memory SESSIONS
tracemalloc|rss`` in ``bench/``, printing one JSON line), per session.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc

from harness import PAYLOAD
from harness.results import Results
from harness.servers import BENCH

CACHE_SESSIONS = 100_000


def cache_memory(sessions: int, mode: str) -> dict[str, int]:
    """The bytes a cache engine holding ``sessions`` sessions takes (one mode per process),
    and the sizes of one session's serialized data and key.

    ``rss``: the resident set size before and after saving them, keys and
    serialized payloads made on the way (allocator overhead included).
    ``tracemalloc``: keys and payloads are made first (tracing every allocation
    is slow) and counted with ``sys.getsizeof``; the traced part is what the
    engine adds: expiry, entries and cachetools' bookkeeping.
    """
    import sessionware

    serializer = sessionware.get_serializer("json")
    engine = sessionware.get_engine("cache", maxsize=sessions * 2)
    # Warm every lazy import and code path before measuring.
    warm = sessionware.new_session_key()
    engine.save(warm, serializer.dumps(dict(PAYLOAD)), time.time() + 60, must_create=True)
    engine.delete(warm)
    expires_at = time.time() + 3600
    page = os.sysconf("SC_PAGE_SIZE")

    def rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * page

    if mode == "rss":
        gc.collect()
        before = rss()
        for i in range(sessions):
            data = serializer.dumps(dict(PAYLOAD, counter=i))
            engine.save(sessionware.new_session_key(), data, expires_at, must_create=True)
        gc.collect()
        used = rss() - before
    else:
        rows = [
            (sessionware.new_session_key(), serializer.dumps(dict(PAYLOAD, counter=i)))
            for i in range(sessions)
        ]
        held = sum(sys.getsizeof(key) + sys.getsizeof(data) for key, data in rows)
        gc.collect()
        tracemalloc.start()
        for key, data in rows:
            engine.save(key, data, expires_at, must_create=True)
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] + held
        tracemalloc.stop()
    assert engine.size == sessions and engine.evictions == 0
    engine.close()
    sample = serializer.dumps(dict(PAYLOAD, counter=sessions - 1))
    return {
        "bytes": used,
        "serialized": len(sample),
        "data_object": sys.getsizeof(sample),
        "key_object": sys.getsizeof(sessionware.new_session_key()),
    }


def cache_memory_table(results: Results, sessions: int) -> None:
    """Both figures, each from a fresh process, as one table."""
    measured = {}
    for mode in ("tracemalloc", "rss"):
        out = subprocess.run(
            [sys.executable, "-m", "scenarios.scale_memory", str(sessions), mode],
            cwd=BENCH,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        measured[mode] = json.loads(out.strip().splitlines()[-1])
    traced = measured["tracemalloc"]
    rss = measured["rss"]
    per_traced = traced["bytes"] / sessions
    per_rss = rss["bytes"] / sessions
    objects = traced["data_object"] + traced["key_object"]
    results.table(
        f"cache: memory of {sessions:,} sessions",
        ["measure", "total MiB", "bytes per session"],
        [
            [
                "tracemalloc (Python allocations)",
                round(traced["bytes"] / 2**20, 1),
                round(per_traced),
            ],
            [
                "RSS delta (allocator overhead included)",
                round(rss["bytes"] / 2**20, 1),
                round(per_rss),
            ],
            [
                f"of which the data bytes object ({traced['serialized']} B serialized) + key str",
                round(objects * sessions / 2**20, 1),
                objects,
            ],
        ],
        note=(
            "Each figure from a fresh process (tracemalloc: the engine's allocations traced, "
            "keys and payloads made beforehand and added with sys.getsizeof): sessions of "
            "PAYLOAD (JSON, distinct counter) "
            f"saved through get_engine('cache', maxsize={2 * sessions:,}), nothing evicted. "
            "The rest per session is the expiry, the cache entry and cachetools' bookkeeping."
        ),
    )
    print(
        f"cache: {sessions:,} sessions: tracemalloc {per_traced:.0f} B/session, "
        f"RSS delta {per_rss:.0f} B/session"
    )


if __name__ == "__main__":
    print(json.dumps(cache_memory(int(sys.argv[1]), sys.argv[2])))
