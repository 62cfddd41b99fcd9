"""Starlette: per-request overhead of sessionware.starlette next to Starlette's SessionMiddleware.

Four Starlette apps with the same routes, called in process as ASGI apps on
one event loop (no network, no test client), each with its middleware added
the usual way (``app.add_middleware``, built by Starlette at the first call):

- **bare**: no session middleware; the routes never touch ``request.session``:
  the baseline every contender is measured against;
- **Starlette SessionMiddleware**: Starlette's own, the session data as
  base64 JSON in a cookie signed by itsdangerous (HMAC-SHA1);
- **sessionware.starlette, db**: the data in SQLite (WAL,
  ``synchronous=NORMAL``, no fsync per commit; a file in a temp dir), the
  cookie carrying a random key; loads and saves run in a worker thread;
- **sessionware.starlette, signed_cookies**: the data in the cookie, signed
  (HMAC-SHA256) with its expiry inside: the like-for-like peer of Starlette's.

The cases, the pairing and the method are those of ``harness.overhead``: per
round, the contender's request minus the same request through the bare app,
medians (p10-p90) over interleaved rounds, µs per request.

    .venv/bin/python bench/frameworks/starlette_overhead.py [--quick] [--rounds N]
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import PAYLOAD, SECRET
from harness.inproc import asgi_scope, call_asgi, cookie_header, set_cookie
from harness.overhead import Contender, Row, measure_asgi, script
from starlette.applications import Starlette
from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sessionware.starlette import SessionMiddleware

FRAMEWORK = "Starlette"
VERSIONS = ("starlette",)
CONTENDERS = [
    Contender(
        "starlette",
        "Starlette SessionMiddleware",
        "in the cookie, signed (itsdangerous HMAC-SHA1)",
        "default",
    ),
    Contender(
        "db",
        "sessionware.starlette, db",
        "server-side, SQLite WAL, synchronous=NORMAL (no fsync)",
        "ours",
        versus="starlette",
    ),
    Contender(
        "signed_cookies",
        "sessionware.starlette, signed_cookies",
        "in the cookie, signed (HMAC-SHA256, expiry inside)",
        "ours",
        versus="starlette",
    ),
]
#: Every write stores a value never stored before, so SQLite really writes.
COUNTER = itertools.count(1)


def build(kind: str, tmp: Path) -> Starlette:
    """``"bare"``, ``"starlette"``, or a sessionware engine name."""
    touch = kind != "bare"

    async def seed(request: Request) -> PlainTextResponse:
        request.session.update(PAYLOAD)
        return PlainTextResponse("seeded")

    async def read(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.session["username"]) if touch else "ada")

    async def write(request: Request) -> PlainTextResponse:
        if touch:
            request.session["counter"] = next(COUNTER)
        return PlainTextResponse("written")

    async def untouched(request: Request) -> PlainTextResponse:
        return PlainTextResponse("static")

    app = Starlette(
        routes=[
            Route("/seed", seed),
            Route("/read", read),
            Route("/write", write),
            Route("/untouched", untouched),
        ]
    )
    if kind == "starlette":
        app.add_middleware(StarletteSessionMiddleware, secret_key=SECRET)
    elif kind == "db":
        app.add_middleware(
            SessionMiddleware,
            secret_key=SECRET,
            engine="db",
            engine_options={"path": str(tmp / "sessions.sqlite3")},
        )
    elif kind == "signed_cookies":
        app.add_middleware(SessionMiddleware, secret_key=SECRET, engine="signed_cookies")
    return app


async def seed_and_check(app: Starlette, c: Contender) -> str:
    """Seed a session with PAYLOAD, check each case does what it says; return its cookie."""
    label = c.label

    async def get(path: str, cookie: str | None) -> tuple[int, str | None, bytes]:
        scope = asgi_scope(path, cookie_header("session", cookie))
        status, headers, body = await call_asgi(app, scope)
        return status, set_cookie(headers, "session"), body

    status, cookie, _ = await get("/seed", None)
    if status != 200 or cookie is None:
        raise SystemExit(f"{label}: seeding set no session cookie ({status})")
    status, _, body = await get("/read", cookie)
    if status != 200 or body != str(PAYLOAD["username"]).encode():
        raise SystemExit(f"{label}: read answered {status} {body!r}")
    status, written, _ = await get("/write", cookie)
    if status != 200 or written is None:
        raise SystemExit(f"{label}: the write sent no Set-Cookie")
    status, written, _ = await get("/untouched", cookie)
    if status != 200 or written is not None:
        raise SystemExit(f"{label}: the untouched request sent a Set-Cookie")
    # A cookie engine's value changes with every write; replay the seeded one (still valid).
    return cookie_header("session", cookie) or ""


def find_sessionware(app: object) -> Any:
    """The sessionware ASGI middleware inside a built middleware stack (following ``.app``)."""
    from sessionware.http.asgi import ASGISessionMiddleware as Ours

    for _ in range(50):
        if app is None or isinstance(app, Ours):
            return app
        app = getattr(app, "app", None)
    return None


def close(app: Starlette) -> None:
    found = find_sessionware(app.middleware_stack)
    if found is not None:
        found.rules.store_class.engine.close()


def measure(rounds: int, sample_s: float) -> list[Row]:
    """Run the pairs; one :class:`Row` per contender."""
    return measure_asgi(FRAMEWORK, CONTENDERS, build, seed_and_check, rounds, sample_s, close)


if __name__ == "__main__":
    script(__doc__, measure, VERSIONS)
