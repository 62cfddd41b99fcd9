"""One request through a WSGI or ASGI app in this process: no network, no test client.

Every in-process benchmark builds its requests here, so they all carry the same
headers: a ``Host``, and a ``Cookie`` header holding the session cookie between two
unrelated ones. ``X-Mode`` (when given) tells an app what to do with its session.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable
from typing import Any

Reply = tuple[int, list[tuple[Any, Any]], bytes]
ASGIApp = Callable[..., Awaitable[None]]


def cookie_header(name: str, value: str | None) -> str | None:
    """A realistic ``Cookie`` header: the session cookie among others (None: no header)."""
    return None if value is None else f"theme=dark; {name}={value}; csrftoken=abc"


def wsgi_environ(path: str = "/", cookie: str | None = None, mode: str | None = None) -> dict:
    """A GET environ for ``path``; ``cookie`` is the whole ``Cookie`` header value."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),  # GET: never read past its (zero) length
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if cookie is not None:
        env["HTTP_COOKIE"] = cookie
    if mode is not None:
        env["HTTP_X_MODE"] = mode
    return env


def call_wsgi(app: Callable[..., Any], env: dict[str, Any]) -> Reply:
    """One request: the environ copied, the body consumed and closed."""
    got: list[Any] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[..., Any]:
        got.extend((status, headers))
        return got.append

    result = app(dict(env), start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return int(got[0][:3]), got[1], body


def asgi_scope(path: str = "/", cookie: str | None = None, mode: str | None = None) -> dict:
    """A GET scope for ``path``; ``cookie`` is the whole ``Cookie`` header value."""
    headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"bench")]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode("latin-1")))
    if mode is not None:
        headers.append((b"x-mode", mode.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def call_asgi(app: ASGIApp, scope: dict[str, Any]) -> Reply:
    """One request on the running loop: a fresh copy of ``scope``, the response collected."""
    status, headers, body = 0, [], bytearray()

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    request_scope = dict(scope)
    request_scope["headers"] = list(scope["headers"])
    request_scope["state"] = dict(scope["state"])
    await app(request_scope, _receive, send)
    return status, headers, bytes(body)


def set_cookie(headers: list[tuple[Any, Any]], name: str) -> str | None:
    """The value a ``Set-Cookie`` for ``name`` carries (str or bytes headers), if any."""
    for key, value in headers:
        key = key.decode("latin-1") if isinstance(key, bytes) else key
        value = value.decode("latin-1") if isinstance(value, bytes) else value
        if key.lower() == "set-cookie" and value.startswith(name + "="):
            return value.split(";", 1)[0][len(name) + 1 :]
    return None


class Lifespan:
    """Runs an ASGI app's lifespan protocol around the measurement (startup, then shutdown)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Future[None] | None = None

    async def __aenter__(self) -> Lifespan:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._task = asyncio.ensure_future(self.app(scope, self._inbox.get, self._outbox.put))
        await self._inbox.put({"type": "lifespan.startup"})
        answer = await self._outbox.get()
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan startup failed: {answer}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._outbox.get()
        if self._task is not None:
            await self._task
