"""The HTTP layer: cookie parsing, ``Set-Cookie`` formatting, ``Request`` and ``Response``.

Cookie parsing is forgiving: a malformed pair is skipped without taking the
others down, the first of duplicate names wins, quoted values are unquoted,
UTF-8 smuggled through the latin-1 of WSGI/ASGI is decoded when it can be,
and a ``Cookie`` header longer than :data:`MAX_COOKIE_HEADER` is ignored
(no server sends one by default; parsing it would only cost CPU).
:func:`get_cookie` finds one cookie without building a dict: it is the
session middleware's hot path.

``Request`` and ``Response`` are the small objects the middleware protocol
passes around; the session rules themselves live in ``_session_middleware``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

__all__ = [
    "MAX_COOKIE_HEADER",
    "Request",
    "Response",
    "cookie_attributes",
    "delete_cookie_header",
    "format_set_cookie",
    "get_cookie",
    "http_date",
    "parse_cookies",
    "patch_vary",
]

#: A ``Cookie`` header longer than this (in characters) is ignored entirely.
MAX_COOKIE_HEADER = 16 * 1024

_WS = " \t"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 6265 cookie-octet: printable ASCII except space, DQUOTE, comma, semicolon, backslash.
_OCTETS = r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"
_COOKIE_VALUE = re.compile(f'{_OCTETS}|"{_OCTETS}"')
_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")
_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
_EPOCH_DATE = "Thu, 01 Jan 1970 00:00:00 GMT"


# -- parsing -------------------------------------------------------------------


def _decode(text: str) -> str:
    """Re-decode latin-1 text as UTF-8 when it is UTF-8; otherwise leave it."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _unescape(match: re.Match[str]) -> str:
    octal, char = match.groups()
    return chr(int(octal, 8)) if octal else char


def _value(raw: str) -> str:
    value = raw.strip(_WS)
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = value[1:-1]
        if "\\" in value:
            value = _ESCAPE.sub(_unescape, value)
    return _decode(value)


def parse_cookies(header: str | None) -> dict[str, str]:
    """Every cookie in a ``Cookie`` header, name to value; never raises.

    Pairs without ``=`` or with an empty name are skipped, the first of
    duplicate names wins, quoted values are unquoted. A header over
    :data:`MAX_COOKIE_HEADER` characters yields ``{}``.
    """
    cookies: dict[str, str] = {}
    if not header or len(header) > MAX_COOKIE_HEADER:
        return cookies
    for chunk in header.split(";"):
        name, sep, raw = chunk.partition("=")
        if not sep:
            continue
        name = _decode(name.strip(_WS))
        if name and name not in cookies:
            cookies[name] = _value(raw)
    return cookies


