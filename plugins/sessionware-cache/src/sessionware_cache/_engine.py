"""CacheEngine: sessions in a bounded cachetools cache inside this one process.

What lives here: option validation, the lock, the five engine operations and
the eviction warning. The cache itself, and how it counts what it drops, is
in ``_cache``. Sessions live in this process's memory only: every worker
process has its own, and a restart loses them all.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import secrets
import threading
from typing import ClassVar

from sessionware import (
    Capabilities,
    CreateError,
    EngineBase,
    OptionChecker,
    UpdateError,
    Version,
    VersionConflict,
)

from ._cache import SessionCache

__all__ = ["CacheEngine"]

logger = logging.getLogger("sessionware.cache")

_options = OptionChecker("cache", "engine")

#: ``expected`` of ``CacheEngine._write`` for a plain update: any version will do.
_ANY = -1


class CacheEngine(EngineBase):
    """Sessions in a bounded, thread-safe in-process cache: one process, no persistence.

    Options (keyword arguments; ``get_engine("cache", ...)`` or the engine
    options of ``SessionConfig``):

    ``maxsize`` (``10_000``)
        The most sessions kept at once. When a new session arrives in a full
        cache, the least recently used live session is evicted: its user
        gets an empty session, and a request still holding it gets
        ``UpdateError`` on save. The first eviction is
        logged to ``sessionware.cache`` as a warning, then one in every
        ``eviction_warning_every``.

    Each session expires at its own ``expires_at`` (compared with
    ``now``). Every operation holds one lock, so create and update check
    and write atomically. Versioned (every write stores a new number from one
    engine-wide counter beside the bytes, and ``save_versioned`` compares it
    under the lock) and locking (session locks are ``(token, deadline)``
    leases in a dict under the same lock); the async twins of both run inline,
    as the lock is only ever held for microseconds. Each worker process has
    its own cache and a restart loses every session: use it with one
    process, or use ``db`` or ``redis``.
    """

    name: ClassVar[str] = "cache"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_side=True,
        clear_expired=True,
        native_async=False,
        shared_across_processes=False,
        local=True,
        inline_async=True,
        versioned=True,
        locking=True,
    )
    #: After the first eviction, log one warning per this many evictions.
    eviction_warning_every: ClassVar[int] = 10_000

    def __init__(self, *, maxsize: int = 10_000) -> None:
        #: The most sessions kept at once.
        self.maxsize: int = _options.integer(
            "maxsize", maxsize, what="the most sessions kept at once"
        )
        self._lock = threading.Lock()
        # Versions never repeat within the engine, not even for a key deleted
        # and created again, so a stale version can never match by accident.
        self._versions = itertools.count(1)
        #: Session locks: key -> (token, deadline), under ``_lock``.
        self._leases: dict[str, tuple[str, float]] = {}
        # The timer reads now() on each call, so a clock patched on the engine
        # (tests) is the one expiry is judged by.
        self._cache = SessionCache(self.maxsize, timer=self._clock)

    def _clock(self) -> float:
        return self.now()

    def after_fork_in_child(self) -> None:
        """A new lock: one another thread of the parent held at the fork stays held for ever."""
        # The child has only this thread, so nothing can be holding the new one.
        self._lock = threading.Lock()
        # Session locks are held by the parent's holders, not by the child's.
        self._leases = {}

    @property
    def evictions(self) -> int:
        """How many live sessions were evicted because the cache was full."""
        return int(self._cache.evictions)

    @property
    def size(self) -> int:
        """Live sessions held now (asking drops the expired ones first)."""
        with self._lock:
            return len(self._cache)

    # -- the engine operations ---------------------------------------------------

    def load(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or ``None`` if missing, expired, evicted or invalid.

        A load counts as a use: it moves the session away from eviction.
        """
        if not self.is_valid_key(key):
            return None
        try:
            with self._lock:
                data: bytes = self._cache[key][0]
        except KeyError:
            return None
        return data

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """Create (``must_create``) or update the session under ``key``; return ``key``.

        The liveness check and the write happen under one lock: a create over
        a live session raises ``CreateError``, an update of
        a session that was deleted, expired or evicted raises
        ``UpdateError`` and stores nothing. Every write
        gives the session a new version.
        """
        self._write(key, data, expires_at, None if must_create else _ANY)
        return key

    def _write(self, key: str, data: bytes, expires_at: float, expected: int | None) -> int:
        """Write under the lock if ``expected`` allows; return the new version.

        ``expected``: ``None`` creates, ``_ANY`` updates whatever the stored
        version, any other number updates only that version.
        """
        self.check_key(key)
        if type(data) is not bytes:
            data = bytes(data)
        expires_at = float(expires_at)
        cache = self._cache
        evicted_before = evicted_after = 0
        with self._lock, cache.timer as now:
            # "in" first: it is cheaper than a get, and all a plain save needs.
            live = key in cache
            if expected is None:
                if live:
                    raise CreateError(
                        f"a live session with key {key[:6]}... already exists in the cache"
                    )
            elif not live:
                raise UpdateError(
                    f"session {key[:6]}... is no longer in the cache (deleted, expired, or "
                    "evicted because the cache was full); it is not recreated"
                )
            elif expected != _ANY and cache[key][2] != expected:
                raise VersionConflict(
                    f"session {key[:6]}... was saved by another request since version "
                    f"{expected} was loaded; nothing was written"
                )
            version = next(self._versions)
            if now < expires_at:
                evicted_before = cache.evictions
                cache[key] = (data, expires_at, version)
                evicted_after = cache.evictions
            else:
                # Saved already expired: it is gone at once. Counted as an expired
                # session removed, as a store that kept it until clear_expired would.
                cache.pop(key, None)
                cache.expired += 1
        if evicted_after != evicted_before:
            self._warn_evicted(evicted_before, evicted_after)
        return version

    def exists(self, key: str) -> bool:
        """True when a live session is stored under ``key`` (not counted as a use)."""
        if not self.is_valid_key(key):
            return False
        with self._lock:
            return key in self._cache

    def delete(self, key: str) -> None:
        """Remove the session under ``key``; nothing happens if there is none."""
        if not self.is_valid_key(key):
            return
        # TLRUCache removes an expired entry too, then raises KeyError.
        with self._lock, contextlib.suppress(KeyError):
            del self._cache[key]

    # -- versioned saves (capabilities.versioned) -----------------------------------

    def load_versioned(self, key: str) -> tuple[bytes, Version] | None:
        """``load`` plus the session's version, read under the same lock."""
        if not self.is_valid_key(key):
            return None
        try:
            with self._lock:
                data, _, version = self._cache[key]
        except KeyError:
            return None
        return data, version

    def save_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        """Create (``version=None``) or write only over ``version``; return ``(key, new)``.

        Compared and written under the engine's lock: another version stored
        meanwhile raises ``VersionConflict`` and writes
        nothing; a session deleted, expired or evicted raises
        ``UpdateError``.
        """
        if version is not None and (type(version) is not int or version < 1):
            raise TypeError(
                f"{version!r} is not a version of the cache engine (one from load_versioned)"
            )
        return key, self._write(key, data, expires_at, version)

    async def aload_versioned(self, key: str) -> tuple[bytes, Version] | None:
        """``load_versioned``, inline: it holds the lock for microseconds only."""
        return self.load_versioned(key)

    async def asave_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        """``save_versioned``, inline: it holds the lock for microseconds only."""
        return self.save_versioned(key, data, expires_at, version)

    # -- session locks (capabilities.locking) ---------------------------------------

    def acquire_lock(self, key: str, ttl: float) -> str | None:
        """Take the lease on ``key`` for ``ttl`` seconds if it is free or run out; never waits."""
        self.check_key(key)
        ttl = self.lease_seconds(ttl)
        token = secrets.token_hex(16)
        with self._lock:
            now = self.now()
            held = self._leases.get(key)
            if held is not None and held[1] > now:
                return None
            self._leases[key] = (token, now + ttl)
        return token

    def release_lock(self, key: str, token: str) -> None:
        """Drop the lease on ``key`` if ``token`` still holds it; otherwise nothing."""
        with self._lock:
            held = self._leases.get(key)
            if held is not None and held[0] == token:
                del self._leases[key]

    async def aacquire_lock(self, key: str, ttl: float) -> str | None:
        """``acquire_lock``, inline: it never waits for a holder."""
        return self.acquire_lock(key, ttl)

    async def arelease_lock(self, key: str, token: str) -> None:
        """``release_lock``, inline."""
        self.release_lock(key, token)

    def _drop_run_out_leases(self) -> None:
        # Under the lock: leases whose holders never released them.
        now = self.now()
        for key in [k for k, (_, deadline) in self._leases.items() if deadline <= now]:
            del self._leases[key]

    def clear_expired(self) -> int:
        """Drop expired sessions; return how many expired sessions went since the last call.

        The cache also drops expired entries by itself on every write, so the
        count includes those, and sessions saved already expired. Session
        lock leases that ran out without being released are dropped too (not
        counted).
        """
        with self._lock:
            self._cache.expire()
            removed = int(self._cache.expired)
            self._cache.expired = 0
            self._drop_run_out_leases()
        return removed

    def health(self) -> None:
        """Always usable: the sessions are in this process's memory, with nothing to reach."""
        return None

    def close(self) -> None:
        """Drop every session and lock lease, freeing the memory. The engine stays usable."""
        with self._lock:
            self._cache.clear()
            self._cache.expired = 0
            self._leases.clear()

    # -- eviction warning ----------------------------------------------------------

    def _warn_evicted(self, before: int, after: int) -> None:
        every = self.eviction_warning_every
        if before == 0 or after // every > before // every:
            logger.warning(
                "the cache engine evicted a live session because it holds maxsize=%d "
                "sessions (%d evicted so far): its user got an empty session. Raise "
                "maxsize, or use the db or redis engine",
                self.maxsize,
                after,
            )

    def __repr__(self) -> str:
        return f"<CacheEngine 'cache' maxsize={self.maxsize}>"
