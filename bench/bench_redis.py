"""Benchmark: the redis engine through SessionStore, next to raw redis-py on the same server.

Blocking and asyncio: a session load (``SessionStore(key)`` + one read) and a
load + modify + save, against redis-py ``GET`` and ``GET`` + ``SET`` on the
same Redis in the same run. Sessions use the json serializer plugin. Each
round runs every operation once, in a rotating order, so drift on a shared
VM hits all of them alike (``harness.timing.interleave``); medians and p10-p90
are over the rounds. Needs a Redis on 127.0.0.1:6379 (keys under a unique
prefix, deleted at the end):

    .venv/bin/python bench/bench_redis.py [--rounds 10] [--number 700]
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import uuid
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio
from harness.services import REDIS_URL, redis_available, redis_cleanup, redis_version
from harness.sessions import aload, aload_modify_save, load, load_modify_save, seeded
from harness.timing import counts, interleave, median, print_table

import sessionware

#: Each session operation's ratio to its raw twin; the load also to a bare GET.
FLOORS = {
    "engine: SessionStore(key) + one read": "raw redis-py: GET + json.loads",
    "engine: load + modify + save": "raw redis-py: GET + json + SET XX PX",
    "engine: aload() + one read": "raw redis.asyncio: GET + json.loads",
    "engine: aset + asave": "raw redis.asyncio: GET + json + SET XX PX",
}
BARE_GET = {
    "engine: SessionStore(key) + one read": "raw redis-py: GET",
    "engine: aload() + one read": "raw redis.asyncio: GET",
}


def blocking(Store: Any, key: str, name: str, ttl: int, raw: Any) -> dict[str, Callable[[], Any]]:
    """Ours and raw redis-py, blocking."""
    counter = itertools.count()

    def raw_get_set() -> None:
        data = json.loads(raw.get(name))  # type: ignore[arg-type]
        data["counter"] = next(counter)
        raw.set(name, json.dumps(data).encode(), px=ttl, xx=True)

    return {
        "engine: SessionStore(key) + one read": load(Store, key),
        "raw redis-py: GET": lambda: raw.get(name),
        "raw redis-py: GET + json.loads": lambda: json.loads(raw.get(name)),  # type: ignore[arg-type]
        "engine: load + modify + save": load_modify_save(Store, key),
        "raw redis-py: GET + json + SET XX PX": raw_get_set,
    }


def asynchronous(
    Store: Any, key: str, name: str, ttl: int, raw: Any
) -> dict[str, Callable[[], Any]]:
    """Ours (the async twins) and raw redis.asyncio, awaited in turn on one loop."""
    counter = itertools.count()

    async def raw_aget_loads() -> None:
        json.loads(await raw.get(name))

    async def raw_aget_set() -> None:
        data = json.loads(await raw.get(name))
        data["counter"] = next(counter)
        await raw.set(name, json.dumps(data).encode(), px=ttl, xx=True)

    return {
        "engine: aload() + one read": aload(Store, key),
        "raw redis.asyncio: GET": lambda: raw.get(name),
        "raw redis.asyncio: GET + json.loads": raw_aget_loads,
        "engine: aset + asave": aload_modify_save(Store, key),
        "raw redis.asyncio: GET + json + SET XX PX": raw_aget_set,
    }


def report(title: str, samples: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print_table(samples, FLOORS, width=52)
    for ours, theirs in BARE_GET.items():
        if ours in samples:
            ratio = median(samples[ours]) / median(samples[theirs])
            print(f"  {ours} / {theirs}: {ratio:.2f}x")


def main() -> None:
    parser = counts(__doc__, 10, 700)
    args = parser.parse_args()
    if not redis_available():
        sys.exit("bench_redis needs a Redis server on 127.0.0.1:6379; start one first")
    n, r = args.number, args.repeat
    prefix = f"bench-{uuid.uuid4().hex[:12]}:"
    Store = sessionware.session_store(
        engine="redis", url=REDIS_URL, prefix=prefix, serializer="json"
    )
    key = seeded(Store)
    session = (Store, key, prefix + key, Store.config.cookie_age * 1000)
    raw, araw = redis.Redis.from_url(REDIS_URL), redis.asyncio.Redis.from_url(REDIS_URL)
    loop = asyncio.new_event_loop()
    try:
        sync = interleave(blocking(*session, raw), number=n, rounds=r)
        aio = interleave(asynchronous(*session, araw), number=n, rounds=r, loop=loop)
    finally:
        loop.run_until_complete(araw.aclose())
        loop.run_until_complete(Store.engine.aclose())  # type: ignore[attr-defined]
        loop.close()
        raw.close()
        redis_cleanup(prefix)
        Store.engine.close()
    print(
        f"Redis {redis_version()} on 127.0.0.1:6379, redis-py {redis.__version__}, "
        f"Python {sys.version.split()[0]}; {r} rounds x {n} ops after a warm-up, "
        "µs per op, median (p10-p90)"
    )
    report("blocking", sync)
    report("asyncio", aio)


if __name__ == "__main__":
    main()