def get_cookie(header: str | None, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header, or ``None``.

    Gives the same answer as ``parse_cookies(header).get(name)`` for any
    ASCII ``name``, without splitting the header or building a dict.
    """
    if not header or len(header) > MAX_COOKIE_HEADER:
        return None
    find = header.find
    size = len(header)
    length = len(name)
    i = find(name)
    while i >= 0:
        j = i
        while j > 0 and header[j - 1] in _WS:
            j -= 1
        if j == 0 or header[j - 1] == ";":
            k = i + length
            while k < size and header[k] in _WS:
                k += 1
            if k < size and header[k] == "=":
                end = find(";", k)
                return _value(header[k + 1 :] if end < 0 else header[k + 1 : end])
        i = find(name, i + 1)
    return None


# -- formatting ----------------------------------------------------------------


_last_date: tuple[int, str] = (-1, "")


def http_date(timestamp: float) -> str:
    """An RFC 7231 IMF-fixdate, e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``.

    Every saved session's cookie carries one, and requests in the same second
    share it: the last one formatted is kept (formatting costs ~3 µs).
    """
    global _last_date
    second = int(timestamp)
    cached = _last_date
    if cached[0] == second:
        return cached[1]
    text = formatdate(second, usegmt=True)
    _last_date = (second, text)
    return text


def cookie_attributes(
    *,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = False,
    samesite: str | None = None,
    partitioned: bool = False,
) -> str:
    """The attribute tail (``"; Path=/; HttpOnly; ..."``) of a ``Set-Cookie`` value.

    Computed once per middleware; the per-request part is only the value and
    the expiry.
    """
    parts = []
    if domain:
        if any(c in domain for c in ";,\r\n \t"):
            raise ValueError(f"cookie domain {domain!r} contains a forbidden character")
        parts.append(f"Domain={domain}")
    if path:
        if any(c in path for c in ";\r\n"):
            raise ValueError(f"cookie path {path!r} contains ';' or a line break")
        parts.append(f"Path={path}")
    if secure:
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if samesite is not None:
        canonical = _SAMESITE.get(samesite.lower())
        if canonical is None:
            raise ValueError(f"samesite must be 'Lax', 'Strict' or 'None', got {samesite!r}")
        parts.append(f"SameSite={canonical}")
    if partitioned:
        parts.append("Partitioned")
    return "".join("; " + p for p in parts)


def _check_name_value(name: str, value: str) -> None:
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid cookie name")
    if not _COOKIE_VALUE.fullmatch(value):
        raise ValueError(
            f"cookie {name!r} has a value with a space, quote, comma, semicolon, backslash "
            "or non-ASCII character; encode it (for example base64url) before setting it"
        )


def format_set_cookie(
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    expires: float | datetime | str | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = False,
    samesite: str | None = None,
    partitioned: bool = False,
) -> str:
    """A complete ``Set-Cookie`` header value.

    ``expires`` is a POSIX timestamp, an aware ``datetime`` or a ready
    IMF-fixdate string. Raises :class:`ValueError` for a name that is not a
    token or a value that is not RFC 6265 cookie-octets.
    """
    _check_name_value(name, value)
    expiry = ""
    if expires is not None:
        if isinstance(expires, datetime):
            moment = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
            expires = http_date(moment.timestamp())
        elif not isinstance(expires, str):
            expires = http_date(expires)
        expiry = f"; Expires={expires}"
    if max_age is not None:
        expiry += f"; Max-Age={int(max_age)}"
    tail = cookie_attributes(
        path=path,
        domain=domain,
        secure=secure,
        httponly=httponly,
        samesite=samesite,
        partitioned=partitioned,
    )
    return f"{name}={value}{expiry}{tail}"


def delete_cookie_header(
    name: str,
    *,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    samesite: str | None = None,
    partitioned: bool = False,
) -> str:
    """A ``Set-Cookie`` value that deletes ``name`` (``Max-Age=0``, Expires in 1970).

    Pass the same path, domain, SameSite and Secure the cookie was set with,
    or the browser keeps the original.
    """
    return format_set_cookie(
        name,
        '""',
        max_age=0,
        expires=_EPOCH_DATE,
        path=path,
        domain=domain,
        secure=secure or samesite == "None",
        samesite=samesite,
        partitioned=partitioned,
    )


def patch_vary(headers: list[tuple[str, str]], *fields: str) -> None:
    """Merge ``fields`` into the ``Vary`` header of ``headers`` in place, without duplicates."""
    existing: list[str] = []
    kept: list[tuple[str, str]] = []
    for item in headers:
        if item[0].lower() == "vary":
            existing.extend(v.strip() for v in item[1].split(",") if v.strip())
        else:
            kept.append(item)
    if "*" in existing:
        return
    seen = {v.lower() for v in existing}
    for field in fields:
        if field.lower() not in seen:
            existing.append(field)
            seen.add(field.lower())
    kept.append(("Vary", ", ".join(existing)))
    headers[:] = kept


# -- Request / Response --------------------------------------------------------

#: The most of a request body ``Request.body`` reads (the demo's forms are tiny).
MAX_BODY = 1 << 20


class Request:
    """A small view over a WSGI environ or an ASGI scope.

    ``method``, ``path``, ``query_string`` and lower-cased ``headers`` are
    plain attributes; :attr:`cookies` is parsed on first use, while
    :meth:`get_cookie` answers for one name without parsing them all.
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
    :meth:`set_cookie`, :meth:`delete_cookie` and :meth:`patch_vary` write
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
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = None,
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header (see :func:`format_set_cookie`)."""
        self.headers.append(
            (
                "Set-Cookie",
                format_set_cookie(
                    name,
                    value,
                    max_age=max_age,
                    expires=expires,
                    path=path,
                    domain=domain,
                    secure=secure,
                    httponly=httponly,
                    samesite=samesite,
                    partitioned=partitioned,
                ),
            )
        )

    def delete_cookie(
        self,
        name: str,
        *,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        samesite: str | None = None,
        partitioned: bool = False,
    ) -> None:
        """Add a ``Set-Cookie`` header that expires cookie ``name`` now."""
        self.headers.append(
            (
                "Set-Cookie",
                delete_cookie_header(
                    name,
                    path=path,
                    domain=domain,
                    secure=secure,
                    samesite=samesite,
                    partitioned=partitioned,
                ),
            )
        )

    def patch_vary(self, *fields: str) -> None:
        """Add ``fields`` to the ``Vary`` header, merging with what is there."""
        patch_vary(self.headers, *fields)

    def __repr__(self) -> str:
        return f"<Response {self.status}>"
