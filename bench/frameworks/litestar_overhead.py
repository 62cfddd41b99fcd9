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

The cases, the pairing and the method are those of ``harness.overhead``: per
round, the contender's request minus the same request through the bare app,
medians (p10-p90) over interleaved rounds, µs per request.

    .venv/bin/python bench/frameworks/litestar_overhead.py [--quick] [--rounds N]
"""

from __future__ import annotations

import itertools
import logging
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import PAYLOAD, SECRET
from harness.inproc import asgi_scope, call_asgi, cookie_header, set_cookie
from harness.overhead import Contender, Row, measure_asgi, script
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


async def seed_and_check(app: Litestar, c: Contender) -> str:
    """Seed a session with PAYLOAD, check reads and writes work; return the ``Cookie`` header."""
    name, label = COOKIE_NAME.get(c.key, "session"), c.label
    status, headers, _ = await call_asgi(app, asgi_scope("/seed", None))
    value = set_cookie(headers, name)
    if status != 200 or value is None:
        raise SystemExit(f"{label}: seeding set no session cookie ({status})")
    cookie = cookie_header(name, value)
    status, headers, body = await call_asgi(app, asgi_scope("/read", cookie))
    if status != 200 or body != str(PAYLOAD["username"]).encode():
        raise SystemExit(f"{label}: read answered {status} {body!r}")
    status, headers, _ = await call_asgi(app, asgi_scope("/write", cookie))
    if status != 200 or set_cookie(headers, name) is None:
        raise SystemExit(f"{label}: the write sent no Set-Cookie")
    return cookie


def measure(rounds: int, sample_s: float) -> list[Row]:
    """Run the pairs; one :class:`Row` per contender."""
    logging.getLogger("sessionware").setLevel(logging.ERROR)
    return measure_asgi(FRAMEWORK, CONTENDERS, build, seed_and_check, rounds, sample_s)


if __name__ == "__main__":
    script(__doc__, measure, VERSIONS)
