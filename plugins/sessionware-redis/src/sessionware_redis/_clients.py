"""redis-py clients built from ``Settings``.

One function per flavour (blocking, asyncio) returns a ``SyncClient`` or
``AsyncClient``: the redis-py client the engine sends commands to, plus
how to close everything it owns (a Sentinel client also owns its connections
to the sentinels). Single node, Sentinel and Cluster differ only here; the
engine sends the same single-key commands to all three and never checks the
client's type. ``LoopClient`` holds one event loop's ``AsyncClient``
and closes it when that loop shuts down.

redis-py connects lazily for single node and Sentinel; the blocking
``RedisCluster`` discovers the cluster in its constructor, so the engine
builds clients on first use, inside its error handling, never at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.cluster
import redis.retry
import redis.sentinel
from redis.backoff import ExponentialBackoff

from ._options import Settings
from ._scripts import Scripts

try:  # redis-py names itself to the server (CLIENT SETINFO) from its metadata
    from redis.driver_info import DriverInfo as _DriverInfo
except ImportError:  # pragma: no cover - redis-py before driver_info
    _DriverInfo = None  # type: ignore[assignment,misc]
#: Built once, here: the asyncio client is made lazily on the event loop,
#: where redis-py would otherwise read its version from disk for every client.
_DRIVER_INFO: Any = _DriverInfo() if _DriverInfo is not None else None

__all__ = ["AsyncClient", "LoopClient", "SyncClient", "build_async", "build_sync"]

# redis-py leaves these constructors unannotated; mypy --strict would refuse the calls.
_ClusterNode: Any = redis.cluster.ClusterNode
_Sentinel: Any = redis.sentinel.Sentinel
_AsyncSentinel: Any = redis.asyncio.sentinel.Sentinel

#: Between retries of a failed connection: 10 ms, doubling, never more than 100 ms, so
#: a request during an outage fails in milliseconds instead of hanging.
_BACKOFF_BASE = 0.01
_BACKOFF_CAP = 0.1


class SyncClient:
    """A blocking redis-py client and what closing it involves."""

    __slots__ = ("_closers", "client", "scripts")

    def __init__(self, client: Any, closers: list[Callable[[], object]]) -> None:
        #: The client commands are sent to (``Redis`` or ``RedisCluster``).
        self.client = client
        #: The engine's Lua scripts, registered on this client (no I/O until first run).
        self.scripts = Scripts(client)
        self._closers = closers

    def close(self) -> None:
        """Close the client's pool and any sentinel connections; errors are ignored."""
        for close in self._closers:
            with contextlib.suppress(Exception):  # closing a dead server's sockets may fail
                close()


