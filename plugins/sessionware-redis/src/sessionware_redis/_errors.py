"""How redis-py failures become sessionware errors.

Anything that means "Redis cannot serve us right now" — refused or dropped
connections, timeouts, a server still loading its data, no primary known to
Sentinel, a cluster that is down or resharding, a replica that turned
read-only in a failover, a full server, refused credentials — becomes
``EngineUnavailable`` carrying the address, so the
middleware applies its outage policy (503, or an empty unsaved session).
A mistake only the configuration can fix (the key prefix collides with
another application's data, a cluster addressed as a single node) is a
``ConfigurationError``; anything else a plain
``SessionwareError`` naming the operation.
"""

from __future__ import annotations

from redis import exceptions as rex

from sessionware import ConfigurationError, EngineUnavailable, SessionwareError

__all__ = ["FAILURES", "translate"]

#: What the engine catches around every Redis call.
FAILURES: tuple[type[BaseException], ...] = (rex.RedisError, rex.RedisClusterException, OSError)

_CREDENTIALS: tuple[type[BaseException], ...] = (
    rex.AuthenticationError,
    rex.AuthenticationWrongNumberOfArgsError,
    rex.NoPermissionError,
    *((rex.AuthorizationError,) if hasattr(rex, "AuthorizationError") else ()),
)
_OUTAGE: tuple[type[BaseException], ...] = (
    rex.ConnectionError,  # also Sentinel's MasterNotFoundError, BusyLoadingError
    rex.TimeoutError,
    rex.ClusterError,  # also ClusterDownError, MasterDownError
    rex.TryAgainError,
    rex.ReadOnlyError,
    rex.OutOfMemoryError,
    OSError,
)
_RESPONSES_MEANING_OUTAGE = ("LOADING", "MASTERDOWN", "BUSY", "CLUSTERDOWN", "TRYAGAIN")


def _hint(exc: BaseException) -> str:
    if isinstance(exc, rex.OutOfMemoryError):
        return (
            "Redis reached maxmemory and refuses writes; raise maxmemory or use a "
            "volatile-* eviction policy"
        )
    if isinstance(exc, rex.ReadOnlyError):
        return "the server is a read-only replica (a failover in progress?)"
    if isinstance(exc, (rex.ClusterError, rex.TryAgainError, rex.RedisClusterException)):
        return "check that every cluster node is up and all slots are covered"
    if isinstance(exc, (rex.TimeoutError, TimeoutError)):
        return (
            "the server did not answer within socket_timeout; check that it is up and "
            "not overloaded"
        )
    return (
        "check that the server is running and reachable from this host, and the engine's "
        "url/host/port options"
    )


def translate(exc: BaseException, address: str, operation: str) -> SessionwareError:
    """The sessionware error for ``exc`` raised by ``operation`` against ``address``."""
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, _CREDENTIALS):
        return EngineUnavailable(
            f"Redis at {address} refused this client's credentials during {operation} "
            f"({detail}); check the username/password options (or the URL's) and the "
            "server's ACL",
            address=address,
        )
    message = str(exc)
    if isinstance(exc, rex.ResponseError) and message.startswith("WRONGTYPE"):
        return ConfigurationError(
            f"a key under the session prefix at {address} holds a non-string Redis value "
            f"({detail}): another application writes under this prefix. Give sessionware a "
            "prefix of its own (the engine's prefix option)",
            field="engine_options.prefix",
        )
    if isinstance(exc, rex.AskError) or (  # MovedError is an AskError
        isinstance(exc, rex.ResponseError) and message.startswith(("MOVED ", "ASK "))
    ):
        return ConfigurationError(
            f"Redis at {address} is a Cluster node ({detail}); configure the engine with "
            "cluster=True or a redis+cluster:// URL",
            field="engine_options.cluster",
        )
    if isinstance(exc, rex.RedisClusterException) and "not enabled" in message:
        return ConfigurationError(
            f"Redis at {address} is not a Cluster node ({detail}); drop cluster=True "
            "(or ?cluster=true) for a single server",
            field="engine_options.cluster",
        )
    if (
        isinstance(exc, _OUTAGE)
        or (isinstance(exc, rex.ResponseError) and message.startswith(_RESPONSES_MEANING_OUTAGE))
        # Left over after "not enabled": topology failures (no reachable node, slot not
        # covered); the commands sent here are single-key and always routable.
        or isinstance(exc, rex.RedisClusterException)
    ):
        return EngineUnavailable(
            f"cannot use Redis at {address} for {operation} ({detail}); {_hint(exc)}",
            address=address,
        )
    return SessionwareError(
        f"Redis at {address} failed {operation} ({detail}); this is not an outage sessionware "
        "knows how to handle: check the server's log and the engine's options"
    )
