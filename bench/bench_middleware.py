"""Per-request overhead of the WSGI and ASGI SessionMiddleware, called in-process.

Each case calls the wrapped app with a prepared environ/scope and subtracts the same call
to the bare app, so what remains is what the middleware adds: no cookie; a cookie but
the session untouched; the session read; the session written (a different value each
time, so SQLite really writes). Engine: db on a sqlite file in a temp dir, serializer json.

    python bench/bench_middleware.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _timing import PAYLOAD, measure, median, summary

import sessionware
from sessionware import asgi, wsgi

MODES = ("untouched", "read", "write")


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    mode = environ.get("HTTP_X_MODE")
    session = environ.get(wsgi.ENVIRON_KEY)
    if mode == "read":
        session.get("username")
    elif mode == "write":
        session["counter"] = session.get("counter", 0) + 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    mode = dict(scope["headers"]).get(b"x-mode")
    session = scope.get("session")
    if mode == b"read":
        session.get("username")
    elif mode == b"write":
        session["counter"] = session.get("counter", 0) + 1
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


def environ(cookie: str | None, mode: str | None) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    if cookie:
        env["HTTP_COOKIE"] = f"theme=dark; sessionid={cookie}; csrftoken=abc"
    if mode:
        env["HTTP_X_MODE"] = mode
    return env


def scope(cookie: str | None, mode: str | None) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1")]
    if cookie:
        headers.append((b"cookie", f"theme=dark; sessionid={cookie}; csrftoken=abc".encode()))
    if mode:
        headers.append((b"x-mode", mode.encode()))
    return {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": headers}


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="sessionware-bench-")
    settings = {"engine": "db", "path": f"{tmp}/s.sqlite3"}
    Store = sessionware.session_store(**settings)
    s = Store()
    s.update(PAYLOAD)
    s.save()
    key = s.session_key
    assert key

    def noop(*_: Any) -> None:
        return None

    wrapped = wsgi.SessionMiddleware(wsgi_app, **settings)
    print(
        f"python {sys.version.split()[0]}, sessionware {sessionware.__version__}; "
        "µs per request, median (p10-p90)"
    )
    print("\nWSGI (in-process, prepared environ)")
    plain = environ(key, None)
    bare = median(measure(lambda: wsgi_app(dict(plain), noop)))
    cases = {"no cookie": environ(None, None)}
    cases.update({f"cookie, {m}": environ(key, m) for m in MODES})
    for label, env in cases.items():
        runs = measure(lambda env=env: wrapped(dict(env), noop))
        print(f"  {label:22s} {summary(runs)}   overhead {median(runs) - bare:7.2f}")

    print("\nASGI (in-process, prepared scope, one event loop)")
    middleware = asgi.SessionMiddleware(asgi_app, **settings)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: dict[str, Any]) -> None:
        return None

    async def run_cases() -> None:
        async def timed(app: Any, sc: dict[str, Any], number: int = 2000) -> list[float]:
            import time

            runs = []
            for _ in range(number // 10):
                await app(dict(sc), receive, send)
            for _ in range(15):
                start = time.perf_counter()
                for _ in range(number):
                    await app(dict(sc), receive, send)
                runs.append((time.perf_counter() - start) / number * 1e6)
            return runs

        base = median(await timed(asgi_app, scope(key, None)))
        acases = {"no cookie": scope(None, None)}
        acases.update({f"cookie, {m}": scope(key, m) for m in MODES})
        for label, sc in acases.items():
            runs = await timed(middleware, sc)
            print(f"  {label:22s} {summary(runs)}   overhead {median(runs) - base:7.2f}")

    asyncio.run(run_cases())


if __name__ == "__main__":
    main()
