"""aiohttp's contenders: the same routes with each session library, served on loopback.

aiohttp has no in-process app call, so every app is served by aiohttp's own server on
a loopback port and requested by an aiohttp client (one keep-alive connection each),
client and servers on one event loop.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from harness import PAYLOAD, SECRET
from harness.services import REDIS_URL, redis_available

import sessionware.aiohttp as sw_aiohttp

#: Every write stores a value never stored before, so the stores really write.
COUNTER = itertools.count(1)
GetSession = Callable[[web.Request], Any]
# aiohttp-session keeps its state under str request keys, which aiohttp >= 3.12 warns about.
warnings.filterwarnings("ignore", category=web.NotAppKeyWarning)


def app(get_session: GetSession | None) -> web.Application:
    """The routes every contender serves; ``None``: the baseline, which uses no session."""
    found = web.Application()

    async def init(request: web.Request) -> web.Response:
        assert get_session is not None
        session = await get_session(request)
        session.update(PAYLOAD)
        return web.Response(text="ok")

    async def read(request: web.Request) -> web.Response:
        if get_session is not None:
            session = await get_session(request)
            session.get("username")
        return web.Response(text="ok")

    async def write(request: web.Request) -> web.Response:
        if get_session is not None:
            session = await get_session(request)
            session["counter"] = next(COUNTER)
        return web.Response(text="ok")

    async def untouched(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    for path, handler in (("init", init), ("read", read), ("write", write)):
        found.router.add_get(f"/{path}", handler)
    found.router.add_get("/untouched", untouched)
    return found


def sessionware_app(**settings: Any) -> web.Application:
    found = app(sw_aiohttp.get_session)
    sw_aiohttp.setup(found, **settings)
    return found


def aiohttp_session_app(storage: Any) -> web.Application:
    import aiohttp_session

    found = app(aiohttp_session.get_session)
    aiohttp_session.setup(found, storage)
    return found


def encrypted_cookie_storage() -> Any:
    from aiohttp_session.cookie_storage import EncryptedCookieStorage
    from cryptography.fernet import Fernet

    return EncryptedCookieStorage(Fernet(Fernet.generate_key()))


@dataclass
class Served:
    """One served app, its client and the cookie its session lives in."""

    name: str
    app: web.Application
    guarantee: str
    runner: web.AppRunner | None = None
    http: aiohttp.ClientSession | None = None
    base: str = ""
    cookie: dict[str, str] = field(default_factory=dict)

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        host, port = self.runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1), cookie_jar=aiohttp.DummyCookieJar()
        )
        if self.name == "baseline (no session)":  # the same request size as a session's
            self.cookie = {"Cookie": "sessionid=" + "x" * 43}
        else:
            async with self.http.get(f"{self.base}/init") as response:
                assert response.status == 200, await response.text()
                morsel = next(iter(response.cookies.values()))
                self.cookie = {"Cookie": f"{morsel.key}={morsel.value}"}

    def request(self, path: str, cookie: dict[str, str] | None = None) -> Callable[[], Any]:
        """One ``GET path`` with the session's cookie (or ``cookie``), as a coroutine function."""
        url, headers = f"{self.base}/{path}", self.cookie if cookie is None else cookie

        async def one() -> None:
            assert self.http is not None
            async with self.http.get(url, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{self.name} {path}: HTTP {response.status}")

        return one

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.runner is not None:
            await self.runner.cleanup()


def every_contender(tmp: Path, notes: list[str]) -> list[Served]:
    """The baseline first, then ours (db, redis, encrypted cookie), then aiohttp-session's."""
    redis = redis_available()
    found = [
        Served("baseline (no session)", app(None), "-"),
        Served(
            "sessionware db",
            sessionware_app(engine="db", path=str(tmp / "sessions.db")),
            "server-side, SQLite WAL, no fsync",
        ),
    ]
    if redis:
        ours_redis = sessionware_app(engine="redis", url=REDIS_URL, prefix="bench-aio:")
        found.append(Served("sessionware redis", ours_redis, "server-side, Redis"))
    ours_cookie = sessionware_app(engine="signed_cookies", secret_key=SECRET, encrypt=True)
    found.append(
        Served("sessionware signed_cookies (encrypt)", ours_cookie, "in the cookie, AES-256-GCM")
    )
    try:
        storage = encrypted_cookie_storage()
    except ImportError:
        notes.append("aiohttp-session is not installed: its rows are missing")
        return found
    theirs = aiohttp_session_app(storage)
    found.append(Served("aiohttp-session EncryptedCookieStorage", theirs, "in the cookie, Fernet"))
    if redis:
        import redis.asyncio as aioredis
        from aiohttp_session.redis_storage import RedisStorage

        theirs = aiohttp_session_app(RedisStorage(aioredis.from_url(REDIS_URL)))
        found.append(Served("aiohttp-session RedisStorage", theirs, "server-side, Redis"))
    else:
        notes.append("no Redis on 127.0.0.1:6379: the Redis rows are missing")
    return found
