"""Litestar: per-request overhead of sessionware.litestar next to Litestar's own session middleware.

Litestar apps with the same route handlers, called in process as ASGI apps on
one event loop (no network), each with its lifespan started:

- **bare**: no session middleware; the handlers never touch ``request.session``:
  the baseline every contender is measured against;
- **Litestar ServerSideSessionConfig, FileStore**: the data in a file per
  session (temp file + ``os.replace``, no fsync; written in a worker thread),
  the cookie carrying a random id;
- **Litestar ServerSideSessionConfig, MemoryStore**: the same in a dict of
  this process (lost on restart, not shared between processes);
- **Litestar CookieBackendConfig**: the data in the cookie, AES-GCM encrypted;
- **sessionware.litestar, db**: the data in SQLite (WAL,
  ``synchronous=NORMAL``, no fsync per commit), loads and saves in a worker
  thread: like Litestar's FileStore, on disk, atomic, no fsync;
- **sessionware.litestar, signed_cookies** with ``encrypt=True``: the data in
  the cookie, AES-256-GCM: the like-for-like peer of ``CookieBackendConfig``.

Litestar's own middleware stores the session and sends its cookie on every
response to a request it served, changed or not, so its read and untouched
cases include a write; sessionware writes only what changed.

The cases, the pairing and the method are those of ``_harness.py``: per
round, the contender's request minus the same request through the bare app,
medians (p10-p90) over interleaved rounds, µs per request.

    .venv/bin/python bench/frameworks/litestar_overhead.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import itertools
import logging
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _harness import (
    CASES,
    FULL,
    QUICK,
    SECRET,
    Contender,
    Lifespan,
    Op,
    Pair,
    Row,
    asgi_call,
    http_scope,
    load_average,
    print_rows,
    rows,
    run_pairs,
    set_cookie,
)
from _timing import PAYLOAD
from litestar import Litestar, Request, get
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.stores.file import FileStore
from litestar.stores.memory import MemoryStore

from sessionware.litestar import session_middleware

FRAMEWORK = "Litestar"
VERSIONS = ("litestar",)
CONTENDERS = [
    Contender(
        "file",
        "Litestar server-side, FileStore",
        "server-side, file per session, temp + rename (no fsync); written on every response",
        "peer",
    ),
    Contender(
        "memory",
        "Litestar server-side, MemoryStore",
        "server-side, in this process only; written on every response",
        "peer",
    ),
    Contender(
        "cookie",
        "Litestar CookieBackendConfig",
        "in the cookie, AES-GCM; re-sent on every response",
        "peer",
    ),
    Contender(
        "db",
        "sessionware.litestar, db",
        "server-side, SQLite WAL, synchronous=NORMAL (no fsync)",
        "ours",
        versus="file",
    ),
    Contender(
        "signed_cookies",
        "sessionware.litestar, signed_cookies (encrypt)",
        "in the cookie, AES-256-GCM, expiry inside",
        "ours",
        versus="cookie",
    ),
]
#: The cookie each contender's session travels in.
COOKIE_NAME = {"db": "sessionid", "signed_cookies": "sessionid"}
#: Every write stores a value never stored before, so the stores really write.
COUNTER = itertools.count(1)
Req = Request[Any, Any, Any]


def build(kind: str, tmp: Path) -> Litestar:
    """``"bare"``, a Litestar backend (``file``, ``memory``, ``cookie``) or a sessionware engine."""
    touch = kind != "bare"

    @get("/seed", sync_to_thread=False)
    def seed(request: Req) -> str:
        request.set_session(dict(PAYLOAD))
        return "seeded"

    @get("/read", sync_to_thread=False)
    def read(request: Req) -> str:
        return str(request.session["username"]) if touch else "ada"

    @get("/write", sync_to_thread=False)
    def write(request: Req) -> str:
        if touch:
            request.session["counter"] = next(COUNTER)
        return "written"

    @get("/untouched", sync_to_thread=False)
    def untouched() -> str:
        return "static"

    middleware: list[Any] = []
    stores: dict[str, Any] = {}
    if kind in ("file", "memory"):
        middleware.append(ServerSideSessionConfig().middleware)
        stores["sessions"] = FileStore(tmp / "litestar") if kind == "file" else MemoryStore()
    elif kind == "cookie":
        middleware.append(
            CookieBackendConfig(secret=b"0123456789abcdef0123456789abcdef").middleware
        )
    elif kind == "db":
        middleware.append(session_middleware(engine="db", path=str(tmp / "sessions.sqlite3")))
    elif kind == "signed_cookies":
        middleware.append(
            session_middleware(engine="signed_cookies", secret_key=SECRET, encrypt=True)
        )
    return Litestar(
        route_handlers=[seed, read, write, untouched],
        middleware=middleware,
        stores=stores,
        logging_config=None,
    )


def cookie_header(name: str, value: str) -> str:
    """A realistic ``Cookie`` header: the session cookie among others."""
    return f"theme=dark; {name}={value}; csrftoken=abc"


async def seed_and_check(app: Litestar, kind: str, label: str) -> str:
    """Seed a session with PAYLOAD, check reads and writes work; return the ``Cookie`` header."""
    name = COOKIE_NAME.get(kind, "session")
    status, headers, _ = await asgi_call(app, http_scope("/seed", None))
    value = set_cookie(headers, name)
    if status != 200 or value is None:
        raise SystemExit(f"{label}: seeding set no session cookie ({status})")
    cookie = cookie_header(name, value)
    status, headers, body = await asgi_call(app, http_scope("/read", cookie))
    if status != 200 or body != str(PAYLOAD["username"]).encode():
        raise SystemExit(f"{label}: read answered {status} {body!r}")
    status, headers, _ = await asgi_call(app, http_scope("/write", cookie))
    if status != 200 or set_cookie(headers, name) is None:
        raise SystemExit(f"{label}: the write sent no Set-Cookie")
    return cookie


def request(app: Litestar, path: str, cookie: str) -> Callable[[], Any]:
    scope = http_scope(path, cookie)
    return lambda: asgi_call(app, scope)


def measure(rounds: int, sample_s: float) -> list[Row]:
    """Run the pairs; one :class:`Row` per contender."""
    logging.getLogger("sessionware").setLevel(logging.ERROR)
    loop = asyncio.new_event_loop()
    try:
        with tempfile.TemporaryDirectory(prefix="litestar-overhead-") as tmpdir:
            tmp = Path(tmpdir)
            bare = build("bare", tmp)
            apps = {c.key: build(c.key, tmp) for c in CONTENDERS}

            async def run() -> list[Pair]:
                for app in (bare, *apps.values()):
                    async with Lifespan(app):
                        pass
                cookies = {
                    c.key: await seed_and_check(apps[c.key], c.key, c.label) for c in CONTENDERS
                }
                return [
                    Pair(
                        c.key,
                        case,
                        Op(request(bare, f"/{case}", cookies[c.key]), is_async=True),
                        Op(request(apps[c.key], f"/{case}", cookies[c.key]), is_async=True),
                    )
                    for c in CONTENDERS
                    for case in CASES
                ]

            pairs = loop.run_until_complete(run())
            run_pairs(pairs, rounds, sample_s, loop)
    finally:
        loop.close()
    return rows(FRAMEWORK, CONTENDERS, pairs)


def versions() -> str:
    return ", ".join(f"{name} {importlib.metadata.version(name)}" for name in VERSIONS)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: numbers are noise")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 61)")
    args = parser.parse_args()
    rounds, sample_s = QUICK if args.quick else FULL
    rounds = args.rounds or rounds
    before = load_average()
    found = measure(rounds, sample_s)
    print_rows(
        found,
        f"Python {sys.version.split()[0]}, {versions()}, SQLite {sqlite3.sqlite_version}; "
        f"{rounds} interleaved rounds of ~{sample_s * 1000:.0f} ms samples; load average "
        f"{before} before, {load_average()} after",
    )


if __name__ == "__main__":
    main()
