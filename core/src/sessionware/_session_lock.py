"""``session.lock()`` and ``session.alock()``: a per-session lease around a read-modify-write.

Versioned saves merge concurrent changes to *different* keys; when the same
key must not lose (a counter, a balance), hold the session's lock::

    with session.lock():
        session["n"] = session.get("n", 0) + 1

The lock is the engine's own primitive (``acquire_lock``/``release_lock``,
engines that declare ``locking``), a lease that ends ``ttl`` seconds after it
was taken, so a crashed holder never blocks anyone for longer. An attempt
never waits inside the engine: the session polls with a growing, jittered
delay (2 ms up to 100 ms) until ``timeout``, then raises
`sessionware.LockTimeout`; ``alock`` waits with ``asyncio.sleep``, so
the event loop keeps serving. The lock of one session never blocks another.

Under the lock the session reloads (changes this request made before taking
it are merged onto the fresh data, by the rules of ``_session_merge``), runs
the body, and saves before releasing if anything changed; a body that raises
releases without saving. A lease that runs out mid-body is still covered: the
save is versioned, so a concurrent write is merged and reported, not lost.

Saves use the same lock as a last resort: a versioned save refused
``LOCK_AFTER`` times in a row (``_session_merge``) takes the session's lock,
waiting at most ``MERGE_LOCK_WAIT`` seconds, then reloads, merges and saves
under it (``MERGE_ATTEMPTS`` more attempts) and releases it. A lock it cannot
get in time is a `sessionware.VersionConflict`, like a merge that never
wins.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Self

from ._errors import (
    ConfigurationError,
    EngineUnavailable,
    LockTimeout,
    UpdateError,
)
from ._session_drivers import (
    Backoff,
    Steps,
    _get_running_loop,
    _warn_on_loop,
    engine_acall,
    engine_call,
)
from ._session_io import SessionIO
from ._session_merge import MERGE_LOCK_TTL, MERGE_LOCK_WAIT, LockToMerge, lock_busy

__all__ = ["SessionLocking"]

logger = logging.getLogger("sessionware.concurrency")


def _seconds(name: str, value: object, *, zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"session.lock({name}=...) takes a number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not zero):
        raise ValueError(
            f"session.lock({name}=...) must be {'at least' if zero else 'more than'} 0, "
            f"got {value!r}"
        )
    return float(value)


class SessionLocking(SessionIO):
    """The lock half of `sessionware.SessionStore` (see the module)."""

    @contextmanager
    def lock(self, timeout: float = 10.0, ttl: float = 30.0) -> Iterator[Self]:
        """Hold this session's lock: reload, run the block, save, release.

        ``timeout``: seconds to wait for the lock before
        `sessionware.LockTimeout`; ``ttl``: seconds the lock lasts if
        its holder never releases it (make it longer than the block takes).
        Needs an engine that declares ``locking`` (db, file, redis, cache). A
        session with no key yet needs no lock (nobody else can know it): the
        block runs and the session is saved. In ``async def`` code use
        `alock`.
        """
        key = self._lock_key(timeout, ttl)
        token = None
        if key is not None:
            token = self._take(key, ttl, Backoff(timeout))
        held, self._lock_held = self._lock_held, token is not None or self._lock_held
        try:
            if token is not None:
                self._run(self._relock_steps())
            yield self
            if self._dirty():
                self._run(self._save_steps(False))
        finally:
            self._lock_held = held
            if key is not None and token is not None:
                self._release(key, token)

    @asynccontextmanager
    async def alock(self, timeout: float = 10.0, ttl: float = 30.0) -> AsyncIterator[Self]:
        """Async twin of `lock` (``async with session.alock(): ...``): never blocks the loop."""
        key = self._lock_key(timeout, ttl)
        token = None
        if key is not None:
            token = await self._atake(key, ttl, Backoff(timeout))
        held, self._lock_held = self._lock_held, token is not None or self._lock_held
        try:
            if token is not None:
                await self._arun(self._relock_steps())
            yield self
            if self._dirty():
                await self._arun(self._save_steps(False))
        finally:
            self._lock_held = held
            if key is not None and token is not None:
                await self._arelease(key, token)

    # -- a save that keeps losing merges under the lock ----------------------------------

    def save(self, must_create: bool = False) -> None:
        """Write the session; a session without a key is created.

        ``must_create`` raises `sessionware.CreateError` if the key is taken;
        an update of a session that vanished raises
        `sessionware.UpdateError` (it is never recreated). On a versioned
        engine a concurrent save is merged (see the concurrency guide); a
        merge that keeps losing raises `sessionware.VersionConflict`.
        """
        try:
            super().save(must_create)
        except LockToMerge:
            key = self._locked_merge_key()
            token = self._take_to_merge(key)
            self._lock_held = True
            try:
                self._run(self._locked_merge_steps())
            finally:
                self._lock_held = False
                self._release(key, token)

    async def asave(self, must_create: bool = False) -> None:
        """Async twin of `save`."""
        try:
            await super().asave(must_create)
        except LockToMerge:
            key = self._locked_merge_key()
            token = await self._atake_to_merge(key)
            self._lock_held = True
            try:
                await self._arun(self._locked_merge_steps())
            finally:
                self._lock_held = False
                await self._arelease(key, token)

    def _locked_merge_key(self) -> str:
        key = self._session_key
        assert key is not None  # only an update of a stored session merges
        return key

    def _locked_merge_steps(self) -> Steps[None]:
        """Under the lock: reload, put this request's changes on top, save."""
        yield from self._relock_steps()
        yield from self._save_steps(False)

    def _take_to_merge(self, key: str) -> str:
        try:
            return self._take(key, MERGE_LOCK_TTL, Backoff(MERGE_LOCK_WAIT))
        except LockTimeout as exc:
            raise lock_busy(self.engine, key, exc, MERGE_LOCK_WAIT) from exc

    async def _atake_to_merge(self, key: str) -> str:
        try:
            return await self._atake(key, MERGE_LOCK_TTL, Backoff(MERGE_LOCK_WAIT))
        except LockTimeout as exc:
            raise lock_busy(self.engine, key, exc, MERGE_LOCK_WAIT) from exc

    # -- the parts sync and async share (no I/O) ----------------------------------------

    def _lock_key(self, timeout: float, ttl: float) -> str | None:
        """Check the arguments and the engine; the key to lock (``None``: a new session)."""
        _seconds("timeout", timeout, zero=True)
        _seconds("ttl", ttl, zero=False)
        engine = self.engine
        if not getattr(engine.capabilities, "locking", False):
            side = (
                "the client holds the state, so the last response's cookie wins"
                if not engine.capabilities.server_side
                else "it declares no locking primitive"
            )
            raise ConfigurationError(
                f"session.lock() needs an engine that can lock sessions; the {engine.name!r} "
                f"engine cannot ({side}). Use a server-side engine that declares locking "
                "(db, file, redis or cache)",
                field="engine",
            )
        return self._session_key

    def _timed_out(self, key: str, timeout: float) -> LockTimeout:
        return LockTimeout(
            f"the lock of session {key[:6]}... on the {self.engine.name!r} engine was not free "
            f"within {timeout:g} s (another request holds it; its lease ends at most ttl "
            "seconds after it was taken)"
        )

    def _relock_steps(self) -> Steps[None]:
        """Under the lock: the stored data and version, with this request's changes on top."""
        if not self._loaded:
            return (yield from self._load_steps())
        key = self._session_key
        assert key is not None  # locked sessions have one
        raw = yield from self._fetch_steps(key)
        if raw is None:
            raise UpdateError(
                "the session was deleted or expired while this request waited for its lock "
                "(for example, a log-out in another tab); it is not recreated"
            )
        self._rebase((raw, self._version))  # type: ignore[arg-type]

    def _dirty(self) -> bool:
        """Anything to save when the block ends: a top-level or a nested change."""
        if self.modified:
            return True
        if self._raw is None:
            return False
        try:
            before = self.serializer.loads(self._raw)
        except Exception:
            return True
        return bool(before != self._payload())

    # -- the I/O, sync and async ------------------------------------------------------

    def _take(self, key: str, ttl: float, wait: Backoff) -> str:
        while True:
            token = self._engine_call("acquire_lock", key, ttl)
            if token is not None:
                return str(token)
            delay = wait.next()
            if delay is None:
                raise self._timed_out(key, wait.timeout)
            if _get_running_loop() is not None:
                _warn_on_loop(self.engine, "lock wait")
            time.sleep(delay)

    async def _atake(self, key: str, ttl: float, wait: Backoff) -> str:
        while True:
            token = await self._engine_acall("acquire_lock", key, ttl)
            if token is not None:
                return str(token)
            delay = wait.next()
            if delay is None:
                raise self._timed_out(key, wait.timeout)
            await asyncio.sleep(delay)

    def _release(self, key: str, token: str) -> None:
        try:
            self._engine_call("release_lock", key, token)
        except EngineUnavailable as exc:
            self._release_failed(exc)

    async def _arelease(self, key: str, token: str) -> None:
        try:
            await self._engine_acall("release_lock", key, token)
        except EngineUnavailable as exc:
            self._release_failed(exc)

    def _release_failed(self, exc: EngineUnavailable) -> None:
        # The block's work is saved; the lease ends by itself after ttl.
        logger.warning("could not release a session lock (it expires after its ttl): %s", exc)

    def _engine_call(self, operation: str, *args: Any) -> Any:
        try:
            return engine_call(self.engine, operation, *args)
        except EngineUnavailable as exc:
            self.engine_error = exc  # the middleware answers 503, not the app's 500
            raise

    async def _engine_acall(self, operation: str, *args: Any) -> Any:
        try:
            return await engine_acall(self.engine, operation, *args)
        except EngineUnavailable as exc:
            self.engine_error = exc
            raise
