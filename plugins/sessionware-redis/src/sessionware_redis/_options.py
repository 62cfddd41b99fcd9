"""Option validation for the redis engine: URLs and keyword options into :class:`Settings`.

Everything here runs at construction and never touches the network, so an app
can start while Redis is down. A malformed URL or option raises
:class:`~sessionware.ConfigurationError` whose ``field`` names the option
(``engine_options.url``). Building redis-py clients from the settings lives in
``_clients``; nothing here imports redis.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

from sessionware import ConfigurationError

__all__ = ["DEFAULT_PREFIX", "Mode", "Settings", "build_settings", "mask_url"]

Mode = Literal["single", "sentinel", "cluster"]

DEFAULT_PREFIX = "sessionware:"
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379

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
_CERT_REQS = ("none", "optional", "required")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
#: Printable ASCII without glob characters (SCAN MATCH, KEYS), hash-tag braces (which
#: would pin every session of a cluster to one slot), quotes and backslash.
_PREFIX_CHARS = frozenset(map(chr, range(0x21, 0x7F))) - set("\"'*?[]{}\\")
_PREFIX_MAX = 128
_HOST = re.compile(r"[A-Za-z0-9._%-]+|\[[0-9A-Fa-f:.%A-Za-z]+\]")
_PASSWORD_IN_URL = re.compile(r"(://[^/@]*?:)[^/@]*@")


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    return _PASSWORD_IN_URL.sub(r"\1***@", url)


def _error(option: str, message: str) -> ConfigurationError:
    return ConfigurationError(
        f"redis engine option {option!r}: {message}", field=f"engine_options.{option}"
    )


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated engine options: where Redis is, how to talk to it, and the key prefix."""

    mode: Mode
    #: The server (single), the sentinels (sentinel) or the startup nodes (cluster).
    nodes: tuple[tuple[str, int], ...]
    unix_path: str | None
    db: int
    username: str | None
    password: str | None = field(repr=False)
    ssl: bool
    ssl_ca_certs: str | None
    ssl_certfile: str | None
    ssl_keyfile: str | None
    ssl_cert_reqs: str
    ssl_check_hostname: bool
    service_name: str | None
    sentinel_username: str | None
    sentinel_password: str | None = field(repr=False)
    prefix: str
    socket_timeout: float | None
    socket_connect_timeout: float | None
    max_connections: int | None
    health_check_interval: float
    retries: int

    @property
    def address(self) -> str:
        """Where the sessions live, as a URL without credentials (for errors and logs)."""
        tls = "s" if self.ssl else ""
        if self.unix_path is not None:
            return f"unix://{self.unix_path}?db={self.db}"
        hosts = ",".join(
            f"[{h}]:{p}" if ":" in h and not h.startswith("[") else f"{h}:{p}"
            for h, p in self.nodes
        )
        if self.mode == "sentinel":
            return f"redis{tls}+sentinel://{hosts}/{self.service_name}/{self.db}"
        if self.mode == "cluster":
            return f"redis{tls}+cluster://{hosts}"
        return f"redis{tls}://{hosts}/{self.db}"


@dataclass(slots=True)
class _Url:
    """What a URL says; ``None`` where it is silent."""

    mode: Mode
    ssl: bool
    nodes: tuple[tuple[str, int], ...] = ()
    unix_path: str | None = None
    db: int | None = None
    username: str | None = None
    password: str | None = None
    service_name: str | None = None


# -- scalar checks ---------------------------------------------------------------