class AsyncClient:
    """An asyncio redis-py client (bound to one event loop) and how to close it."""

    __slots__ = ("_closers", "client", "prepare")

    def __init__(
        self,
        client: Any,
        closers: list[Callable[[], Awaitable[object]]],
        prepare: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        #: The client commands are awaited on (``Redis`` or ``RedisCluster``).
        self.client = client
        self._closers = closers
        #: To await once, alone, before the first command (``None``: nothing to do).
        self.prepare = prepare

    async def aclose(self) -> None:
        """Close the client's pool and any sentinel connections; errors are ignored."""
        for close in self._closers:
            with contextlib.suppress(Exception):
                await close()


def _connection_kwargs(settings: Settings) -> dict[str, Any]:
    """Per-connection options shared by every client flavour."""
    kwargs: dict[str, Any] = {
        "socket_timeout": settings.socket_timeout,
        "socket_connect_timeout": settings.socket_connect_timeout,
        "health_check_interval": settings.health_check_interval,
    }
    kwargs.update(
        _present(
            driver_info=_DRIVER_INFO,
            username=settings.username,
            password=settings.password,
            max_connections=settings.max_connections,
        )
    )
    kwargs.update(_tls_kwargs(settings))
    return kwargs


def _present(**options: Any) -> dict[str, Any]:
    """The options that are set: redis-py's own default applies to the others."""
    return {name: value for name, value in options.items() if value is not None}


def _tls_kwargs(settings: Settings) -> dict[str, Any]:
    if not settings.ssl:
        return {}
    kwargs: dict[str, Any] = {
        "ssl": True,
        "ssl_cert_reqs": settings.ssl_cert_reqs,
        "ssl_check_hostname": settings.ssl_check_hostname,
    }
    kwargs.update(
        _present(
            ssl_ca_certs=settings.ssl_ca_certs,
            ssl_certfile=settings.ssl_certfile,
            ssl_keyfile=settings.ssl_keyfile,
        )
    )
    return kwargs


def _sentinel_kwargs(settings: Settings) -> dict[str, Any]:
    """Options of the connections to the sentinels themselves (not to the primary)."""
    kwargs: dict[str, Any] = {
        "socket_timeout": settings.socket_timeout,
        "socket_connect_timeout": settings.socket_connect_timeout,
    }
    kwargs.update(
        _present(username=settings.sentinel_username, password=settings.sentinel_password)
    )
    kwargs.update(_tls_kwargs(settings))
    return kwargs


def _backoff() -> ExponentialBackoff:
    return ExponentialBackoff(cap=_BACKOFF_CAP, base=_BACKOFF_BASE)


def build_sync(settings: Settings) -> SyncClient:
    """A blocking client; for a Cluster this contacts the startup nodes (may raise)."""
    kwargs = _connection_kwargs(settings)
    retry = redis.retry.Retry(_backoff(), settings.retries)
    if settings.mode == "cluster":
        nodes = [_ClusterNode(host, port) for host, port in settings.nodes]
        cluster = redis.cluster.RedisCluster(startup_nodes=nodes, retry=retry, **kwargs)
        return SyncClient(cluster, [cluster.close])
    if settings.mode == "sentinel":
        manager = _Sentinel(
            list(settings.nodes), sentinel_kwargs=_sentinel_kwargs(settings), **kwargs
        )
        client = manager.master_for(settings.service_name, db=settings.db, retry=retry)
        return SyncClient(client, [client.close, *(s.close for s in manager.sentinels)])
    if settings.unix_path is not None:
        kwargs["unix_socket_path"] = settings.unix_path
    else:
        kwargs["host"], kwargs["port"] = settings.nodes[0]
    client = redis.Redis(db=settings.db, retry=retry, **kwargs)
    return SyncClient(client, [client.close])


def build_async(settings: Settings) -> AsyncClient:
    """An asyncio client for the running loop; connects on its first command."""
    kwargs = _connection_kwargs(settings)
    retry = redis.asyncio.retry.Retry(_backoff(), settings.retries)
    if settings.mode == "cluster":
        nodes = [redis.asyncio.cluster.ClusterNode(host, port) for host, port in settings.nodes]
        cluster = redis.asyncio.cluster.RedisCluster(startup_nodes=nodes, retry=retry, **kwargs)
        # Discover the cluster before commands run concurrently: in redis-py 8.1, commands
        # gathered on a client that is not initialized yet fail with AttributeError
        # ('NoneType' object has no attribute 'writelines') while nodes are replaced.
        return AsyncClient(cluster, [cluster.aclose], prepare=cluster.initialize)
    if settings.mode == "sentinel":
        manager = _AsyncSentinel(
            list(settings.nodes), sentinel_kwargs=_sentinel_kwargs(settings), **kwargs
        )
        client = manager.master_for(settings.service_name or "", db=settings.db, retry=retry)
        return AsyncClient(client, [client.aclose, *(s.aclose for s in manager.sentinels)])
    if settings.unix_path is not None:
        kwargs["unix_socket_path"] = settings.unix_path
    else:
        kwargs["host"], kwargs["port"] = settings.nodes[0]
    client = redis.asyncio.Redis(db=settings.db, retry=retry, **kwargs)
    return AsyncClient(client, [client.aclose])


class LoopClient:
    """The asyncio client of one event loop, closed when that loop shuts down.

    ``watch`` starts an async generator that waits at its ``yield``; event
    loops close such generators in ``shutdown_asyncgens`` (``asyncio.run``,
    ``asyncio.Runner``, uvicorn), and its ``finally`` closes the client on
    its own loop — the only place an asyncio connection can be closed
    cleanly.
    """

    __slots__ = ("_preparing", "abandoned", "client", "guard", "ready", "redis", "scripts")

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        #: The redis-py client itself (the hot path reads this one attribute).
        self.redis: Any = client.client
        #: The engine's Lua scripts, registered on this loop's client.
        self.scripts = Scripts(client.client)
        #: False until the client's one-time preparation (cluster discovery) succeeded.
        self.ready = client.prepare is None
        self._preparing: asyncio.Lock | None = None
        self.guard: AsyncGenerator[None, None] | None = None
        self.abandoned = False

    async def prepare(self) -> None:
        """Run the client's preparation once; concurrent callers wait for it."""
        if self._preparing is None:
            self._preparing = asyncio.Lock()
        async with self._preparing:
            if not self.ready and self.client.prepare is not None:
                await self.client.prepare()  # raises during an outage; retried next call
            self.ready = True

    async def _until_loop_ends(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            if not self.abandoned:
                await self.client.aclose()

    async def watch(self) -> None:
        self.guard = self._until_loop_ends()
        await anext(self.guard)

    async def aclose(self) -> None:
        """Close the client now, on its own (running) loop."""
        guard = self.guard
        if guard is None:
            await self.client.aclose()
        else:
            await guard.aclose()

    def abandon(self) -> None:
        """Forget a client whose loop closed without shutting down its async generators."""
        self.abandoned = True
        guard = self.guard
        if guard is not None:
            closer = guard.aclose()
            with contextlib.suppress(StopIteration):
                closer.send(None)  # the finally runs without awaiting anything
