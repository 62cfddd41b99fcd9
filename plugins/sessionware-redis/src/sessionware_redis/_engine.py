"""RedisEngine: sessions as Redis strings with a TTL, for apps on many machines.

One key per session, ``<prefix><session key>``, holding the serializer's
bytes; the key's TTL is the session's expiry, so Redis removes expired
sessions by itself. Create is ``SET NX``, update ``SET XX`` (a vanished
session is never recreated), both atomic on the server.

Versioned saves (``save_versioned``) are one Lua script on the session's own
key that compares the SHA-1 of the stored value with the version the writer
loaded and writes only if they match; session locks are ``SET
<prefix>lock:<key> <token> NX PX <ttl>``, released by a compare-and-delete
script (``_scripts``); both live in the ``VersionedOps`` mixin
(``_versioned``). One key per command or script, so all of it works on a
Cluster.

Clients are built lazily (the app starts while Redis is down): once per
process for blocking calls (dropped in a forked child) and once per event
loop for asyncio (redis.asyncio pools are bound to the loop that created
them); a loop's client is closed when the loop shuts down its async
generators, as ``asyncio.run`` and uvicorn do. Option parsing lives in
``_options``, client construction and each loop's client (``LoopClient``)
in ``_clients``, error mapping in ``_errors``, versioned saves and session
locks in ``_versioned``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from sessionware import (
    Capabilities,
    CreateError,
    EngineBase,
    PerLoop,
    SessionwareError,
    UpdateError,
)

from ._clients import LoopClient, SyncClient, build_async, build_sync
from ._errors import FAILURES, translate
from ._options import DEFAULT_PREFIX, Settings, build_settings
from ._versioned import VersionedOps

__all__ = ["RedisEngine"]

logger = logging.getLogger("sessionware.redis")


class RedisEngine(VersionedOps, EngineBase):
    """Sessions in Redis — single node, Sentinel or Cluster — with native asyncio.

    Where Redis is: ``url`` (``redis://``, ``rediss://``, ``unix://``,
    ``redis+sentinel://``, ``redis+cluster://``), or ``host``/``port``/``db``,
    ``sentinels`` + ``service_name``, ``cluster=True``. Credentials:
    ``username``, ``password`` (and ``sentinel_username``/``sentinel_password``).
    TLS: ``ssl`` or ``rediss://``, with ``ssl_ca_certs``, ``ssl_certfile``,
    ``ssl_keyfile``, ``ssl_cert_reqs``, ``ssl_check_hostname``. Keys:
    ``prefix`` (``"sessionware:"``). Connections: ``socket_timeout`` (2 s),
    ``socket_connect_timeout`` (2 s), ``max_connections`` (per pool; None:
    redis-py's default), ``health_check_interval`` (0: off), ``retries``
    (1 retry of a failed connection, 10-100 ms apart).

    Everything is validated at construction without contacting Redis; a
    bad value raises ``ConfigurationError`` naming the
    option. Redis being unreachable raises
    ``EngineUnavailable`` with ``address``.
    """

    name: ClassVar[str] = "redis"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_side=True,
        clear_expired=False,
        native_async=True,
        local=False,
        shared_across_processes=True,
        versioned=True,
        locking=True,
    )

    def __init__(
        self,
        *,
        url: str | None = None,
        host: str | None = None,
        port: int | None = None,
        db: int | None = None,
        username: str | None = None,
        password: str | None = None,
        ssl: bool | None = None,
        ssl_ca_certs: str | os.PathLike[str] | None = None,
        ssl_certfile: str | os.PathLike[str] | None = None,
        ssl_keyfile: str | os.PathLike[str] | None = None,
        ssl_cert_reqs: str = "required",
        ssl_check_hostname: bool = True,
        sentinels: Sequence[str | tuple[str, int]] | None = None,
        service_name: str | None = None,
        sentinel_username: str | None = None,
        sentinel_password: str | None = None,
        cluster: bool = False,
        prefix: str = DEFAULT_PREFIX,
        socket_timeout: float | None = 2.0,
        socket_connect_timeout: float | None = 2.0,
        max_connections: int | None = None,
        health_check_interval: float = 0,
        retries: int = 1,
    ) -> None:
        options = dict(locals())
        del options["self"]
        #: The validated options (the password is left out of its repr).
        self.settings: Settings = build_settings(options)
        #: The prefix of every session key in Redis.
        self.prefix: str = self.settings.prefix
        #: Where the sessions live, without credentials (also ``EngineUnavailable.address``).
        self.address: str = self.settings.address

        self._lock = threading.Lock()
        self._sync: SyncClient | None = None
        #: Each event loop's client (the core's ``PerLoop``: made on first use in a
        #: loop, closed on its own loop, abandoned with a loop that closed).
        self._loops: PerLoop[LoopClient] = PerLoop(abandon=LoopClient.abandon)
        # Clients inherited through fork: never used or closed by the child (their
        # sockets belong to the parent), only kept alive.
        self._inherited: list[object] = []

    def __repr__(self) -> str:
        return f"<RedisEngine {self.address} prefix={self.prefix!r}>"

    # -- clients -----------------------------------------------------------------

    def _handle(self) -> SyncClient:
        """This process's blocking client (and its scripts), built on first use."""
        handle = self._sync
        if handle is None:
            with self._lock:
                handle = self._sync
                if handle is None:
                    handle = self._sync = build_sync(self.settings)
        return handle

    def _client(self) -> Any:
        return self._handle().client

    async def _aentry(self) -> LoopClient:
        """The running loop's client (and its scripts), ready for commands."""
        entry = self._loops.current()
        if entry is None:
            entry = await self._loops.attach(self._new_loop_client)
        if not entry.ready:
            await entry.prepare()
        return entry

    async def _aclient(self) -> Any:
        return (await self._aentry()).redis

    async def _new_loop_client(self) -> LoopClient:
        """A client for the running loop, closed when that loop shuts down."""
        entry = LoopClient(build_async(self.settings))
        await entry.watch()
        return entry

    def after_fork_in_child(self) -> None:
        """Forget the parent's clients (kept alive, never used or closed) and lock."""
        self._inherited.append(self._sync)
        self._sync = None
        self._loops.after_fork_in_child()
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the blocking pool and every event loop's client.

        A client whose loop is running in this thread is closed by a task
        scheduled on it; one running in another thread, by a coroutine sent
        to it. Using the engine afterwards opens new connections, so closing
        twice is harmless.
        """
        with self._lock:
            handle, self._sync = self._sync, None
        if handle is not None:
            handle.close()
        self._loops.close()

    async def aclose(self) -> None:
        """Close this loop's client (awaited), then everything else as ``close`` does."""
        await self._loops.aclose()
        self.close()

    # -- helpers -----------------------------------------------------------------

    def _failed(self, exc: BaseException, command: str) -> SessionwareError:
        return translate(exc, self.address, command)

    def _ttl_ms(self, expires_at: float) -> int | None:
        """Milliseconds until ``expires_at`` (rounded up); ``None`` if it has passed."""
        if (
            isinstance(expires_at, bool)
            or not isinstance(expires_at, (int, float))
            or not math.isfinite(expires_at)
        ):
            raise TypeError(f"expires_at must be a finite POSIX timestamp, got {expires_at!r}")
        ms = math.ceil((expires_at - self.now()) * 1000)
        return ms if ms > 0 else None

    def _refused(self, key: str, must_create: bool) -> SessionwareError:
        if must_create:
            return CreateError(f"session key {key[:6]}... is already taken in {self.address}")
        return UpdateError(
            f"session {key[:6]}... was deleted or expired in {self.address} before this "
            "update; it is not recreated"
        )

    @staticmethod
    def _check_data(data: object) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"session data must be bytes, got {type(data).__name__}")

    def _plan_save(self, key: str, data: bytes, expires_at: float) -> tuple[str, int | None]:
        """The Redis key and the TTL in ms (``None``: already expired) that a save sends.

        Shared by ``save`` and ``asave``, which differ only in their I/O; the
        arguments are checked first, so both refuse the same things the same way.
        """
        self.check_key(key)
        self._check_data(data)
        return self.prefix + key, self._ttl_ms(expires_at)

    # -- the engine protocol, blocking ---------------------------------------------

    def load(self, key: str) -> bytes | None:
        """``GET``; ``None`` for a missing, expired or invalid key. Never creates."""
        if not self.is_valid_key(key):
            return None
        try:
            value = self._client().get(self.prefix + key)
        except FAILURES as exc:
            raise self._failed(exc, "GET") from exc
        return None if value is None else bytes(value)

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """``SET NX`` (create) or ``SET XX`` (update) with ``PX`` = time left until ``expires_at``.

        An ``expires_at`` already past stores nothing live: a create only
        checks the key is free, an update deletes the session.
        """
        name, ttl = self._plan_save(key, data, expires_at)
        try:
            client = self._client()
            if ttl is None:
                done = client.exists(name) == 0 if must_create else client.delete(name) == 1
            else:
                done = bool(client.set(name, data, px=ttl, nx=must_create, xx=not must_create))
        except FAILURES as exc:
            raise self._failed(exc, "SET") from exc
        if not done:
            raise self._refused(key, must_create)
        return key

    def exists(self, key: str) -> bool:
        """``EXISTS``: an unexpired session is stored under ``key``."""
        if not self.is_valid_key(key):
            return False
        try:
            return bool(self._client().exists(self.prefix + key))
        except FAILURES as exc:
            raise self._failed(exc, "EXISTS") from exc

    def delete(self, key: str) -> None:
        """``DEL``; nothing happens for an absent or invalid key."""
        if not self.is_valid_key(key):
            return
        try:
            self._client().delete(self.prefix + key)
        except FAILURES as exc:
            raise self._failed(exc, "DEL") from exc

    def clear_expired(self) -> int:
        """Always 0: Redis removes sessions itself when their TTL runs out."""
        return 0

    def health(self) -> None:
        """``PING`` (each primary of a Cluster); raise EngineUnavailable if Redis does not answer.

        A server that answers but is configured otherwise than the options
        say (a Cluster node without ``cluster=True``) raises the same
        ``ConfigurationError`` a session operation would.
        """
        try:
            self._client().ping()
        except FAILURES as exc:
            raise self._failed(exc, "PING") from exc

    # -- the engine protocol, asyncio (no threads) ----------------------------------

    async def aload(self, key: str) -> bytes | None:
        """Async twin of ``load``, on the running loop's own client."""
        if not self.is_valid_key(key):
            return None
        try:
            client = await self._aclient()
            value = await client.get(self.prefix + key)
        except FAILURES as exc:
            raise self._failed(exc, "GET") from exc
        return None if value is None else bytes(value)

    async def asave(
        self, key: str, data: bytes, expires_at: float, must_create: bool = False
    ) -> str:
        """Async twin of ``save``."""
        name, ttl = self._plan_save(key, data, expires_at)
        try:
            client = await self._aclient()
            if ttl is None:
                if must_create:
                    done = await client.exists(name) == 0
                else:
                    done = await client.delete(name) == 1
            else:
                done = bool(
                    await client.set(name, data, px=ttl, nx=must_create, xx=not must_create)
                )
        except FAILURES as exc:
            raise self._failed(exc, "SET") from exc
        if not done:
            raise self._refused(key, must_create)
        return key

    async def aexists(self, key: str) -> bool:
        """Async twin of ``exists``."""
        if not self.is_valid_key(key):
            return False
        try:
            client = await self._aclient()
            return bool(await client.exists(self.prefix + key))
        except FAILURES as exc:
            raise self._failed(exc, "EXISTS") from exc

    async def adelete(self, key: str) -> None:
        """Async twin of ``delete``."""
        if not self.is_valid_key(key):
            return
        try:
            client = await self._aclient()
            await client.delete(self.prefix + key)
        except FAILURES as exc:
            raise self._failed(exc, "DEL") from exc

    async def aclear_expired(self) -> int:
        """Always 0, without I/O (see ``clear_expired``)."""
        return 0

    async def ahealth(self) -> None:
        """Async twin of ``health``, on the running loop's own client."""
        try:
            client = await self._aclient()
            await client.ping()
        except FAILURES as exc:
            raise self._failed(exc, "PING") from exc