def _optional_str(option: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _error(option, f"expected a str or None, got {type(value).__name__}")
    return value


def _bool(option: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _error(option, f"expected True or False, got {value!r}")
    return value


def _port(option: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise _error(option, f"expected a TCP port (an int from 1 to 65535), got {value!r}")
    return value


def _db(option: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _error(option, f"expected a database number (an int >= 0), got {value!r}")
    return value


def _seconds(option: str, value: object, *, allow_none: bool, allow_zero: bool) -> float | None:
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        expected = "a non-negative" if allow_zero else "a positive"
        none = " or None (no limit)" if allow_none else ""
        raise _error(option, f"expected {expected} number of seconds{none}, got {value!r}")
    return float(value)


def _count(option: str, value: object, *, minimum: int, allow_none: bool) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        none = " or None" if allow_none else ""
        raise _error(option, f"expected an int >= {minimum}{none}, got {value!r}")
    return value


def _file(option: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise _error(option, f"expected a file path (str or Path), got {value!r}")
    path = os.path.abspath(os.path.expanduser(value))
    if not os.path.isfile(path):
        raise _error(option, f"{path} does not exist or is not a file")
    return path


def _prefix(value: object) -> str:
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= _PREFIX_MAX
        or not _PREFIX_CHARS.issuperset(value)
    ):
        raise _error(
            "prefix",
            f"{value!r} is not a valid key prefix: use 1-128 printable ASCII characters "
            "without spaces, quotes, backslash, glob characters (* ? [ ]) or braces "
            "(a {hash tag} would put every session of a cluster in one slot)",
        )
    return value


def _host(option: str, text: str, source: str) -> str:
    if not _HOST.fullmatch(text):
        raise _error(
            option, f"{text!r} in {source} is not a host name or address (IPv6 goes in [])"
        )
    return text[1:-1] if text.startswith("[") else text


def _host_port(option: str, text: str, default_port: int, source: str) -> tuple[str, int]:
    if text.startswith("["):
        end = text.find("]")
        host_text, rest = text[: end + 1], text[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            raise _error(option, f"{text!r} in {source} is not [ipv6]:port")
        port_text = rest[1:] if rest else None
    elif text.count(":") > 1:
        raise _error(option, f"{text!r} in {source}: put an IPv6 address in brackets, [::1]:6379")
    else:
        host_text, colon, port_text_ = text.partition(":")
        port_text = port_text_ if colon else None
    host = _host(option, host_text, source)
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _error(option, f"port {port_text!r} in {source} is not a TCP port (1-65535)")
    return host, int(port_text)


def _flag(option: str, name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _error(option, f"?{name}={value} in the url: expected true or false")


# -- URLs ------------------------------------------------------------------------


def _parse_url(url: object) -> _Url:
    if not isinstance(url, str) or not url:
        raise _error("url", f"expected a URL such as 'redis://localhost:6379/0', got {url!r}")
    shown = mask_url(url)
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise _error("url", f"{shown!r} contains whitespace or control characters")
    scheme, sep, rest = url.partition("://")
    kind = _SCHEMES.get(scheme.lower()) if sep else None
    if kind is None:
        raise _error(
            "url",
            f"{shown!r} does not start with a supported scheme "
            f"({', '.join(s + '://' for s in _SCHEMES)})",
        )
    mode, ssl = kind
    if "#" in rest:
        raise _error("url", f"{shown!r} has a '#' fragment; percent-encode '#' in a password")
    rest, _, query = rest.partition("?")
    if mode == "unix":
        userinfo, at, path = rest.rpartition("@")
        if not at:
            path = rest
        if not path.startswith("/") or path == "/":
            raise _error("url", f"{shown!r}: a unix:// URL names the socket's absolute path")
        parsed = _Url(mode="single", ssl=False, unix_path=unquote(path))
        hosts = ""
    else:
        netloc, _, path = rest.partition("/")
        userinfo, at, hosts = netloc.rpartition("@")
        if not at:
            hosts = netloc
        parsed = _Url(mode=mode, ssl=ssl)
    if at:
        user, colon, password = userinfo.partition(":")
        parsed.username = unquote(user) or None
        parsed.password = unquote(password) if colon else None
    if mode != "unix":
        _url_nodes(parsed, hosts, shown)
        _url_path(parsed, path, shown)
    _url_query(parsed, query, shown)
    return parsed


def _url_nodes(parsed: _Url, hosts: str, shown: str) -> None:
    if not hosts:
        raise _error("url", f"{shown!r} names no host, e.g. redis://localhost:6379/0")
    default = DEFAULT_SENTINEL_PORT if parsed.mode == "sentinel" else DEFAULT_PORT
    nodes = tuple(_host_port("url", h, default, repr(shown)) for h in hosts.split(","))
    if len(nodes) > 1 and parsed.mode == "single":
        raise _error(
            "url",
            f"{shown!r} lists several hosts; use redis+sentinel://host:port,host:port/service "
            "for Sentinel or redis+cluster://host:port,host:port for a Cluster",
        )
    parsed.nodes = nodes


def _url_path(parsed: _Url, path: str, shown: str) -> None:
    parts = path.split("/") if path else []
    if parsed.mode == "sentinel":
        if not parts or not parts[0] or len(parts) > 2:
            raise _error(
                "url",
                f"{shown!r}: a Sentinel URL is redis+sentinel://host:port[,host:port]"
                "/service_name[/db]",
            )
        parsed.service_name = unquote(parts[0])
        parts = parts[1:]
    if len(parts) > 1 or (parts and parts[0] and not parts[0].isdigit()):
        raise _error("url", f"{shown!r}: the path must be the database number, e.g. /0")
    if parts and parts[0]:
        parsed.db = int(parts[0])
    if parsed.mode == "cluster" and parsed.db:
        raise _error("url", f"{shown!r}: a Redis Cluster has only database 0")


def _url_query(parsed: _Url, query: str, shown: str) -> None:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise _error("url", f"{shown!r} has a malformed query string") from None
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen:
            raise _error("url", f"{shown!r} repeats ?{name}=")
        seen.add(name)
        if name == "db":
            if not value.isdigit() or parsed.db is not None:
                raise _error("url", f"?db={value} in {shown!r}: give the database once, as an int")
            parsed.db = int(value)
        elif name == "cluster":
            if _flag("url", name, value):
                if parsed.mode == "sentinel" or parsed.unix_path is not None:
                    raise _error("url", f"?cluster=true does not go with {shown!r}")
                parsed.mode = "cluster"
        else:
            raise _error(
                "url",
                f"?{name}= in {shown!r} is not supported; the URL carries the address, "
                "credentials, database, and ?cluster=true. Pass other settings as engine "
                f"options (e.g. {name}=...)",
            )
    if parsed.mode == "cluster" and parsed.db:
        raise _error("url", f"{shown!r}: a Redis Cluster has only database 0")


# -- the whole set -----------------------------------------------------------------


def _sentinel_nodes(value: object) -> tuple[tuple[str, int], ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise _error(
            "sentinels", f"expected a non-empty list of 'host:port' or (host, port), got {value!r}"
        )
    nodes = []
    for item in value:
        if isinstance(item, str):
            nodes.append(_host_port("sentinels", item, DEFAULT_SENTINEL_PORT, "sentinels"))
        elif isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str):
            host = _host("sentinels", item[0], "sentinels")
            nodes.append((host, _port("sentinels", item[1])))
        else:
            raise _error("sentinels", f"{item!r} is neither 'host:port' nor (host, port)")
    return tuple(nodes)


def build_settings(options: dict[str, Any]) -> Settings:
    """Validate the engine's keyword options (see ``RedisEngine``) into :class:`Settings`."""
    url = options["url"]
    parsed = _parse_url(url) if url is not None else None
    host = _optional_str("host", options["host"])
    port = options["port"]
    db = options["db"]
    ssl = options["ssl"]
    username = _optional_str("username", options["username"])
    password = _optional_str("password", options["password"])
    sentinels = options["sentinels"]
    service_name = _optional_str("service_name", options["service_name"])
    cluster = _bool("cluster", options["cluster"])

    mode: Mode
    if parsed is not None:
        for name in ("host", "port", "db", "ssl", "sentinels", "service_name"):
            if options[name] is not None:
                raise _error(
                    name,
                    f"given together with url; the URL already says {_what(name)}. Pass "
                    "either url or the separate options, not both",
                )
        for name, value, in_url in (
            ("username", username, parsed.username),
            ("password", password, parsed.password),
        ):
            if value is not None and in_url is not None:
                raise _error(name, "given both in url and as an option; keep one")
        if cluster:
            if parsed.mode == "sentinel" or parsed.unix_path is not None:
                raise _error("cluster", f"cluster=True does not go with {mask_url(url)!r}")
            parsed.mode = "cluster"
        mode = parsed.mode
        nodes = parsed.nodes
        unix_path = parsed.unix_path
        db_number = parsed.db or 0
        use_ssl = parsed.ssl
        username = username if username is not None else parsed.username
        password = password if password is not None else parsed.password
        service_name = parsed.service_name
    else:
        use_ssl = _bool("ssl", ssl) if ssl is not None else False
        db_number = _db("db", db) if db is not None else 0
        unix_path = None
        if sentinels is not None or service_name is not None:
            if sentinels is None or service_name is None:
                missing = "sentinels" if sentinels is None else "service_name"
                raise _error(missing, "Sentinel needs both sentinels=[...] and service_name=...")
            if not service_name:
                raise _error("service_name", "must not be empty")
            for name in ("host", "port"):
                if options[name] is not None:
                    raise _error(name, "Sentinel finds the primary itself; drop host/port")
            if cluster:
                raise _error("cluster", "cluster=True does not go with Sentinel options")
            mode = "sentinel"
            nodes = _sentinel_nodes(sentinels)
        else:
            mode = "cluster" if cluster else "single"
            host_name = _host("host", host, "host") if host is not None else DEFAULT_HOST
            nodes = ((host_name, _port("port", port) if port is not None else DEFAULT_PORT),)
        if mode == "cluster" and db_number:
            raise _error("db", "a Redis Cluster has only database 0")

    ssl_options = {
        name: _file(name, options[name]) for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
    }
    cert_reqs = options["ssl_cert_reqs"]
    if cert_reqs not in _CERT_REQS:
        raise _error("ssl_cert_reqs", f"expected one of {', '.join(_CERT_REQS)}, got {cert_reqs!r}")
    check_hostname = _bool("ssl_check_hostname", options["ssl_check_hostname"])
    if not use_ssl:
        for name, value in (*ssl_options.items(), ("ssl_cert_reqs", cert_reqs != "required")):
            if value:
                raise _error(name, "given but TLS is off; use a rediss:// URL or ssl=True")
    if (ssl_options["ssl_certfile"] is None) != (ssl_options["ssl_keyfile"] is None):
        raise _error("ssl_keyfile", "a client certificate needs both ssl_certfile and ssl_keyfile")

    sentinel_username = _optional_str("sentinel_username", options["sentinel_username"])
    sentinel_password = _optional_str("sentinel_password", options["sentinel_password"])
    if mode != "sentinel":
        for name, value in (
            ("sentinel_username", sentinel_username),
            ("sentinel_password", sentinel_password),
        ):
            if value is not None:
                raise _error(name, "only applies to Sentinel (redis+sentinel:// or sentinels=)")

    return Settings(
        mode=mode,
        nodes=nodes,
        unix_path=unix_path,
        db=db_number,
        username=username,
        password=password,
        ssl=use_ssl,
        ssl_ca_certs=ssl_options["ssl_ca_certs"],
        ssl_certfile=ssl_options["ssl_certfile"],
        ssl_keyfile=ssl_options["ssl_keyfile"],
        ssl_cert_reqs=cert_reqs,
        ssl_check_hostname=check_hostname and cert_reqs != "none",
        service_name=service_name,
        sentinel_username=sentinel_username,
        sentinel_password=sentinel_password,
        prefix=_prefix(options["prefix"]),
        socket_timeout=_seconds(
            "socket_timeout", options["socket_timeout"], allow_none=True, allow_zero=False
        ),
        socket_connect_timeout=_seconds(
            "socket_connect_timeout",
            options["socket_connect_timeout"],
            allow_none=True,
            allow_zero=False,
        ),
        max_connections=_count(
            "max_connections", options["max_connections"], minimum=1, allow_none=True
        ),
        health_check_interval=_seconds(
            "health_check_interval",
            options["health_check_interval"],
            allow_none=False,
            allow_zero=True,
        )
        or 0.0,
        retries=_count("retries", options["retries"], minimum=0, allow_none=False) or 0,
    )


def _what(name: str) -> str:
    return {
        "host": "which host",
        "port": "which port",
        "db": "which database (/db)",
        "ssl": "whether to use TLS (rediss://)",
        "sentinels": "where the sentinels are (redis+sentinel://)",
        "service_name": "the service name (redis+sentinel://host/service)",
    }[name]
