"""Option validation for the postgres engine: a URL and keyword options into `Settings`.

Everything here runs at construction and never touches the network, so an
app can start while PostgreSQL is down. A malformed URL or option raises
`ConfigurationError` whose `field` names the option (`engine_options.url`),
and no message ever shows a password: a URL is echoed through `mask_url`,
and libpq's own parse errors are not echoed at all (they quote the string).

Where the server is comes from `url` (a `postgresql://` URL or a libpq
`key=value` string) and/or the fields `host`, `port`, `dbname`, `user`,
`password`; a field that is set wins over the URL's value, as with
`psycopg.connect(url, host=...)`. What neither names comes from libpq's
defaults and environment (`PGHOST`, `PGUSER`, `PGPASSWORD`, `~/.pgpass`...).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from sessionware import OptionChecker

__all__ = [
    "DEFAULT_SCHEMA",
    "DEFAULT_TABLE",
    "SSLMODES",
    "Settings",
    "build_settings",
    "check_identifier",
    "mask_url",
]

options = OptionChecker("postgres", "engine")

DEFAULT_SCHEMA = "public"
DEFAULT_TABLE = "sessionware_session"
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_SCHEMES = ("postgresql://", "postgres://")
#: Lowercase, so the name is the same quoted or not (psql users type it unquoted).
#: The table's longest derived name, its expiry index `<table>_expires_at`, must
#: fit PostgreSQL's 63-byte identifiers.
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_IDENTIFIER_MAX = {"schema": 63, "table": 52}
DEFAULT_CONNECT_TIMEOUT = 3.0
DEFAULT_APPLICATION_NAME = "sessionware"


def mask_url(url: str) -> str:
    """`url` with any password replaced by `***` (URL or `key=value` form)."""
    masked = re.sub(r"(://[^:/?#@\s]*:)[^@/?#\s]*@", r"\1***@", url)
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", masked, flags=re.I)


def check_identifier(kind: str, value: object) -> str:
    """A schema or table name: lowercase letters, digits and `_`, not starting with a digit."""
    limit = _IDENTIFIER_MAX[kind]
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value) or len(value) > limit:
        raise options.error(
            kind,
            f"{value!r} is not a usable {kind} name: use lowercase letters, digits and _, "
            f"not starting with a digit, at most {limit} characters",
        )
    if kind == "schema" and value.startswith("pg_"):
        raise options.error(kind, f"{value!r}: schema names starting with pg_ are reserved")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated engine options: the connection string, where it points, the pool's sizes."""

    #: The libpq connection string the pool connects with (holds the password).
    conninfo: str = field(repr=False)
    #: Where the sessions live, as a URL without the password (for errors and logs).
    address: str
    schema: str
    table: str
    unlogged: bool
    create: bool
    statement_timeout: float | None
    pool_min_size: int
    pool_size: int
    pool_timeout: float
    pool_max_idle: float
    batch_size: int
    prepare: bool


def _url_parameters(url: object) -> dict[str, str]:
    if url is None:
        return {}
    if not isinstance(url, str) or not url.strip():
        raise options.error("url", "expected a postgresql:// URL or a libpq key=value string")
    shown = mask_url(url)
    if "://" in url and not url.startswith(_SCHEMES):
        scheme = url.split("://", 1)[0]
        hint = (
            "; drop the driver suffix (SQLAlchemy's +psycopg), libpq reads plain postgresql://"
            if scheme.startswith(("postgresql+", "postgres+"))
            else ""
        )
        raise options.error(
            "url",
            f"{shown} is not a PostgreSQL URL: it must start with postgresql:// or "
            f"postgres://{hint}",
        )
    try:
        parsed = conninfo_to_dict(url)
    except Exception as exc:  # psycopg.ProgrammingError; its text quotes the string
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "password" in url.lower() or "@" in url:
            reason = mask_url(reason)
            for secret in _secrets_in(url):
                reason = reason.replace(secret, "***")
        raise options.error("url", f"{shown} cannot be parsed by libpq: {reason}") from None
    return {name: str(value) for name, value in parsed.items() if value is not None}


