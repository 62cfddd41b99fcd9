"""Per-request overhead of the WSGI and ASGI SessionMiddleware, called in-process.

Each case calls the wrapped app with a prepared environ/scope and subtracts the same call
to the bare app, so what remains is what the middleware adds: no cookie; a cookie but
the session untouched; the session read; the session written (a different value each
time, so SQLite really writes). Engine: db on a sqlite file in a temp dir, serializer json.
Requests and timing come from ``harness.inproc`` and ``harness.timing.measure``.

    python bench/bench_middleware.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from harness import PAYLOAD
from harness.inproc import asgi_scope, call_asgi, call_wsgi, cookie_header, wsgi_environ
from harness.timing import measure, median, summary

import sessionware
from sessionware.http import asgi, wsgi

MODES = ("untouched", "read", "write")


def act(session: Any, mode: str | None) -> None:
    if mode == "read":
        session.get("username")
    elif mode == "write":
        session["counter"] = session.get("counter", 0) + 1


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    act(environ.get(wsgi.ENVIRON_KEY), environ.get("HTTP_X_MODE"))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    mode = dict(scope["headers"]).get(b"x-mode")
    act(scope.get("session"), mode.decode() if mode else None)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def cases(key: str, request: Callable[[str, str | None, str | None], Any]) -> dict[str, Any]:
    """No cookie, then the session's cookie with each mode."""
    found = {"no cookie": request("/", None, None)}
    jar = cookie_header("sessionid", key)
    found.update({f"cookie, {m}": request("/", jar, m) for m in MODES})
    return found


def report(title: str, bare: list[float], runs: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    for label, samples in runs.items():
        overhead = median(samples) - median(bare)
        print(f"  {label:22s} {summary(samples)}   overhead {overhead:7.2f}")


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="sessionware-bench-")
    settings = {"engine": "db", "path": f"{tmp}/s.sqlite3"}
    s = sessionware.session_store(**settings)()
    s.update(PAYLOAD)
    s.save()
    assert s.session_key
    jar = cookie_header("sessionid", s.session_key)
    print(
        f"python {sys.version.split()[0]}, sessionware {sessionware.__version__}; "
        "µs per request, median (p10-p90)"
    )
    wrapped = wsgi.WSGISessionMiddleware(wsgi_app, **settings)
    plain = wsgi_environ("/", jar)
    bare = measure(lambda: call_wsgi(wsgi_app, plain))
    runs = {
        label: measure(lambda env=env: call_wsgi(wrapped, env))
        for label, env in cases(s.session_key, wsgi_environ).items()
    }
    report("WSGI (in-process, prepared environ)", bare, runs)

    loop = asyncio.new_event_loop()
    middleware = asgi.ASGISessionMiddleware(asgi_app, **settings)
    plain = asgi_scope("/", jar)
    bare = measure(lambda: call_asgi(asgi_app, plain), loop=loop)
    runs = {
        label: measure(lambda sc=sc: call_asgi(middleware, sc), loop=loop)
        for label, sc in cases(s.session_key, asgi_scope).items()
    }
    loop.close()
    report("ASGI (in-process, prepared scope, one event loop)", bare, runs)


if __name__ == "__main__":
    main()
