"""How psycopg failures become sessionware errors.

Anything that means "PostgreSQL cannot serve us right now" — a refused or
dropped connection, a connect or statement timeout, a server shutting down
(`57P01` admin shutdown, `57P02`, `57P03`), a read-only server after a
failover (`25006`), too many clients, a full disk, refused credentials, an
exhausted pool — becomes `EngineUnavailable` carrying the address (never the
password), so the middleware applies its outage policy (503, or an empty
unsaved session). Missing privileges are a `ConfigurationError` naming the
grants; anything else a plain `SessionwareError` naming the operation.
"""

from __future__ import annotations

from psycopg import errors as pge

from sessionware import ConfigurationError, EngineUnavailable, SessionwareError

from ._pools import Exhausted, Unreachable

__all__ = ["FAILURES", "spoils_the_pool", "translate"]

#: What the engine catches around every use of the database.
FAILURES: tuple[type[BaseException], ...] = (pge.Error, Unreachable, Exhausted, OSError)

#: Errors after which the pool's other idle connections are suspect too: the
#: server went away (restart, failover) or turned read-only (a demoted primary).
_SPOILING: tuple[type[BaseException], ...] = (
    pge.AdminShutdown,
    pge.CrashShutdown,
    pge.CannotConnectNow,
    pge.ReadOnlySqlTransaction,
)


#: Everything else that means "not now" rather than "not like this".
_OUTAGE: tuple[type[BaseException], ...] = (
    pge.OperationalError,  # connections, timeouts, class 57 and 53, pool errors
    pge.InterfaceError,  # a connection closed under the engine
    OSError,
    *_SPOILING,
    pge.DiskFull,
    pge.InsufficientResources,
)


def spoils_the_pool(exc: BaseException, broken: bool) -> bool:
    """True when the pool's idle connections should be dropped and made again."""
    return broken or isinstance(exc, _SPOILING)


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no detail"
    text = " ".join(str(exc).split())
    sqlstate = getattr(exc, "sqlstate", None)
    name = type(exc).__name__
    return (
        f"{name} {sqlstate}: {text}" if sqlstate and text else f"{name}: {text}" if text else name
    )


def _hint(exc: BaseException) -> str:
    if isinstance(exc, pge.ReadOnlySqlTransaction):
        return (
            "the server is read-only: a standby, or the old primary after a failover; point "
            "the URL at the primary (libpq: several hosts and target_session_attrs=read-write)"
        )
    if isinstance(exc, pge.QueryCanceled):
        return "a statement ran past statement_timeout; check the server's load and locks"
    if isinstance(exc, pge.InvalidAuthorizationSpecification | pge.InvalidPassword):
        return "the server refused the credentials; check the user and password (URL or options)"
    if isinstance(exc, pge.TooManyConnections):
        return "the server has no connection slot left; lower pool_size or raise max_connections"
    if isinstance(exc, pge.DiskFull | pge.InsufficientResources):
        return "the server is out of disk or memory"
    return "check that the server is running and reachable from this host, and the URL"


def translate(exc: BaseException, address: str, operation: str) -> SessionwareError:
    """The sessionware error for `exc`, raised by `operation` against `address`."""
    if isinstance(exc, Exhausted):
        return EngineUnavailable(
            f"the connection pool for PostgreSQL at {address} is exhausted: every connection "
            f"stayed busy past pool_timeout during {operation}; raise pool_size (or the "
            "server's max_connections), or look for slow statements",
            address=address,
        )
    if isinstance(exc, Unreachable):
        cause = exc.error
        hint = _hint(cause) if cause is not None else _hint(exc)
        return EngineUnavailable(
            f"cannot connect to PostgreSQL at {address} for {operation} ({_describe(cause)}); "
            f"{hint}",
            address=address,
        )
    if isinstance(exc, pge.InsufficientPrivilege):
        return ConfigurationError(
            f"PostgreSQL at {address} refused {operation} ({_describe(exc)}): the engine's "
            "user lacks privileges on the session tables; grant them (python -m "
            "sessionware_postgres create-schema --print --grant-to ROLE shows the GRANTs)",
            field="engine_options.url",
        )
    if isinstance(exc, _OUTAGE):
        return EngineUnavailable(
            f"cannot use PostgreSQL at {address} for {operation} ({_describe(exc)}); {_hint(exc)}",
            address=address,
        )
    return SessionwareError(
        f"PostgreSQL at {address} failed {operation} ({_describe(exc)}); this is not an "
        "outage sessionware knows how to handle: check the server's log and the engine's options"
    )
