"""A WSGI app called in process, the way a server would, with its cookie jar of one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from wsgiref.util import setup_testing_defaults


@dataclass
class Result:
    status: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def set_cookies(self) -> list[str]:
        return [v for k, v in self.headers if k.lower() == "set-cookie"]

    def cookie(self, name: str = "sessionid") -> str | None:
        """The value the response sets for ``name`` (``None``: no such Set-Cookie)."""
        for header in self.set_cookies():
            pair = header.split(";", 1)[0]
            if pair.startswith(f"{name}="):
                return pair[len(name) + 1 :]
        return None


def call(app: Callable[..., Iterable[bytes]], cookie: str | None = None) -> Result:
    """Serve one GET through ``app``; ``cookie`` is the session cookie's value to send."""
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    if cookie is not None:
        environ["HTTP_COOKIE"] = f"sessionid={cookie}"
    result = Result()

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        result.status, result.headers = status, list(headers)
        return lambda data: None

    body = app(environ, start_response)
    try:
        result.body = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return result
