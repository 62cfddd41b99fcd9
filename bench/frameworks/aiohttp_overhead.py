"""Compare: per-request overhead of a session read and a session write in aiohttp.

Contenders, each an aiohttp app served by aiohttp's own server on a loopback port:

- sessionware.aiohttp, engine ``db`` (SQLite file in a temp dir, engine defaults: WAL,
  synchronous=NORMAL), engine ``redis`` (the Redis on 127.0.0.1:6379) and engine
  ``signed_cookies`` with ``encrypt=True`` (AES-256-GCM: the data lives in the cookie,
  unreadable by the browser — the like-for-like peer of the next one);
- aiohttp-session's ``EncryptedCookieStorage`` (Fernet: AES-128-CBC + HMAC-SHA256,
  the data in the cookie), and its ``RedisStorage`` (same Redis) when Redis is there;
- the baseline: the same app without sessions, whose routes touch no session.

Two requests, with a session of ``PAYLOAD`` made by a first request and its cookie
replayed: ``read`` (one key read, nothing saved) and ``write`` (the counter gets a value
never stored before, so the session is saved and a Set-Cookie goes out). Durability is
each store's default: sessionware db commits to a WAL without fsync; Redis keeps what its
server config says (the same server for both Redis rows); the cookie rows store nothing.

Method: the client (aiohttp, one keep-alive connection per contender) and every server
run on one event loop in one process, so a request's time includes the client's and the
HTTP stack's; the overhead is the contender's time per request minus the baseline's, in
the same round, both in wall-clock time and in this process's CPU time (which a busy
machine inflates far less; it leaves out the Redis server's own work, the wall time
does not). Each round takes one sample (a batch of requests) of every (contender,
request) pair, in an order rotated every round, so drift on a shared VM hits all alike.
Medians and p10-p90 are over rounds, in µs per request.

    .venv/bin/python bench/frameworks/aiohttp_overhead.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import itertools
import socket
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import PAYLOAD

import sessionware.aiohttp as sw_aiohttp

SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"  # noqa: S105 - throwaway
REDIS = ("127.0.0.1", 6379)
COUNTER = itertools.count(1)
OPS = ("read", "write")

GetSession = Callable[[web.Request], Any]


def _redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _app(get_session: GetSession | None) -> web.Application:
    """The routes every contender serves; ``None``: the baseline, which uses no session."""
    app = web.Application()

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

    app.router.add_get("/init", init)
    app.router.add_get("/read", read)
    app.router.add_get("/write", write)
    return app


def _sessionware(**settings: Any) -> web.Application:
    app = _app(sw_aiohttp.get_session)
    sw_aiohttp.setup(app, **settings)
    return app


def _aiohttp_session(storage: Any) -> web.Application:
    import aiohttp_session

    app = _app(aiohttp_session.get_session)
    aiohttp_session.setup(app, storage)
    return app


@dataclass
class Contender:
    """One served app, its client and the cookie its session lives in."""

    name: str
    app: web.Application
    guarantee: str
    runner: web.AppRunner | None = None
    http: aiohttp.ClientSession | None = None
    base: str = ""
    cookie: dict[str, str] = field(default_factory=dict)
    #: (wall, CPU) seconds per request, one pair per round, by op.
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
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

    async def batch(self, op: str, number: int) -> tuple[float, float]:
        """Wall and CPU seconds per request over ``number`` requests of ``op``."""
        assert self.http is not None
        url = f"{self.base}/{op}"
        headers = self.cookie
        get = self.http.get
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(number):
            async with get(url, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{self.name} {op}: HTTP {response.status}")
        return (time.perf_counter() - start) / number, (time.process_time() - cpu) / number

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.runner is not None:
            await self.runner.cleanup()


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _contenders(tmp: Path, notes: list[str]) -> list[Contender]:
    redis = _redis_up()
    found = [
        Contender("baseline (no session)", _app(None), "-"),
        Contender(
            "sessionware db",
            _sessionware(engine="db", path=str(tmp / "sessions.db")),
            "server-side, SQLite WAL, no fsync",
        ),
    ]
    if redis:
        found.append(
            Contender(
                "sessionware redis",
                _sessionware(engine="redis", url="redis://127.0.0.1:6379/0", prefix="bench-aio:"),
                "server-side, Redis",
            )
        )
    found.append(
        Contender(
            "sessionware signed_cookies (encrypt)",
            _sessionware(engine="signed_cookies", secret_key=SECRET, encrypt=True),
            "in the cookie, AES-256-GCM",
        )
    )
    try:
        from aiohttp_session.cookie_storage import EncryptedCookieStorage
        from cryptography.fernet import Fernet
    except ImportError:
        notes.append("aiohttp-session is not installed: its rows are missing")
        return found
    found.append(
        Contender(
            "aiohttp-session EncryptedCookieStorage",
            _aiohttp_session(EncryptedCookieStorage(Fernet(Fernet.generate_key()))),
            "in the cookie, Fernet",
        )
    )
    if redis:
        import redis.asyncio as aioredis
        from aiohttp_session.redis_storage import RedisStorage

        found.append(
            Contender(
                "aiohttp-session RedisStorage",
                _aiohttp_session(RedisStorage(aioredis.from_url("redis://127.0.0.1:6379/0"))),
                "server-side, Redis",
            )
        )
    else:
        notes.append("no Redis on 127.0.0.1:6379: the Redis rows are missing")
    return found


def _spread(values: list[float]) -> str:
    ordered = sorted(values)
    p10 = ordered[len(ordered) // 10]
    p90 = ordered[min(len(ordered) - 1, len(ordered) * 9 // 10)]
    return f"{p10:.1f}-{p90:.1f}"


async def _run(rounds: int, number: int) -> None:
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        contenders = _contenders(Path(tmp), notes)
        try:
            for contender in contenders:
                await contender.start()
            pairs = [(c, op) for c in contenders for op in OPS]
            for c, op in pairs:  # warm up: connections, caches, lazy imports
                await c.batch(op, max(number // 4, 10))
            for index in range(rounds):
                shift = index % len(pairs)
                for c, op in pairs[shift:] + pairs[:shift]:
                    c.samples.setdefault(op, []).append(await c.batch(op, number))
        finally:
            for contender in contenders:
                await contender.stop()
    base = contenders[0]
    print(
        f"\naiohttp {_version('aiohttp')}, aiohttp-session {_version('aiohttp-session')}, "
        f"sessionware {_version('sessionware')}, Python {sys.version.split()[0]}; "
        f"{rounds} rounds x {number} requests per sample; µs per request, median (p10-p90)"
    )
    for op in OPS:
        wall = statistics.median(w for w, _ in base.samples[op]) * 1e6
        cpu = statistics.median(c for _, c in base.samples[op]) * 1e6
        print(f"\n{op}: baseline (no session) {wall:.0f} µs wall, {cpu:.0f} µs CPU per request")
        print(f"{'overhead over the baseline':40} {'wall':>20} {'CPU':>20}  stores")
        for c in contenders[1:]:
            cells = []
            for part in (0, 1):
                extra = [
                    (s[part] - b[part]) * 1e6
                    for s, b in zip(c.samples[op], base.samples[op], strict=True)
                ]
                cells.append(f"{statistics.median(extra):7.1f} ({_spread(extra)})")
            print(f"{c.name:40} {cells[0]:>20} {cells[1]:>20}  {c.guarantee}")
    for note in notes:
        print(f"note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke test")
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--number", type=int, default=150, help="requests per sample")
    args = parser.parse_args()
    rounds, number = (3, 30) if args.quick else (args.rounds, args.number)
    # aiohttp-session keeps its state under str request keys, which aiohttp >= 3.12 warns about.
    warnings.filterwarnings("ignore", category=web.NotAppKeyWarning)
    asyncio.run(_run(rounds, number))


if __name__ == "__main__":
    main()