def _secrets_in(url: str) -> list[str]:
    found = re.findall(r"://[^:/?#@\s]*:([^@/?#\s]+)@", url)
    found += re.findall(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", url, flags=re.I)
    return [s for s in found if s]


def _port(value: object, option: str) -> str:
    """One port, or a comma-separated list (one per host; an empty entry: the default)."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if isinstance(text, str) and text:
        parts = [p.strip() for p in text.split(",")]
        if all((p.isdigit() and 0 < int(p) < 65536) or (not p and len(parts) > 1) for p in parts):
            return ",".join(parts)
    raise options.error(
        option, f"expected a port number 1-65535 (or a list, one per host), got {value!r}"
    )


def _url_seconds(value: str, name: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise options.error(
            "url", f"the URL's {name}={value!r} is not a positive number of seconds"
        )
    return seconds


def _timeout_ms(option: str, value: object) -> float | None:
    seconds = options.seconds(option, value, allow_none=True)
    if seconds is not None and seconds < 0.001:
        raise options.error(option, f"expected at least 0.001 seconds or None, got {value!r}")
    return seconds


def _address(params: dict[str, str]) -> str:
    """`postgresql://user@host:port,host:port/dbname`, never with the password."""
    user = params.get("user") or os.environ.get("PGUSER", "")
    hosts = (params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST", "")).split(
        ","
    )
    ports = (params.get("port") or os.environ.get("PGPORT", "5432")).split(",")
    shown = []
    for index, host in enumerate(hosts):
        port = (ports[index] if index < len(ports) else ports[-1]) or "5432"
        if not host:
            host = "(default socket)"
        elif host.startswith("/") or ":" in host:
            host = f"[{host}]"
        shown.append(f"{host}:{port}")
    dbname = params.get("dbname") or os.environ.get("PGDATABASE", "") or user
    tls = f"?sslmode={params['sslmode']}" if params.get("sslmode") else ""
    return f"postgresql://{user + '@' if user else ''}{','.join(shown)}/{dbname}{tls}"


def _statement_options(existing: str | None, statement_timeout: float | None) -> str | None:
    """libpq's `options` startup parameter with the statement timeout added."""
    parts = [existing] if existing else []
    if statement_timeout is not None:
        parts.append(f"-c statement_timeout={max(1, round(statement_timeout * 1000))}")
    return " ".join(parts) or None


def build_settings(given: dict[str, Any]) -> Settings:
    """Check every option (no I/O) and compose the connection string; see the engine's doc."""
    params = _url_parameters(given["url"])
    for option in ("host", "dbname", "user"):
        value = options.text(option, given[option], allow_none=True)
        if value is not None:
            params[option] = value
    if given["port"] is not None:
        params["port"] = _port(given["port"], "port")
    elif "port" in params:
        params["port"] = _port(params["port"], "url")
    password = options.text("password", given["password"], allow_none=True, secret=True)
    if password is not None:
        params["password"] = password

    sslmode = options.one_of(
        "sslmode", given["sslmode"] or params.get("sslmode", "prefer"), SSLMODES, ignore_case=True
    )
    if given["sslmode"] is not None or "sslmode" in params:
        params["sslmode"] = sslmode
    for option in ("sslrootcert", "sslcert", "sslkey"):
        path = options.file(option, given[option], allow_none=True)
        if path is not None:
            params[option] = path
    if params.get("sslcert") and not params.get("sslkey"):
        raise options.error(
            "sslkey", "sslcert is set without sslkey (the client certificate's key)"
        )
    if sslmode in ("verify-ca", "verify-full") and not params.get("sslrootcert"):
        default_root = os.path.expanduser("~/.postgresql/root.crt")
        if not os.path.isfile(default_root) and not os.environ.get("PGSSLROOTCERT"):
            raise options.error(
                "sslrootcert",
                f"sslmode={sslmode} verifies the server's certificate: set sslrootcert to the "
                "CA certificate file (or sslrootcert='system' on libpq 16+)",
            )

    if given["connect_timeout"] is not None:
        connect_timeout = options.seconds("connect_timeout", given["connect_timeout"])
    elif "connect_timeout" in params:
        connect_timeout = _url_seconds(params["connect_timeout"], "connect_timeout")
    else:
        connect_timeout = DEFAULT_CONNECT_TIMEOUT
    # libpq counts whole seconds and treats anything under 2 as 2.
    params["connect_timeout"] = str(max(2, math.ceil(connect_timeout)))
    if given["application_name"] is not None:
        params["application_name"] = options.text("application_name", given["application_name"])
    else:
        params.setdefault("application_name", DEFAULT_APPLICATION_NAME)
    statement_timeout = _timeout_ms("statement_timeout", given["statement_timeout"])
    startup = _statement_options(params.pop("options", None), statement_timeout)
    if startup is not None:
        params["options"] = startup

    pool_size = options.integer("pool_size", given["pool_size"], what="connections per pool")
    pool_min_size = options.integer(
        "pool_min_size", given["pool_min_size"], minimum=0, what="connections kept open"
    )
    if pool_min_size > pool_size:
        raise options.error("pool_min_size", f"{pool_min_size} is more than pool_size={pool_size}")
    try:
        conninfo = make_conninfo("", **params)
    except Exception as exc:  # a value libpq's own parser refuses
        raise options.error("url", f"{mask_url(str(exc))}") from None
    return Settings(
        conninfo=conninfo,
        address=_address(params),
        schema=check_identifier("schema", given["schema"]),
        table=check_identifier("table", given["table"]),
        unlogged=options.boolean("unlogged", given["unlogged"]),
        create=options.boolean("create", given["create"]),
        statement_timeout=statement_timeout,
        pool_min_size=pool_min_size,
        pool_size=pool_size,
        pool_timeout=options.seconds("pool_timeout", given["pool_timeout"]),
        pool_max_idle=options.seconds("pool_max_idle", given["pool_max_idle"]),
        batch_size=options.integer("batch_size", given["batch_size"], what="rows per batch"),
        prepare=options.boolean("prepare", given["prepare"]),
    )
