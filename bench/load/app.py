"""The application under load: a per-session counter, written on every request.

``GET /`` on a session with a counter increments it and answers the new value;
without a session cookie it creates the session (the benchmark payload, counter
1). A request that carries a session cookie whose session cannot be loaded
answers ``410 lost`` and writes nothing, so the load test counts lost sessions
instead of silently starting new ones. ``GET /ping`` never touches the session
(readiness checks).

Settings come from the environment the load test sets: ``LOAD_ENGINE`` (``db``,
``file`` or ``redis``), ``LOAD_DB_PATH``, ``LOAD_FILE_DIR``, ``LOAD_REDIS_PREFIX``.
``wsgi`` is served by gunicorn, ``asgi`` by uvicorn.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/, for the harness

from harness import PAYLOAD

from sessionware.http import asgi as sw_asgi
from sessionware.http import wsgi as sw_wsgi

__all__ = ["COOKIE", "settings"]  # and, built on first use, "wsgi" and "asgi"

COOKIE = "sessionid"


def settings(environ: MutableMapping[str, str] = os.environ) -> dict[str, Any]:
    """The SessionMiddleware settings for ``LOAD_ENGINE`` (the load test builds the same)."""
    engine = environ.get("LOAD_ENGINE", "db")
    if engine == "db":
        return {"engine": "db", "path": environ["LOAD_DB_PATH"]}
    if engine == "file":
        return {"engine": "file", "path": environ["LOAD_FILE_DIR"]}
    if engine == "redis":
        return {
            "engine": "redis",
            "host": "127.0.0.1",
            "port": 6379,
            "prefix": environ["LOAD_REDIS_PREFIX"],
        }
    raise SystemExit(f"LOAD_ENGINE={engine!r}: expected db, file or redis")


def _count(session: MutableMapping[str, Any], had_cookie: bool) -> tuple[int, bytes]:
    """The status and body for one request: increment, create, or report the session lost."""
    counter = session.get("counter")
    if counter is None:
        if had_cookie:
            return 410, b"lost"
        session.update(PAYLOAD)
        counter = 0
    session["counter"] = counter + 1
    return 200, str(counter + 1).encode()


# -- WSGI (gunicorn) ------------------------------------------------------------------------


def _wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    if environ.get("PATH_INFO") == "/ping":
        status, body = 200, b"pong"
    else:
        had_cookie = f"{COOKIE}=" in environ.get("HTTP_COOKIE", "")
        status, body = _count(sw_wsgi.get_session(environ), had_cookie)
    start_response(
        "200 OK" if status == 200 else "410 Gone",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
    )
    return [body]


# -- ASGI (uvicorn) -------------------------------------------------------------------------


async def _asgi_app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":  # nothing to set up or tear down
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/ping":
        status, body = 200, b"pong"
    else:
        cookies = b"; ".join(v for k, v in scope["headers"] if k == b"cookie")
        session = scope["session"]
        await session.aload()  # the session's data, loaded off the event loop when it must be
        status, body = _count(session, f"{COOKIE}=".encode() in cookies)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


_built: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """``wsgi`` and ``asgi``, each built on first use: a server builds only the one it serves."""
    if name not in ("wsgi", "asgi"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name not in _built:
        if name == "wsgi":
            _built[name] = sw_wsgi.WSGISessionMiddleware(_wsgi_app, **settings())
        else:
            _built[name] = sw_asgi.ASGISessionMiddleware(_asgi_app, **settings())
    return _built[name]
