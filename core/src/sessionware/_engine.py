"""The engine protocol: where session bytes are stored.

An engine stores opaque bytes under a key and knows nothing of Python objects;
serialization, expiry policy and change tracking live in the session.
``Engine`` is the protocol, ``EngineBase`` an optional base class
with the shared helpers (key validation, async twins run off the event loop,
the fork hook). The fork hook itself (``register_after_fork``, the one
``os.register_at_fork`` of sessionware) lives in ``_fork``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

from ._capabilities import Capabilities, Version
from ._errors import InvalidSessionKey
from ._fork import AFTER_FORK
from ._keys import is_valid_key

__all__ = ["Engine", "EngineBase"]

logger = logging.getLogger("sessionware.engine")


@runtime_checkable
class Engine(Protocol):
    """A session storage engine.

    Keys passed in are strings; an engine must treat a key that fails
    ``is_valid_key`` as absent (``load`` returns ``None``, ``exists``
    ``False``, ``delete`` does nothing) and refuse to ``save`` it with
    ``InvalidSessionKey``. ``expires_at`` is a POSIX
    timestamp; an entry past it is never returned by ``load``. When the store
    cannot be reached or used, every method raises
    ``EngineUnavailable`` (naming the address), never the
    driver's own error.

    Optional methods, looked up with ``getattr`` so an engine without them
    still satisfies this protocol (``EngineBase`` provides defaults):
    ``health() -> None`` and ``async ahealth() -> None`` (``sessionware
    check`` calls them: raise ``EngineUnavailable`` when the
    store cannot be used right now), ``count_expired() -> int | None`` (how
    many sessions ``clear_expired`` would remove, when the engine can count
    them cheaply; ``None`` otherwise) and a ``progress`` keyword argument of
    ``clear_expired``, a callable given the running count of removed sessions,
    and ``after_fork_in_child() -> None`` (see ``register_after_fork``).
    """

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def is_valid_key(self, key: str) -> bool:
        """True when ``key`` could name a session in this engine."""
        ...

    def load(self, key: str) -> bytes | None:
        """The bytes saved under ``key``; ``None`` if missing or expired. Never creates.

        An engine that verifies what it loads (a cookie engine) may raise
        ``SuspiciousSession`` for forged input: the session
        logs it and continues empty.
        """
        ...

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """Store ``data`` under ``key``; return the value the cookie carries.

        ``must_create``: raise ``CreateError`` if ``key``
        exists. Otherwise raise ``UpdateError`` if ``key``
        does not exist (it was deleted or expired meanwhile): never resurrect.
        """
        ...

    def exists(self, key: str) -> bool:
        """True when an unexpired session is stored under ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; no error if it is absent."""
        ...

    def clear_expired(self) -> int:
        """Remove expired sessions; return how many were removed."""
        ...

    def close(self) -> None:
        """Release connections and handles. The engine may not be used after."""
        ...

    async def aload(self, key: str) -> bytes | None:
        """Async twin of ``load``."""
        ...

    async def asave(
        self, key: str, data: bytes, expires_at: float, must_create: bool = False
    ) -> str:
        """Async twin of ``save``."""
        ...

    async def aexists(self, key: str) -> bool:
        """Async twin of ``exists``."""
        ...

    async def adelete(self, key: str) -> None:
        """Async twin of ``delete``."""
        ...

    async def aclear_expired(self) -> int:
        """Async twin of ``clear_expired``."""
        ...


class EngineBase:
    """Optional base class for engines: key validation, async twins, the fork hook.

    Subclasses set ``name`` and implement the five sync methods; the async
    twins run them with ``asyncio.to_thread`` unless overridden (an engine
    that talks to a network service should override them natively and declare
    ``native_async=True``). Constructor keyword arguments are the engine's
    options: ``sessionware.get_engine`` rejects any other name. An engine
    that holds connections, sockets or locks overrides
    ``after_fork_in_child``. Engines are context managers: ``with``
    calls ``close`` at the end, ``async with`` awaits ``aclose``.
    """

    name: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: When true, ``sessionware.get_engine`` passes the configured
    #: ``secret_key`` and ``fallback_keys`` to the constructor.
    uses_secret: ClassVar[bool] = False

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        # __new__ rather than __init__, so that subclasses need not call
        # super().__init__(); it sees the options only to pass them on.
        if (args or kwargs) and cls.__init__ is object.__init__:
            raise TypeError(f"{cls.__name__}() takes no options")
        engine = super().__new__(cls)
        if cls.after_fork_in_child is not EngineBase.after_fork_in_child:
            AFTER_FORK.add(engine)
        return engine

    # inspect.signature() of a subclass without an __init__ of its own would
    # otherwise read (*args, **kwargs) here, and get_engine would then accept
    # any option for it; "(cls)" makes it "no options", which is the truth.
    __new__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("cls", inspect.Parameter.POSITIONAL_ONLY)]
    )

    def after_fork_in_child(self) -> None:
        """Called in the child after ``os.fork()``, for every live engine that overrides it.

        The child has a copy of every connection, socket and lock the parent
        had. Using or closing an inherited connection breaks it for the
        parent too (both processes talk on one socket; closing sends a
        goodbye), and a lock another thread of the parent held at the fork
        stays held for ever. Override this to forget them: keep a reference
        to inherited connections (so garbage collection does not close them)
        and set the attributes that hold them to empty, so the child opens
        its own on first use; replace locks with new ones. It runs with no
        other thread in the child, so it needs no lock; it must not do I/O.
        The default does nothing, and an engine that does not override it is
        not even visited.
        """
        return None

    @staticmethod
    def now() -> float:
        """The current POSIX time; engines compare ``expires_at`` against it."""
        return time.time()

    #: The last key this engine found valid, by identity: the session checks a
    #: key before any I/O and the engine checks it again (as the protocol asks),
    #: so the second check of the same str object is free. Strings are
    #: immutable, so a hit can only ever repeat a correct answer.
    _last_valid_key: object = object()  # a sentinel no caller can pass

    def is_valid_key(self, key: str) -> bool:
        """True when ``key`` has the shape of a session key."""
        if key is self._last_valid_key:
            return True
        if is_valid_key(key):
            self._last_valid_key = key
            return True
        return False

    def check_key(self, key: str) -> str:
        """Return ``key`` or raise ``InvalidSessionKey``."""
        if not self.is_valid_key(key):
            shown = repr(key) if len(str(key)) <= 40 else repr(str(key)[:40]) + "..."
            raise InvalidSessionKey(
                f"{shown} is not a valid session key for the {self.name!r} engine; "
                "keys come from sessionware's key generator, never from user input"
            )
        return key

    def load(self, key: str) -> bytes | None:
        raise NotImplementedError

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def clear_expired(self) -> int:
        return 0

    def close(self) -> None:
        return None

    def health(self) -> None:
        """Check that the store can be used now; ``EngineUnavailable`` if not.

        ``sessionware check`` calls it, so that a store nothing listens on is
        reported before the first request. It reads or changes no session. A
        network engine asks its server (a ping); a disk engine checks that its
        file or directory is there and writable. The default checks nothing:
        an engine without a store of its own (the cache, the cookie) is always
        usable.
        """
        return None

    async def ahealth(self) -> None:
        """Async twin of ``health`` (by default, ``health`` in a thread)."""
        await asyncio.to_thread(self.health)

    def count_expired(self) -> int | None:
        """How many sessions ``clear_expired`` would remove now, or ``None``.

        Implement it only when counting is cheap next to the purge itself
        (an index, a directory listing): ``sessionware clear-expired`` shows
        a progress bar with a total and an estimated time left from it. The
        default, ``None``, means "cannot count cheaply" (the bar then shows
        the running count and rate only).
        """
        return None

    async def aload(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self.load, key)

    async def asave(
        self, key: str, data: bytes, expires_at: float, must_create: bool = False
    ) -> str:
        return await asyncio.to_thread(self.save, key, data, expires_at, must_create)

    async def aexists(self, key: str) -> bool:
        return await asyncio.to_thread(self.exists, key)

    async def adelete(self, key: str) -> None:
        await asyncio.to_thread(self.delete, key)

    async def aclear_expired(self) -> int:
        return await asyncio.to_thread(self.clear_expired)

    # -- versioned engines (capabilities.versioned) ---------------------------------

    def load_versioned(self, key: str) -> tuple[bytes, Version] | None:
        """``load`` plus the version of what it returned, read atomically with it.

        Only for engines that declare ``versioned=True``. The version is opaque
        to the core and must change whenever the stored bytes do.
        """
        raise NotImplementedError(f"the {self.name!r} engine is not versioned")

    def save_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        """Compare-and-set: write only if the stored version is still ``version``.

        ``version=None`` creates (``CreateError`` if the key exists). Otherwise
        a different stored version raises ``VersionConflict`` and writes
        nothing; a missing or expired entry raises ``UpdateError``. Returns the
        cookie value and the new version.
        """
        raise NotImplementedError(f"the {self.name!r} engine is not versioned")

    async def aload_versioned(self, key: str) -> tuple[bytes, Version] | None:
        return await asyncio.to_thread(self.load_versioned, key)

    async def asave_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        return await asyncio.to_thread(self.save_versioned, key, data, expires_at, version)

    # -- session locks (capabilities.locking) ---------------------------------------

    def acquire_lock(self, key: str, ttl: float) -> str | None:
        """Try once, never waiting: a new token if the lock on ``key`` was free, else ``None``.

        A lease taken more than ``ttl`` seconds ago counts as free, so a
        holder that crashed never blocks the session for ever. The session
        polls (``session.lock()``); the engine must not wait for a holder.
        """
        raise NotImplementedError(f"the {self.name!r} engine has no session locks")

    @staticmethod
    def lease_seconds(ttl: object) -> float:
        """``ttl`` as the lease's length in seconds; ``ValueError`` unless positive and finite.

        Every ``acquire_lock`` checks its ``ttl`` the same way: a bool, NaN,
        an infinity or anything that is not a number is refused, and so is a
        lease of zero or fewer seconds (it would be free before it was taken).
        """
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not math.isfinite(ttl):
            raise ValueError(f"a lock's ttl must be a finite number of seconds, not {ttl!r}")
        if ttl <= 0:
            raise ValueError(f"a lock's ttl must be more than 0 seconds, not {ttl!r}")
        return float(ttl)

    def release_lock(self, key: str, token: str) -> None:
        """Release the lock on ``key`` if ``token`` still holds it; otherwise do nothing."""
        raise NotImplementedError(f"the {self.name!r} engine has no session locks")

    async def aacquire_lock(self, key: str, ttl: float) -> str | None:
        return await asyncio.to_thread(self.acquire_lock, key, ttl)

    async def arelease_lock(self, key: str, token: str) -> None:
        await asyncio.to_thread(self.release_lock, key, token)

    async def aclose(self) -> None:
        """Async twin of ``close`` (by default, ``close``); native-async engines close their
        event loop's connections here, awaited (see ``PerLoop.aclose``)."""
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} engine {self.name!r}>"
