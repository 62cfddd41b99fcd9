"""``Request`` and ``Response``: the small objects the middleware protocol passes around.

Cookies are ``_cookies``' job: ``Request`` parses them with its forgiving
parser, ``Response`` writes them through a ``CookieSpec``.
The session rules themselves live in ``_rules``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from http import HTTPStatus
from typing import Any, Unpack

from ._cookie_parsing import get_cookie, parse_cookies
from ._cookies import CookieAttributes, delete_cookie_header, format_set_cookie
from ._vary import patch_vary

__all__ = ["MAX_BODY", "Request", "Response"]

# -- Request / Response --------------------------------------------------------

#: The most of a request body ``Request.body`` reads (the demo's forms are tiny).
MAX_BODY = 1 << 20


class Request:
    """A small view over a WSGI environ or an ASGI scope.

    ``method``, ``path``, ``query_string`` and lower-cased ``headers`` are
    plain attributes; ``cookies`` is parsed on first use, while
    ``get_cookie`` answers for one name without parsing them all.
    ``session`` is set by a session middleware; ``state`` is free for other
    middleware. ``raw`` is the environ or scope itself.
    """

    __slots__ = (
        "_body",
        "_cookies",
        "_session",
        "headers",
        "method",
        "path",
        "query_string",
        "raw",
        "state",
    )

    def __init__(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        query_string: str = "",
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | None = b"",
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        #: ``(lower-cased name, value)`` pairs in arrival order.
        self.headers: list[tuple[str, str]] = [(k.lower(), v) for k, v in headers]
        self._body = body
        self._cookies: dict[str, str] | None = None
        self.raw: Mapping[str, Any] = raw if raw is not None else {}
        self._session: Any = None
        #: Per-request scratch space for middleware.
        self.state: dict[str, Any] = {}

    @property
    def session(self) -> Any:
        """The session, once a session middleware has run (``None`` before).

        Handing the session out loads it: code that reads the ``dict`` through
        C (``json.dumps``, orjson) calls none of its methods, so it must hold
        its data by then. A request that never asks for it costs no I/O.
        """
        session = self._session
        if session is not None and getattr(session, "_loaded", True) is False:
            session._ensure_loaded()
        return session

    @session.setter
    def session(self, value: Any) -> None:
        self._session = value

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        """A request over a WSGI environ; the body is read on first access."""
        headers = [
            (key[5:].replace("_", "-").lower(), value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        ]
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers.append((key.replace("_", "-").lower(), environ[key]))
        return cls(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "") or "/",
            query_string=environ.get("QUERY_STRING", ""),
            headers=headers,
            body=None,
            raw=environ,
        )

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any], body: bytes = b"") -> Request:
        """A request over an ASGI ``http`` scope and its already-read body."""
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())]
        return cls(
            scope.get("method", "GET"),
            scope.get("path", "/"),
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            raw=scope,
        )

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``default``."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return default

    @property
    def cookie_header(self) -> str | None:
        """The ``Cookie`` header; several (HTTP/2) are joined with ``"; "``."""
        values = [v for k, v in self.headers if k == "cookie"]
        if not values:
            return None
        return values[0] if len(values) == 1 else "; ".join(values)

    @property
    def cookies(self) -> dict[str, str]:
        """Every cookie of the request (parsed once, on first use)."""
        if self._cookies is None:
            self._cookies = parse_cookies(self.cookie_header)
        return self._cookies

    def get_cookie(self, name: str) -> str | None:
        """One cookie's value without parsing the others."""
        if self._cookies is not None:
            return self._cookies.get(name)
        return get_cookie(self.cookie_header, name)

    @property
    def body(self) -> bytes:
        """The request body (read from ``wsgi.input`` on first access under WSGI).

        At most ``MAX_BODY`` bytes are read whatever ``Content-Length`` claims:
        a buffered stream allocates the length it is asked for up front, and a
        length past ``sys.maxsize`` cannot be asked for at all.
        """
        if self._body is None:
            stream = self.raw.get("wsgi.input")
            try:
                length = min(int(self.raw.get("CONTENT_LENGTH") or 0), MAX_BODY)
            except ValueError:
                length = 0
            self._body = stream.read(length) if stream is not None and length > 0 else b""
        return self._body

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


class Response:
    """A status, a list of headers and a body: what a protocol handler returns.

    A ``str`` body is encoded as UTF-8. Header names keep their case;
    ``set_cookie``, ``delete_cookie`` and ``patch_vary`` write
    complete, correct headers.
    """

    __slots__ = ("body", "headers", "status")

    def __init__(
        self,
        body: bytes | str = b"",
        status: int = 200,
        headers: Iterable[tuple[str, str]] = (),
        *,
        content_type: str | None = "text/plain; charset=utf-8",
    ) -> None:
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.status = status
        self.headers: list[tuple[str, str]] = list(headers)
        if content_type is not None and self.get_header("content-type") is None:
            self.headers.append(("Content-Type", content_type))

    @property
    def status_line(self) -> str:
        """``"200 OK"``: the status as WSGI's ``start_response`` wants it."""
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Unknown"
        return f"{self.status} {phrase}"

    def get_header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``default``."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), e.g. all ``Set-Cookie``."""
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def set_header(self, name: str, value: str) -> None:
        """Replace every ``name`` header with one of ``value``."""
        lowered = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lowered]
        self.headers.append((name, value))

    def add_header(self, name: str, value: str) -> None:
        """Append a header, keeping existing ones of the same name."""
        self.headers.append((name, value))

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        max_age: int | None = None,
        expires: float | datetime | str | None = None,
        **attributes: Unpack[CookieAttributes],
    ) -> None:
        """Add a ``Set-Cookie`` header, written by a one-off ``CookieSpec``.

        The attributes are ``CookieSpec``'s: ``path="/"``, ``domain``,
        ``secure``, ``httponly``, ``samesite``, ``partitioned``. Raises
        ``ValueError`` for a name, attribute or value that could break the
        header.
        """
        cookie = format_set_cookie(name, value, max_age=max_age, expires=expires, **attributes)
        self.headers.append(("Set-Cookie", cookie))

    def delete_cookie(self, name: str, **attributes: Unpack[CookieAttributes]) -> None:
        """Add a ``Set-Cookie`` header that expires cookie ``name`` now.

        Pass the path, domain, SameSite and Secure it was set with, or the
        browser keeps the original.
        """
        self.headers.append(("Set-Cookie", delete_cookie_header(name, **attributes)))

    def patch_vary(self, *fields: str) -> None:
        """Add ``fields`` to the ``Vary`` header, merging with what is there."""
        patch_vary(self.headers, *fields)

    def __repr__(self) -> str:
        return f"<Response {self.status}>"
