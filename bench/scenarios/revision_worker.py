"""One side of ``compare_revision.py``: the session paths of one checkout, timed on request.

Run by the comparison with ``PYTHONPATH`` naming one checkout's ``core/src`` and
``plugins/*/src``, so it imports that revision's sessionware. It writes the names of the
paths it can time as one JSON line, then answers ``<path> <calls>`` lines on stdin with
the µs per call of that many calls (after the first ``warm`` calls of each path, made at
start). Only the public API is used, and the middleware under either name it has had
(``sessionware.http.wsgi.WSGISessionMiddleware`` or ``sessionware.wsgi.SessionMiddleware``),
so any revision since the session API settled can be measured.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import PAYLOAD, SECRET
from harness.inproc import asgi_scope, call_asgi, call_wsgi, cookie_header, wsgi_environ
from harness.services import redis_available
from harness.sessions import aload, aload_modify_save, load, load_modify_save, seeded

import sessionware


def _middleware() -> tuple[Any, Any, Any]:
    try:
        from sessionware.http import asgi, wsgi

        return wsgi.WSGISessionMiddleware, asgi.ASGISessionMiddleware, wsgi.get_session
    except ImportError:  # before the HTTP adapters were grouped
        from sessionware import asgi, wsgi  # type: ignore[attr-defined,no-redef]

        return wsgi.SessionMiddleware, asgi.SessionMiddleware, wsgi.get_session


def _engines(tmp: Path) -> dict[str, dict[str, Any]]:
    (tmp / "files").mkdir()
    engines: dict[str, dict[str, Any]] = {
        "cache": {"engine": "cache"},
        "db": {"engine": "db", "path": str(tmp / "sessions.sqlite3")},
        "file": {"engine": "file", "path": str(tmp / "files")},
        "signed_cookies": {"engine": "signed_cookies", "secret_key": SECRET},
    }
    if redis_available():
        engines["redis"] = {"engine": "redis", "prefix": f"bench-rev-{time.time_ns()}:"}
    return engines


def _store_paths(name: str, settings: dict[str, Any], loop: asyncio.AbstractEventLoop) -> dict:
    Store = sessionware.session_store(serializer="json", **settings)
    paths: dict[str, Callable[[], Any]] = {}
    if Store.engine.capabilities.server_side:
        key = seeded(Store)
        paths[f"{name}: load"] = load(Store, key)
        paths[f"{name}: load+modify+save"] = load_modify_save(Store, key)
        async_load, async_save = aload(Store, key), aload_modify_save(Store, key)
        paths[f"{name}: aload"] = lambda: loop.run_until_complete(async_load())
        paths[f"{name}: aload+modify+save"] = lambda: loop.run_until_complete(async_save())
    return paths


def _request_paths(name: str, settings: dict[str, Any], loop: asyncio.AbstractEventLoop) -> dict:
    WSGIMiddleware, ASGIMiddleware, get_session = _middleware()

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        session = get_session(environ)
        session["counter"] = session.get("counter", 0) + 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        session = scope["session"]
        await session.aset("counter", (await session.aget("counter", 0)) + 1)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    Store = sessionware.session_store(serializer="json", **settings)
    # One engine for the seed and both middlewares: an in-process store (cache) is
    # per engine object, and the replayed cookie must name a session it holds.
    shared = {"engine_instance": Store.engine, "secret_key": settings.get("secret_key")}
    shared = {k: v for k, v in shared.items() if v is not None}
    wrapped_wsgi = WSGIMiddleware(wsgi_app, serializer="json", **shared)
    wrapped_asgi = ASGIMiddleware(asgi_app, serializer="json", **shared)
    seed = Store()
    seed.update(PAYLOAD)
    seed.save()
    cookie = Store.engine.capabilities.server_side and seed.session_key
    if not cookie:  # a cookie engine: the cookie is the session, take it from a first reply
        _status, headers, _body = call_wsgi(wrapped_wsgi, wsgi_environ())
        cookie = next(v for k, v in headers if k.lower() == "set-cookie").split(";")[0]
        cookie = cookie.split("=", 1)[1]
    header = cookie_header("sessionid", str(cookie))
    environ = wsgi_environ(cookie=header)
    scope = asgi_scope(cookie=header)
    return {
        f"{name}: WSGI request (writes)": lambda: call_wsgi(wrapped_wsgi, environ),
        f"{name}: ASGI request (writes)": lambda: loop.run_until_complete(
            call_asgi(wrapped_asgi, dict(scope))
        ),
    }


def main() -> None:
    warm = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory(prefix="bench-rev-") as tmp:
        paths: dict[str, Callable[[], Any]] = {}
        for name, settings in _engines(Path(tmp)).items():
            paths.update(_store_paths(name, settings, loop))
            paths.update(_request_paths(name, settings, loop))
        for fn in paths.values():
            for _ in range(warm):
                fn()
        print(json.dumps(sorted(paths)), flush=True)
        for line in sys.stdin:
            path, _, calls = line.rstrip("\n").rpartition(" ")
            fn, number = paths[path], int(calls)
            started = time.perf_counter()
            for _ in range(number):
                fn()
            elapsed = time.perf_counter() - started
            print(f"{elapsed / number * 1e6:.4f}", flush=True)


if __name__ == "__main__":
    main()
