"""CacheEngine: sessions in a bounded cachetools cache inside this one process.

What lives here: option validation, the lock, the five engine operations and
the eviction warning. The cache itself, and how it counts what it drops, is
in ``_cache``. Sessions live in this process's memory only: every worker
process has its own, and a restart loses them all.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import ClassVar

from sessionware import (
    Capabilities,
    CreateError,
    EngineBase,
    OptionChecker,
    UpdateError,
)

from ._cache import SessionCache

__all__ = ["CacheEngine"]

logger = logging.getLogger("sessionware.cache")

_options = OptionChecker("cache", "engine")


class CacheEngine(EngineBase):
    """Sessions in a bounded, thread-safe in-process cache: one process, no persistence.

    Options (keyword arguments; ``get_engine("cache", ...)`` or the engine
    options of :class:`~sessionware.SessionConfig`):

    ``maxsize`` (``10_000``)
        The most sessions kept at once. When a new session arrives in a full
        cache, the least recently used live session is evicted: its user
        gets an empty session, and a request still holding it gets
        :class:`~sessionware.UpdateError` on save. The first eviction is
        logged to ``sessionware.cache`` as a warning, then one in every
        :attr:`eviction_warning_every`.

    Each session expires at its own ``expires_at`` (compared with
    :meth:`now`). Every operation holds one lock, so create and update check
    and write atomically. Each worker process has its own cache and a restart
    loses every session: use it with one process, or use ``db`` or ``redis``.
    """

    name: ClassVar[str] = "cache"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_side=True,
        clear_expired=True,
        native_async=False,
        shared_across_processes=False,
        local=True,
        inline_async=True,
    )
    #: After the first eviction, log one warning per this many evictions.
    eviction_warning_every: ClassVar[int] = 10_000

    def __init__(self, *, maxsize: int = 10_000) -> None:
        #: The most sessions kept at once.
        self.maxsize: int = _options.integer(
            "maxsize", maxsize, what="the most sessions kept at once"
        )
        self._lock = threading.Lock()
        # The timer reads now() on each call, so a clock patched on the engine
        # (tests) is the one expiry is judged by.
        self._cache = SessionCache(self.maxsize, timer=self._clock)

    def _clock(self) -> float:
        return self.now()

    def after_fork_in_child(self) -> None:
        """A new lock: one another thread of the parent held at the fork stays held for ever."""
        # The child has only this thread, so nothing can be holding the new one.
        self._lock = threading.Lock()

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
        a live session raises :class:`~sessionware.CreateError`, an update of
        a session that was deleted, expired or evicted raises
        :class:`~sessionware.UpdateError` and stores nothing.
        """
        self.check_key(key)
        if type(data) is not bytes:
            data = bytes(data)
        expires_at = float(expires_at)
        cache = self._cache
        evicted_before = evicted_after = 0
        with self._lock, cache.timer as now:
            live = key in cache
            if must_create:
                if live:
                    raise CreateError(
                        f"a live session with key {key[:6]}... already exists in the cache"
                    )
            elif not live:
                raise UpdateError(
                    f"session {key[:6]}... is no longer in the cache (deleted, expired, or "
                    "evicted because the cache was full); it is not recreated"
                )
            if now < expires_at:
                evicted_before = cache.evictions
                cache[key] = (data, expires_at)
                evicted_after = cache.evictions
            else:
                # Saved already expired: it is gone at once. Counted as an expired
                # session removed, as a store that kept it until clear_expired would.
                cache.pop(key, None)
                cache.expired += 1
        if evicted_after != evicted_before:
            self._warn_evicted(evicted_before, evicted_after)
        return key

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

    def clear_expired(self) -> int:
        """Drop expired sessions; return how many expired sessions went since the last call.

        The cache also drops expired entries by itself on every write, so the
        count includes those, and sessions saved already expired.
        """
        with self._lock:
            self._cache.expire()
            removed = int(self._cache.expired)
            self._cache.expired = 0
        return removed

    def health(self) -> None:
        """Always usable: the sessions are in this process's memory, with nothing to reach."""
        return None

    def close(self) -> None:
        """Drop every session and free the memory. The engine stays usable, empty."""
        with self._lock:
            self._cache.clear()
            self._cache.expired = 0

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
