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

The cases, the pairing and the method are those of ``_harness.py``: per
round, the contender's request minus the same request through the bare app,
medians (p10-p90) over interleaved rounds, µs per request.

    .venv/bin/python bench/frameworks/starlette_overhead.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import itertools
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
    find_sessionware,
    http_scope,
    load_average,
    print_rows,
    rows,
    run_pairs,
    set_cookie,
)
from _timing import PAYLOAD
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


def cookie_header(value: str) -> str:
    """A realistic ``Cookie`` header: the session cookie among others."""
    return f"theme=dark; session={value}; csrftoken=abc"


async def seed_and_check(app: Starlette, label: str) -> str:
    """Seed a session with PAYLOAD, check each case does what it says; return its cookie."""
    status, headers, _ = await asgi_call(app, http_scope("/seed", None))
    cookie = set_cookie(headers, "session")
    if status != 200 or cookie is None:
        raise SystemExit(f"{label}: seeding set no session cookie ({status})")
    status, headers, body = await asgi_call(app, http_scope("/read", cookie_header(cookie)))
    if status != 200 or body != str(PAYLOAD["username"]).encode():
        raise SystemExit(f"{label}: read answered {status} {body!r}")
    status, headers, _ = await asgi_call(app, http_scope("/write", cookie_header(cookie)))
    if status != 200 or set_cookie(headers, "session") is None:
        raise SystemExit(f"{label}: the write sent no Set-Cookie")
    status, headers, _ = await asgi_call(app, http_scope("/untouched", cookie_header(cookie)))
    if status != 200 or set_cookie(headers, "session") is not None:
        raise SystemExit(f"{label}: the untouched request sent a Set-Cookie")
    # A cookie engine's value changes with every write; replay the seeded one (still valid).
    return cookie


def request(app: Starlette, path: str, cookie: str) -> Callable[[], Any]:
    scope = http_scope(path, cookie_header(cookie))
    return lambda: asgi_call(app, scope)


def measure(rounds: int, sample_s: float) -> list[Row]:
    """Run the pairs; one :class:`Row` per contender."""
    loop = asyncio.new_event_loop()
    try:
        with tempfile.TemporaryDirectory(prefix="starlette-overhead-") as tmpdir:
            tmp = Path(tmpdir)
            bare = build("bare", tmp)
            apps = {c.key: build(c.key, tmp) for c in CONTENDERS}

            async def run() -> list[Pair]:
                async with Lifespan(bare):
                    for app in apps.values():
                        async with Lifespan(app):  # builds sessionware's engine off the loop
                            pass
                    cookies = {
                        c.key: await seed_and_check(apps[c.key], c.label) for c in CONTENDERS
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
            for app in apps.values():
                found = find_sessionware(app.middleware_stack)
                if found is not None:
                    found.rules.store_class.engine.close()
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
