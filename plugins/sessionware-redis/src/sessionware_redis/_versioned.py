"""The redis engine's versioned saves and session locks, as a mixin `RedisEngine` inherits.

A versioned save is one Lua script on the session's own key that compares
the SHA-1 of the stored value with the version the writer loaded and writes
only if they match; a session lock is ``SET <prefix>lock:<key> <token> NX PX
<ttl>``, released by a compare-and-delete script (``_scripts``). Blocking and
asyncio twins side by side. The clients, the plain session operations and
the error mapping stay in ``_engine``; this module only uses them.
"""

from __future__ import annotations

import math
import secrets
from typing import TYPE_CHECKING, Any

from sessionware import EngineBase, SessionwareError, Version, VersionConflict

from ._errors import FAILURES
from ._scripts import CONFLICT, WRITTEN, version_of

if TYPE_CHECKING:
    from ._clients import LoopClient, SyncClient

__all__ = ["VersionedOps"]


class VersionedOps(EngineBase):
    """``load_versioned``, ``save_versioned``, ``acquire_lock``, ``release_lock`` and twins.

    Mixed into ``RedisEngine``, which provides the clients (``_handle``,
    ``_client``, ``_aentry``, ``_aclient``), ``_plan_save``, ``_refused``
    and ``_failed``.
    """

    prefix: str
    address: str

    if TYPE_CHECKING:

        def _handle(self) -> SyncClient: ...
        def _client(self) -> Any: ...
        async def _aentry(self) -> LoopClient: ...
        async def _aclient(self) -> Any: ...
        def _failed(self, exc: BaseException, command: str) -> SessionwareError: ...
        def _refused(self, key: str, must_create: bool) -> SessionwareError: ...
        def _plan_save(
            self, key: str, data: bytes, expires_at: float
        ) -> tuple[str, int | None]: ...

    # -- what the operations share -------------------------------------------------

    def _plan_compare_and_set(
        self, key: str, data: bytes, expires_at: float, version: Version
    ) -> tuple[str, list[Any]]:
        """The key and the arguments of ``COMPARE_AND_SET`` (see ``_scripts``)."""
        name, ttl = self._plan_save(key, data, expires_at)
        # Only a digest this engine returned can match; anything else conflicts.
        expected = version if isinstance(version, str) else "-"
        return name, [expected, data, ttl or 0]

    def _compared(self, key: str, outcome: object, data: bytes) -> tuple[str, Version]:
        """The result of a versioned save from what ``COMPARE_AND_SET`` answered."""
        if outcome == WRITTEN:
            return key, version_of(bytes(data))
        if outcome == CONFLICT:
            raise VersionConflict(
                f"session {key[:6]}... in {self.address} was saved by another writer since "
                "this version was loaded; nothing was written"
            )
        raise self._refused(key, False)

    def _plan_lock(self, key: str, ttl: float) -> tuple[str, int]:
        """The lock's Redis key (``<prefix>lock:<key>``, never a session's) and its PX."""
        self.check_key(key)
        if (
            isinstance(ttl, bool)
            or not isinstance(ttl, (int, float))
            or not math.isfinite(ttl)
            or not ttl > 0
        ):
            raise ValueError(f"ttl must be a positive, finite number of seconds, got {ttl!r}")
        return self._lock_name(key), max(1, math.ceil(ttl * 1000))

    def _lock_name(self, key: str) -> str:
        # Session keys are letters and digits: "lock:..." can never name a session.
        return f"{self.prefix}lock:{key}"

    # -- blocking ---------------------------------------------------------------------

    def load_versioned(self, key: str) -> tuple[bytes, Version] | None:
        """``GET`` and the SHA-1 of what it returned (the version; see ``_scripts``)."""
        value = self.load(key)
        return None if value is None else (value, version_of(value))

    def save_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        """Compare-and-set in one Lua script on the session's key; ``version=None`` creates.

        The script reads the stored value, compares its SHA-1 with
        ``version`` and writes with ``PX`` (or deletes, if ``expires_at`` has
        passed) atomically on the server. Raises
        ``VersionConflict`` (nothing written) on another
        version, ``UpdateError`` when the session is gone,
        ``CreateError`` when creating over a live one.
        """
        if version is None:
            self.save(key, data, expires_at, must_create=True)
            return key, version_of(bytes(data))
        name, args = self._plan_compare_and_set(key, data, expires_at, version)
        try:
            handle = self._handle()
            outcome = handle.scripts.compare_and_set(keys=[name], args=args, client=handle.client)
        except FAILURES as exc:
            raise self._failed(exc, "EVALSHA (compare-and-set)") from exc
        return self._compared(key, outcome, data)

    def acquire_lock(self, key: str, ttl: float) -> str | None:
        """``SET <prefix>lock:<key> <token> NX PX <ttl>``: a new token, or ``None`` if held.

        Tries once, never waits; Redis expires the lease after ``ttl``, so a
        holder that crashed or hung never blocks the session for longer.
        """
        name, ms = self._plan_lock(key, ttl)
        token = secrets.token_hex(16)
        try:
            taken = self._client().set(name, token, nx=True, px=ms)
        except FAILURES as exc:
            raise self._failed(exc, "SET NX (lock)") from exc
        return token if taken else None

    def release_lock(self, key: str, token: str) -> None:
        """Delete the lock only if ``token`` still holds it (one Lua script); else nothing."""
        if not self.is_valid_key(key) or not isinstance(token, str):
            return
        try:
            handle = self._handle()
            handle.scripts.release(keys=[self._lock_name(key)], args=[token], client=handle.client)
        except FAILURES as exc:
            raise self._failed(exc, "EVALSHA (lock release)") from exc

    # -- asyncio (no threads) -------------------------------------------------------

    async def aload_versioned(self, key: str) -> tuple[bytes, Version] | None:
        """Async twin of ``load_versioned``, on the running loop's own client."""
        value = await self.aload(key)
        return None if value is None else (value, version_of(value))

    async def asave_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        """Async twin of ``save_versioned``."""
        if version is None:
            await self.asave(key, data, expires_at, must_create=True)
            return key, version_of(bytes(data))
        name, args = self._plan_compare_and_set(key, data, expires_at, version)
        try:
            entry = await self._aentry()
            outcome = await entry.scripts.compare_and_set(
                keys=[name], args=args, client=entry.redis
            )
        except FAILURES as exc:
            raise self._failed(exc, "EVALSHA (compare-and-set)") from exc
        return self._compared(key, outcome, data)

    async def aacquire_lock(self, key: str, ttl: float) -> str | None:
        """Async twin of ``acquire_lock``."""
        name, ms = self._plan_lock(key, ttl)
        token = secrets.token_hex(16)
        try:
            client = await self._aclient()
            taken = await client.set(name, token, nx=True, px=ms)
        except FAILURES as exc:
            raise self._failed(exc, "SET NX (lock)") from exc
        return token if taken else None

    async def arelease_lock(self, key: str, token: str) -> None:
        """Async twin of ``release_lock``."""
        if not self.is_valid_key(key) or not isinstance(token, str):
            return
        try:
            entry = await self._aentry()
            await entry.scripts.release(
                keys=[self._lock_name(key)], args=[token], client=entry.redis
            )
        except FAILURES as exc:
            raise self._failed(exc, "EVALSHA (lock release)") from exc
