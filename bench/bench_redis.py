"""Benchmark: the redis engine through SessionStore, next to raw redis-py on the same server.

Blocking and asyncio: a session load (``SessionStore(key)`` + one read) and a
load + modify + save, against redis-py ``GET`` and ``GET`` + ``SET`` on the
same Redis in the same run. Sessions use the json serializer plugin. Each
round runs every operation once, in a rotating order, so drift on a shared
VM hits all of them alike; medians and p10-p90 are over the rounds. Needs a
Redis on 127.0.0.1:6379 (keys under a unique prefix, deleted at the end):

    .venv/bin/python bench/bench_redis.py [--rounds 10] [--number 700]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

import redis
import redis.asyncio
from _timing import PAYLOAD, median, summary

import sessionware

URL = "redis://127.0.0.1:6379/0"


def rounds_of(
    ops: dict[str, Callable[[], object]], number: int, rounds: int
) -> dict[str, list[float]]:
    """µs per call of each op, one sample per round, rotating the order every round."""
    names = list(ops)
    for name in names:  # warm-up: connections, caches
        for _ in range(max(number // 10, 50)):
            ops[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            fn = ops[name]
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number * 1e6)
    return samples


async def arounds_of(
    ops: dict[str, Callable[[], Awaitable[object]]], number: int, rounds: int
) -> dict[str, list[float]]:
    """The asyncio twin of :func:`rounds_of` (each call awaited in turn, on one loop)."""
    names = list(ops)
    for name in names:
        for _ in range(max(number // 10, 50)):
            await ops[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            fn = ops[name]
            start = time.perf_counter()
            for _ in range(number):
                await fn()
            samples[name].append((time.perf_counter() - start) / number * 1e6)
    return samples


def report(title: str, samples: dict[str, list[float]], pairs: list[tuple[str, str]]) -> None:
    print(f"\n{title}")
    for name, runs in samples.items():
        print(f"  {name:52} {summary(runs)}")
    for ours, theirs in pairs:
        ratio = median(samples[ours]) / median(samples[theirs])
        print(f"  {ours:37} / {theirs:40} {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--number", type=int, default=700, help="operations per round")
    args = parser.parse_args()

    probe = redis.Redis.from_url(URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        info = probe.info("server")
    except redis.RedisError as exc:
        sys.exit(f"bench_redis needs a Redis server on 127.0.0.1:6379 ({exc}); start one first")
    finally:
        probe.close()

    prefix = f"bench-{uuid.uuid4().hex[:12]}:"
    Store = sessionware.session_store(engine="redis", url=URL, prefix=prefix, serializer="json")
    engine = Store.engine
    seed = Store()
    seed.update(PAYLOAD)
    seed.save()
    key = seed.session_key
    assert key is not None
    name = prefix + key
    ttl = Store.config.cookie_age * 1000
    counter = itertools.count()

    # -- blocking ------------------------------------------------------------------------
    raw = redis.Redis.from_url(URL)

    def ours_load() -> None:
        Store(key)["user_id"]

    def ours_load_modify_save() -> None:
        session = Store(key)
        session["counter"] = next(counter)
        session.save()

    def raw_get() -> None:
        raw.get(name)

    def raw_get_loads() -> None:
        json.loads(raw.get(name))  # type: ignore[arg-type]

    def raw_get_set() -> None:
        data = json.loads(raw.get(name))  # type: ignore[arg-type]
        data["counter"] = next(counter)
        raw.set(name, json.dumps(data).encode(), px=ttl, xx=True)

    n, r = args.number, args.rounds
    sync = rounds_of(
        {
            "engine: SessionStore(key) + one read": ours_load,
            "raw redis-py: GET": raw_get,
            "raw redis-py: GET + json.loads": raw_get_loads,
            "engine: load + modify + save": ours_load_modify_save,
            "raw redis-py: GET + json + SET XX PX": raw_get_set,
        },
        n,
        r,
    )
    raw.close()

    # -- asyncio -------------------------------------------------------------------------
    async def run_async() -> dict[str, list[float]]:
        araw = redis.asyncio.Redis.from_url(URL)

        async def ours_aload() -> None:
            session = Store(key)
            await session.aload()
            session["user_id"]

        async def ours_aload_modify_save() -> None:
            session = Store(key)
            await session.aset("counter", next(counter))
            await session.asave()

        async def raw_aget() -> None:
            await araw.get(name)

        async def raw_aget_loads() -> None:
            json.loads(await araw.get(name))

        async def raw_aget_set() -> None:
            data = json.loads(await araw.get(name))
            data["counter"] = next(counter)
            await araw.set(name, json.dumps(data).encode(), px=ttl, xx=True)

        try:
            return await arounds_of(
                {
                    "engine: aload() + one read": ours_aload,
                    "raw redis.asyncio: GET": raw_aget,
                    "raw redis.asyncio: GET + json.loads": raw_aget_loads,
                    "engine: aset + asave": ours_aload_modify_save,
                    "raw redis.asyncio: GET + json + SET XX PX": raw_aget_set,
                },
                n,
                r,
            )
        finally:
            await araw.aclose()
            await engine.aclose()  # type: ignore[attr-defined]

    asynchronous = asyncio.run(run_async())

    cleanup = redis.Redis.from_url(URL)
    for leftover in cleanup.scan_iter(match=f"{prefix}*"):
        cleanup.delete(leftover)
    cleanup.close()
    engine.close()

    print(
        f"Redis {info.get('redis_version')} on 127.0.0.1:6379, redis-py {redis.__version__}, "
        f"Python {sys.version.split()[0]}; {r} rounds x {n} ops after a warm-up, "
        "µs per op, median (p10-p90)"
    )
    report(
        "blocking",
        sync,
        [
            ("engine: SessionStore(key) + one read", "raw redis-py: GET"),
            ("engine: SessionStore(key) + one read", "raw redis-py: GET + json.loads"),
            ("engine: load + modify + save", "raw redis-py: GET + json + SET XX PX"),
        ],
    )
    report(
        "asyncio",
        asynchronous,
        [
            ("engine: aload() + one read", "raw redis.asyncio: GET"),
            ("engine: aload() + one read", "raw redis.asyncio: GET + json.loads"),
            ("engine: aset + asave", "raw redis.asyncio: GET + json + SET XX PX"),
        ],
    )


if __name__ == "__main__":
    main()
