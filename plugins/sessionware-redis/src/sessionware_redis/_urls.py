"""Redis URLs: ``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://``, ``redis+cluster://``.

``parse_url`` turns a URL into a ``ParsedUrl`` (``None`` where the URL
is silent) without touching the network; ``_options`` combines it with the
keyword options. Passwords never appear in messages (``mask_url``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, unquote

from ._checks import DEFAULT_PORT, DEFAULT_SENTINEL_PORT, checks, host_port

__all__ = ["Mode", "ParsedUrl", "mask_url", "parse_url"]

Mode = Literal["single", "sentinel", "cluster"]

#: scheme -> (mode, TLS); ``unix`` is the single mode over a Unix socket.
_SCHEMES: dict[str, tuple[Mode | Literal["unix"], bool]] = {
    "redis": ("single", False),
    "rediss": ("single", True),
    "unix": ("unix", False),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_PASSWORD_IN_URL = re.compile(r"(://[^/@]*?:)[^/@]*@")


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    return _PASSWORD_IN_URL.sub(r"\1***@", url)


@dataclass(slots=True)
class ParsedUrl:
    """What a URL says; ``None`` where it is silent."""

    mode: Mode
    ssl: bool
    nodes: tuple[tuple[str, int], ...] = ()
    unix_path: str | None = None
    db: int | None = None
    username: str | None = None
    password: str | None = None
    service_name: str | None = None


def _flag(option: str, name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise checks.error(option, f"?{name}={value} in the url: expected true or false")


def parse_url(url: object) -> ParsedUrl:
    """What ``url`` says, or ``ConfigurationError`` for ``url``."""
    if not isinstance(url, str) or not url:
        raise checks.error("url", f"expected a URL such as 'redis://localhost:6379/0', got {url!r}")
    shown = mask_url(url)
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise checks.error("url", f"{shown!r} contains whitespace or control characters")
    scheme, sep, rest = url.partition("://")
    kind = _SCHEMES.get(scheme.lower()) if sep else None
    if kind is None:
        raise checks.error(
            "url",
            f"{shown!r} does not start with a supported scheme "
            f"({', '.join(s + '://' for s in _SCHEMES)})",
        )
    mode, ssl = kind
    if "#" in rest:
        raise checks.error("url", f"{shown!r} has a '#' fragment; percent-encode '#' in a password")
    rest, _, query = rest.partition("?")
    if mode == "unix":
        userinfo, at, path = rest.rpartition("@")
        if not at:
            path = rest
        if not path.startswith("/") or path == "/":
            raise checks.error("url", f"{shown!r}: a unix:// URL names the socket's absolute path")
        parsed = ParsedUrl(mode="single", ssl=False, unix_path=unquote(path))
        hosts = ""
    else:
        netloc, _, path = rest.partition("/")
        userinfo, at, hosts = netloc.rpartition("@")
        if not at:
            hosts = netloc
        parsed = ParsedUrl(mode=mode, ssl=ssl)
    if at:
        user, colon, password = userinfo.partition(":")
        parsed.username = unquote(user) or None
        parsed.password = unquote(password) if colon else None
    if mode != "unix":
        _url_nodes(parsed, hosts, shown)
        _url_path(parsed, path, shown)
    _url_query(parsed, query, shown)
    return parsed


def _url_nodes(parsed: ParsedUrl, hosts: str, shown: str) -> None:
    if not hosts:
        raise checks.error("url", f"{shown!r} names no host, e.g. redis://localhost:6379/0")
    default = DEFAULT_SENTINEL_PORT if parsed.mode == "sentinel" else DEFAULT_PORT
    nodes = tuple(host_port("url", h, default, repr(shown)) for h in hosts.split(","))
    if len(nodes) > 1 and parsed.mode == "single":
        raise checks.error(
            "url",
            f"{shown!r} lists several hosts; use redis+sentinel://host:port,host:port/service "
            "for Sentinel or redis+cluster://host:port,host:port for a Cluster",
        )
    parsed.nodes = nodes


def _url_path(parsed: ParsedUrl, path: str, shown: str) -> None:
    parts = path.split("/") if path else []
    if parsed.mode == "sentinel":
        if not parts or not parts[0] or len(parts) > 2:
            raise checks.error(
                "url",
                f"{shown!r}: a Sentinel URL is redis+sentinel://host:port[,host:port]"
                "/service_name[/db]",
            )
        parsed.service_name = unquote(parts[0])
        parts = parts[1:]
    if len(parts) > 1 or (parts and parts[0] and not parts[0].isdigit()):
        raise checks.error("url", f"{shown!r}: the path must be the database number, e.g. /0")
    if parts and parts[0]:
        parsed.db = int(parts[0])
    if parsed.mode == "cluster" and parsed.db:
        raise checks.error("url", f"{shown!r}: a Redis Cluster has only database 0")


def _url_query(parsed: ParsedUrl, query: str, shown: str) -> None:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise checks.error("url", f"{shown!r} has a malformed query string") from None
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen:
            raise checks.error("url", f"{shown!r} repeats ?{name}=")
        seen.add(name)
        if name == "db":
            if not value.isdigit() or parsed.db is not None:
                raise checks.error(
                    "url", f"?db={value} in {shown!r}: give the database once, as an int"
                )
            parsed.db = int(value)
        elif name == "cluster":
            if _flag("url", name, value):
                if parsed.mode == "sentinel" or parsed.unix_path is not None:
                    raise checks.error("url", f"?cluster=true does not go with {shown!r}")
                parsed.mode = "cluster"
        else:
            raise checks.error(
                "url",
                f"?{name}= in {shown!r} is not supported; the URL carries the address, "
                "credentials, database, and ?cluster=true. Pass other settings as engine "
                f"options (e.g. {name}=...)",
            )
    if parsed.mode == "cluster" and parsed.db:
        raise checks.error("url", f"{shown!r}: a Redis Cluster has only database 0")
