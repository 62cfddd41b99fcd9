"""Option validation for the redis engine: URLs and keyword options into ``Settings``.

Everything here runs at construction and never touches the network, so an app
can start while Redis is down. A malformed URL or option raises
``ConfigurationError`` whose ``field`` names the option
(``engine_options.url``). Hosts and ports are checked in ``_checks``, URLs
parsed in ``_urls``; building redis-py clients from the settings lives in
``_clients``. Nothing here imports redis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._checks import (
    DEFAULT_PORT,
    DEFAULT_SENTINEL_PORT,
    checks,
    host_name,
    host_port,
    port_number,
)
from ._urls import Mode, mask_url, parse_url

__all__ = ["DEFAULT_PREFIX", "Mode", "Settings", "build_settings", "mask_url"]

DEFAULT_PREFIX = "sessionware:"
DEFAULT_HOST = "localhost"
_CERT_REQS = ("none", "optional", "required")
#: Printable ASCII without glob characters (SCAN MATCH, KEYS), hash-tag braces (which
#: would pin every session of a cluster to one slot), quotes and backslash.
_PREFIX_CHARS = frozenset(map(chr, range(0x21, 0x7F))) - set("\"'*?[]{}\\")
_PREFIX_MAX = 128


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


def _prefix(value: object) -> str:
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= _PREFIX_MAX
        or not _PREFIX_CHARS.issuperset(value)
    ):
        raise checks.error(
            "prefix",
            f"{value!r} is not a valid key prefix: use 1-128 printable ASCII characters "
            "without spaces, quotes, backslash, glob characters (* ? [ ]) or braces "
            "(a {hash tag} would put every session of a cluster in one slot)",
        )
    return value


def _sentinel_nodes(value: object) -> tuple[tuple[str, int], ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise checks.error(
            "sentinels", f"expected a non-empty list of 'host:port' or (host, port), got {value!r}"
        )
    nodes = []
    for item in value:
        if isinstance(item, str):
            nodes.append(host_port("sentinels", item, DEFAULT_SENTINEL_PORT, "sentinels"))
        elif isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str):
            host = host_name("sentinels", item[0], "sentinels")
            nodes.append((host, port_number("sentinels", item[1])))
        else:
            raise checks.error("sentinels", f"{item!r} is neither 'host:port' nor (host, port)")
    return tuple(nodes)


def build_settings(options: dict[str, Any]) -> Settings:
    """Validate the engine's keyword options (see ``RedisEngine``) into ``Settings``."""
    url = options["url"]
    parsed = parse_url(url) if url is not None else None
    host = checks.text("host", options["host"], allow_empty=True, allow_none=True)
    port = options["port"]
    db = options["db"]
    ssl = options["ssl"]
    username = checks.text("username", options["username"], allow_empty=True, allow_none=True)
    password = checks.text(
        "password", options["password"], allow_empty=True, allow_none=True, secret=True
    )
    sentinels = options["sentinels"]
    service_name = checks.text(
        "service_name", options["service_name"], allow_empty=True, allow_none=True
    )
    cluster = checks.boolean("cluster", options["cluster"])

    mode: Mode
    if parsed is not None:
        for name in ("host", "port", "db", "ssl", "sentinels", "service_name"):
            if options[name] is not None:
                raise checks.error(
                    name,
                    f"given together with url; the URL already says {_what(name)}. Pass "
                    "either url or the separate options, not both",
                )
        for name, value, in_url in (
            ("username", username, parsed.username),
            ("password", password, parsed.password),
        ):
            if value is not None and in_url is not None:
                raise checks.error(name, "given both in url and as an option; keep one")
        if cluster:
            if parsed.mode == "sentinel" or parsed.unix_path is not None:
                raise checks.error("cluster", f"cluster=True does not go with {mask_url(url)!r}")
            parsed.mode = "cluster"
        mode = parsed.mode
        nodes = parsed.nodes
        unix_path = parsed.unix_path
        database = parsed.db or 0
        use_ssl = parsed.ssl
        username = username if username is not None else parsed.username
        password = password if password is not None else parsed.password
        service_name = parsed.service_name
    else:
        use_ssl = checks.boolean("ssl", ssl) if ssl is not None else False
        database = (
            checks.integer("db", db, minimum=0, what="a database number") if db is not None else 0
        )
        unix_path = None
        if sentinels is not None or service_name is not None:
            if sentinels is None or service_name is None:
                missing = "sentinels" if sentinels is None else "service_name"
                raise checks.error(
                    missing, "Sentinel needs both sentinels=[...] and service_name=..."
                )
            if not service_name:
                raise checks.error("service_name", "must not be empty")
            for name in ("host", "port"):
                if options[name] is not None:
                    raise checks.error(name, "Sentinel finds the primary itself; drop host/port")
            if cluster:
                raise checks.error("cluster", "cluster=True does not go with Sentinel options")
            mode = "sentinel"
            nodes = _sentinel_nodes(sentinels)
        else:
            mode = "cluster" if cluster else "single"
            server = host_name("host", host, "host") if host is not None else DEFAULT_HOST
            nodes = ((server, port_number("port", port) if port is not None else DEFAULT_PORT),)
        if mode == "cluster" and database:
            raise checks.error("db", "a Redis Cluster has only database 0")

    ssl_options = {
        name: checks.file(name, options[name], allow_none=True)
        for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
    }
    cert_reqs = checks.one_of("ssl_cert_reqs", options["ssl_cert_reqs"], _CERT_REQS)
    check_hostname = checks.boolean("ssl_check_hostname", options["ssl_check_hostname"])
    if not use_ssl:
        given = [name for name, value in ssl_options.items() if value is not None]
        if cert_reqs != "required":
            given.append("ssl_cert_reqs")
        if given:
            raise checks.error(given[0], "given but TLS is off; use a rediss:// URL or ssl=True")
    if (ssl_options["ssl_certfile"] is None) != (ssl_options["ssl_keyfile"] is None):
        raise checks.error(
            "ssl_keyfile", "a client certificate needs both ssl_certfile and ssl_keyfile"
        )

    sentinel_username = checks.text(
        "sentinel_username", options["sentinel_username"], allow_empty=True, allow_none=True
    )
    sentinel_password = checks.text(
        "sentinel_password",
        options["sentinel_password"],
        allow_empty=True,
        allow_none=True,
        secret=True,
    )
    if mode != "sentinel":
        for name, value in (
            ("sentinel_username", sentinel_username),
            ("sentinel_password", sentinel_password),
        ):
            if value is not None:
                raise checks.error(
                    name, "only applies to Sentinel (redis+sentinel:// or sentinels=)"
                )

    return Settings(
        mode=mode,
        nodes=nodes,
        unix_path=unix_path,
        db=database,
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
        socket_timeout=checks.seconds("socket_timeout", options["socket_timeout"], allow_none=True),
        socket_connect_timeout=checks.seconds(
            "socket_connect_timeout", options["socket_connect_timeout"], allow_none=True
        ),
        max_connections=checks.integer(
            "max_connections", options["max_connections"], allow_none=True
        ),
        health_check_interval=checks.seconds(
            "health_check_interval", options["health_check_interval"], allow_zero=True
        ),
        retries=checks.integer("retries", options["retries"], minimum=0),
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
