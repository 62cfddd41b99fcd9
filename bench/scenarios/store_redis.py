"""The session store comparison's redis groups: ours against raw redis-py, blocking and asyncio.

Raw means the commands and serialization each operation needs, without the session
layer: json dumps + SET NX PX; GET + json loads; GET + json loads + dumps + SET XX PX.
Keys live under a unique prefix, deleted at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from typing import Any

from harness import PAYLOAD
from harness.services import REDIS_URL, redis_available, redis_cleanup, redis_version
from harness.sessions import aload, aload_modify_save, seeded
from harness.timing import Op

import sessionware
from scenarios.store_ops import NAMES, Context, Ops, compare, lms_target, ours_ops

NOTE = (
    "Redis {version} on 127.0.0.1:6379, one client each (redis-py defaults). Raw: "
    "json dumps + SET NX PX; GET + json loads; GET + json loads + dumps + SET XX PX, "
    "i.e. the commands and serialization each operation needs, without the session layer."
)
RAW = {
    "create": "json + SET NX PX",
    "load": "GET + json loads",
    "lms": "GET + json + SET XX PX",
}


class Raw:
    """The raw redis-py twins of the three operations, on one key (and new ones)."""

    def __init__(self, prefix: str, ttl_ms: int) -> None:
        import redis
        import redis.asyncio

        self.prefix, self.ttl = prefix, ttl_ms
        self.name = f"{prefix}raw-session"
        self.client = redis.Redis.from_url(REDIS_URL)
        self.aclient = redis.asyncio.Redis.from_url(REDIS_URL)
        self.client.set(self.name, json.dumps(PAYLOAD).encode(), px=ttl_ms)
        self.counter = itertools.count()
        self.created: list[str] = []

    def new_name(self) -> str:
        name = f"{self.prefix}raw-{sessionware.new_session_key()}"
        self.created.append(name)
        return name

    def cleanup(self) -> None:
        if self.created:
            self.client.delete(*self.created)
            self.created.clear()

    def ops(self) -> Ops:
        c, ttl = self.client, self.ttl

        def get_set() -> None:
            data = json.loads(c.get(self.name))  # type: ignore[arg-type]
            data["counter"] = next(self.counter)
            c.set(self.name, json.dumps(data).encode(), px=ttl, xx=True)

        def create() -> None:
            c.set(self.new_name(), json.dumps(PAYLOAD).encode(), px=ttl, nx=True)

        def load() -> None:
            json.loads(c.get(self.name))["user_id"]  # type: ignore[arg-type]

        ops = {"create": create, "load": load, "lms": get_set}
        return self._named("raw redis-py", ops, is_async=False)

    def aops(self) -> Ops:
        c, ttl = self.aclient, self.ttl

        async def create() -> None:
            await c.set(self.new_name(), json.dumps(PAYLOAD).encode(), px=ttl, nx=True)

        async def load() -> None:
            json.loads(await c.get(self.name))["user_id"]

        async def get_set() -> None:
            data = json.loads(await c.get(self.name))
            data["counter"] = next(self.counter)
            await c.set(self.name, json.dumps(data).encode(), px=ttl, xx=True)

        ops = {"create": create, "load": load, "lms": get_set}
        return self._named("raw redis.asyncio", ops, is_async=True)

    def _named(self, who: str, fns: dict[str, Any], is_async: bool) -> Ops:
        return {
            step: Op(
                f"{who}: {RAW[step]} ({NAMES[step]})",
                fn,
                self.cleanup if step == "create" else None,
                is_async,
            )
            for step, fn in fns.items()
        }


def ours_async(Store: Any) -> Ops:
    """The three operations through ours with the async twins (aupdate, aload, aset, asave)."""
    key, created = seeded(Store), []

    async def create() -> None:
        session = Store()
        await session.aupdate(PAYLOAD)
        await session.asave()
        created.append(session.session_key)

    def cleanup() -> None:
        for old in created:
            Store.engine.delete(old)
        created.clear()

    who = "sessionware redis asyncio"
    return {
        "create": Op(f"{who}: {NAMES['create']}", create, cleanup, True),
        "load": Op(f"{who}: {NAMES['load']}", aload(Store, key), None, True),
        "lms": Op(f"{who}: {NAMES['lms']}", aload_modify_save(Store, key), None, True),
    }


def interleaved(ours: Ops, theirs: Ops) -> list[Op]:
    """ours, raw, ours, raw...: each operation next to its raw twin."""
    return [op for step in NAMES for op in (ours[step], theirs[step])]


def redis(ctx: Context) -> None:
    """Both groups, or a note when no Redis answers."""
    if not redis_available():
        print("\nredis: no server on 127.0.0.1:6379, skipped")
        ctx.results.note("The redis groups were skipped: no Redis server on 127.0.0.1:6379.")
        return
    version = redis_version()
    prefix = f"bench-store-{uuid.uuid4().hex[:12]}:"
    Store = sessionware.session_store(
        engine="redis", url=REDIS_URL, prefix=prefix, serializer="json"
    )
    raw = Raw(prefix, Store.config.cookie_age * 1000)
    groups = {
        "blocking": (ours_ops("redis", Store), raw.ops()),
        "asyncio": (ours_async(Store), raw.aops()),
    }
    loop = asyncio.new_event_loop()
    try:
        for mode, (ours, theirs) in groups.items():
            heading = f"redis ({mode}): sessionware redis engine vs raw redis-py"
            ctx.measure(heading, interleaved(ours, theirs), loop if mode == "asyncio" else None)
    finally:
        loop.run_until_complete(raw.aclient.aclose())
        loop.run_until_complete(Store.engine.aclose())
        loop.close()
        redis_cleanup(prefix)
        raw.client.close()
        Store.engine.close()
    ctx.results.data["versions"]["redis server"] = version
    for mode, (ours, theirs) in groups.items():
        title = f"redis engine vs raw redis-py ({mode})"
        note = NOTE.format(version=version)
        compare(ctx, f"redis {mode}", title, ours, theirs, note, peer="raw redis-py")
        name = f"redis engine load + modify + save vs raw redis-py GET + SET ({mode})"
        lms_target(ctx, name, ours["lms"], theirs["lms"], 1.3)
