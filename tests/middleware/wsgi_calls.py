"""Run a WSGI app in process, as a server would, and read what it answered."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class WSGIResult:
    """What a WSGI app answered, collected in process."""

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.body = b""
        self.closed = False

    @property
    def code(self) -> int:
        return int(self.status[:3])

    def get_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def call_wsgi(
    app: Callable[..., Iterable[bytes]], path: str = "/", cookie: str | None = None
) -> WSGIResult:
    """Run one request through a WSGI app, as a server would (iterate, then close)."""
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": ""}
    if cookie is not None:
        environ["HTTP_COOKIE"] = cookie
    result = WSGIResult()

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        result.status, result.headers = status, list(headers)
        return lambda data: None

    iterable = app(environ, start_response)
    try:
        result.body = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
            result.closed = True
    return result


def cookie_value(set_cookie: str) -> str:
    """The value part of a Set-Cookie header."""
    return set_cookie.split(";", 1)[0].split("=", 1)[1]
