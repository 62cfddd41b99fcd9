"""Reading the ``Cookie`` request header.

Parsing is forgiving: a malformed pair is skipped without taking the others
down, the first of duplicate names wins, quoted values are unquoted, UTF-8
smuggled through the latin-1 of WSGI/ASGI is decoded when it can be, and a
``Cookie`` header longer than ``MAX_COOKIE_HEADER`` is ignored (no server
sends one by default; parsing it would only cost CPU). ``get_cookie``
finds one cookie without building a dict: it is the session middleware's hot
path. Writing cookies is ``CookieSpec``'s job (``_cookies``).
"""

from __future__ import annotations

import re

__all__ = ["COOKIE_VALUE", "MAX_COOKIE_HEADER", "get_cookie", "parse_cookies"]

#: A ``Cookie`` header longer than this (in characters) is ignored entirely.
MAX_COOKIE_HEADER = 16 * 1024

_WS = " \t"
# RFC 6265 cookie-octet: printable ASCII except space, DQUOTE, comma, semicolon, backslash.
_OCTETS = r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"
#: A cookie value as RFC 6265 allows it (also what ``CookieSpec`` lets a cookie carry).
COOKIE_VALUE = re.compile(f'{_OCTETS}|"{_OCTETS}"')
_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")


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
    ``MAX_COOKIE_HEADER`` characters yields ``{}``.
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
