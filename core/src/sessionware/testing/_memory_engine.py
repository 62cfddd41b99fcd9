"""``MemoryEngine``: the one in-memory engine of the kit and of every test.

``MemoryEngine`` keeps sessions in a dict behind a lock and keeps every
promise of the engine protocol: the yardstick the kit is checked against, and
the one in-memory engine every test uses (sessionware's own, a serializer
plugin's end-to-end tests), with options for what those tests need.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Iterable
from typing import ClassVar

from .._capabilities import Capabilities, Version
from .._engine import EngineBase
from .._errors import (
    CreateError,
    EngineUnavailable,
    UpdateError,
    VersionConflict,
)

__all__ = ["MemoryEngine"]


OPERATIONS = frozenset(
    {
        "load",
        "save",
        "exists",
        "delete",
        "clear_expired",
        "health",
        "load_versioned",
        "save_versioned",
        "acquire_lock",
        "release_lock",
    }
)

#: ``down={"load"}`` fails every load, versioned or not (and ``"save"`` every save).
_KIND = {"load_versioned": "load", "save_versioned": "save"}


class MemoryEngine(EngineBase):
    """Sessions in a dict guarded by a lock, in this process only: the engine for tests.

    It keeps every promise of the engine protocol (the conformance kit runs
    against it), including versioned saves and session locks, so a test that
    needs *an* engine uses this one rather than writing its own. What tests
    look at or change:

    - ``data`` maps each key to ``(bytes, expires_at)`` (e.g. to corrupt an
      entry). Each entry has a version (an int from one counter, never reused);
      putting a new tuple in ``data`` gives the key a new version, so a
      versioned save over it conflicts as it would after another writer's save;
    - ``leases`` maps each locked key to ``(token, expires_at)`` (a lease is
      free once ``expires_at <= now``);
    - ``calls`` lists every storage call in order (``"load"``, ``"save"``,
      ``"exists"``, ``"delete"``, ``"clear_expired"``, ``"load_versioned"``,
      ``"save_versioned"``, ``"acquire_lock"``, ``"release_lock"``, and
      ``"aload"`` etc. for native async twins), so a test can assert that a
      request did no I/O, or which path it took;
    - ``down`` is the set of operations (names from ``OPERATIONS``) that raise
      ``EngineUnavailable`` (address ``memory://test``), to
      simulate an outage; change it at any time. ``"load"`` and ``"save"``
      fail the versioned forms too (a store whose loads fail fails both);
      ``"load_versioned"`` or ``"save_versioned"`` fail only those.

    Options (keyword only; also accepted through ``get_engine`` once the class
    is registered, e.g. with ``registered``):

    - ``capabilities``: what this instance declares instead of the class
      default (in-process, ``inline_async``, ``versioned``, ``locking``, not
      shared across processes). With ``native_async=True`` the async twins are
      native coroutines that record ``"a<name>"`` and then call the sync
      method, like a network engine with its own async driver would; otherwise
      they are ``EngineBase``'s. ``versioned=False`` or ``locking=False`` make
      the session treat it as an engine without them (the methods stay).
    - ``down``: ``True`` for a store that is wholly unreachable, or the names of
      the operations that fail (``down={"save"}``); default: none.

    Thread safe; create, update and compare-and-set are atomic; a lock
    attempt never waits; ``close`` forgets everything.
    A test that needs an engine *broken* in a specific way (a driver error
    escaping, a wrong declaration) subclasses this one next to that test.
    """

    name: ClassVar[str] = "kit_memory"
    capabilities: ClassVar[Capabilities] = Capabilities(
        shared_across_processes=False, local=True, inline_async=True, versioned=True, locking=True
    )
    #: Where an outage (``down``) says the store was.
    address: ClassVar[str] = "memory://test"

    def __init__(
        self,
        *,
        capabilities: Capabilities | None = None,
        down: bool | Iterable[str] = (),
    ) -> None:
        self._lock = threading.Lock()
        #: key -> (stored bytes, expires_at)
        self.data: dict[str, tuple[bytes, float]] = {}
        #: key -> (token, expires_at) of the session locks held
        self.leases: dict[str, tuple[str, float]] = {}
        #: key -> (version, the ``data`` entry it is the version of)
        self._versions: dict[str, tuple[int, tuple[bytes, float]]] = {}
        self._counter = itertools.count(1)
        #: every storage call, in order
        self.calls: list[str] = []
        #: the operations that raise EngineUnavailable
        self.down: set[str] = set(OPERATIONS if down is True else () if down is False else down)
        unknown = self.down - OPERATIONS
        if unknown:
            raise TypeError(
                f"MemoryEngine(down=...) names unknown operations {sorted(unknown)}; "
                f"choose from {sorted(OPERATIONS)}"
            )
        if capabilities is not None:
            # An instance attribute shadows the class declaration for this engine only.
            self.capabilities = capabilities  # type: ignore[misc]

    def _call(self, operation: str) -> None:
        """Record ``operation``; raise EngineUnavailable when it is ``down``."""
        self.calls.append(operation)
        if operation in self.down or _KIND.get(operation) in self.down:
            raise EngineUnavailable("memory store unreachable", address=self.address)

    def _live(self, key: str, now: float) -> bool:
        entry = self.data.get(key)
        return entry is not None and entry[1] > now

    def _version(self, key: str, entry: tuple[bytes, float]) -> int:
        """The version of ``entry`` (under the lock): a new one when the entry is new.

        Versions follow the entry object, so a tuple put in ``data`` by any
        code (a save, a test, a subclass) has a version no earlier load saw.
        """
        known = self._versions.get(key)
        if known is None or known[1] is not entry:
            known = (next(self._counter), entry)
            self._versions[key] = known
        return known[0]

    def load(self, key: str) -> bytes | None:
        """The live bytes under ``key``, else ``None``."""
        self._call("load")
        if not self.is_valid_key(key):
            return None
        with self._lock:
            entry = self.data.get(key)
            if entry is None or entry[1] <= self.now():
                return None
            return entry[0]

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """Create (``must_create``) or update atomically; never resurrect. A new version."""
        self._call("save")
        self.check_key(key)
        with self._lock:
            live = self._live(key, self.now())
            if must_create and live:
                raise CreateError(f"session key {key[:6]}... is taken")
            if not must_create and not live:
                raise UpdateError(f"session {key[:6]}... vanished before it could be updated")
            self.data[key] = (bytes(data), float(expires_at))
        return key

    def exists(self, key: str) -> bool:
        """True when a live session is stored under ``key``."""
        self._call("exists")
        if not self.is_valid_key(key):
            return False
        with self._lock:
            return self._live(key, self.now())

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self._call("delete")
        with self._lock:
            self.data.pop(key, None)
            self._versions.pop(key, None)

    def clear_expired(self) -> int:
        """Drop expired entries and run-out leases; return how many entries."""
        self._call("clear_expired")
        with self._lock:
            now = self.now()
            stale = [k for k, (_, expires_at) in self.data.items() if expires_at <= now]
            for key in stale:
                del self.data[key]
                self._versions.pop(key, None)
            for key in [k for k, (_, until) in self.leases.items() if until <= now]:
                del self.leases[key]
            return len(stale)

    def health(self) -> None:
        """Raise EngineUnavailable when ``"health"`` is ``down``."""
        if "health" in self.down:
            raise EngineUnavailable("memory store unreachable", address=self.address)

    def close(self) -> None:
        """Forget everything: sessions, versions and leases."""
        with self._lock:
            self.data.clear()
            self._versions.clear()
            self.leases.clear()

    # -- versioned saves (capabilities.versioned) ---------------------------------------

    def load_versioned(self, key: str) -> tuple[bytes, Version] | None:
        """``load`` plus the entry's version, read under the same lock."""
        self._call("load_versioned")
        if not self.is_valid_key(key):
            return None
        with self._lock:
            if not self._live(key, self.now()):
                return None
            entry = self.data[key]
            return entry[0], self._version(key, entry)

    def save_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        """Create (``version=None``) or write only over ``version``; return ``(key, new)``.

        A version this engine never handed out (not a positive int) is a
        ``TypeError``; another stored version is ``VersionConflict``; a
        missing or expired entry is ``UpdateError``. Nothing is written then.
        """
        self._call("save_versioned")
        self.check_key(key)
        if version is not None and (type(version) is not int or version < 1):
            raise TypeError(
                f"{version!r} is not a version of the memory engine (one from load_versioned)"
            )
        with self._lock:
            live = self._live(key, self.now())
            if version is None:
                if live:
                    raise CreateError(f"session key {key[:6]}... is taken")
            elif not live:
                raise UpdateError(f"session {key[:6]}... vanished before it could be updated")
            elif self._version(key, self.data[key]) != version:
                raise VersionConflict(
                    f"session {key[:6]}... was saved by another writer since version "
                    f"{version} was loaded; nothing was written"
                )
            entry = self.data[key] = (bytes(data), float(expires_at))
            return key, self._version(key, entry)

    # -- session locks (capabilities.locking) ---------------------------------------------

    def acquire_lock(self, key: str, ttl: float) -> str | None:
        """Take the lease on ``key`` for ``ttl`` seconds if it is free or run out; never waits.

        An invalid key is ``InvalidSessionKey``; a ``ttl`` that is not a
        finite number of seconds above 0 is ``ValueError``.
        """
        self._call("acquire_lock")
        self.check_key(key)
        ttl = self.lease_seconds(ttl)
        token = secrets.token_hex(16)
        with self._lock:
            now = self.now()
            held = self.leases.get(key)
            if held is not None and held[1] > now:
                return None
            self.leases[key] = (token, now + ttl)
        return token

    def release_lock(self, key: str, token: str) -> None:
        """Drop the lease on ``key`` if ``token`` still holds it; otherwise nothing."""
        self._call("release_lock")
        with self._lock:
            held = self.leases.get(key)
            if held is not None and held[0] == token:
                del self.leases[key]

    # The async twins: native when this instance declares native_async, else EngineBase's.

    async def aload(self, key: str) -> bytes | None:
        """Async twin of ``load``."""
        if not self.capabilities.native_async:
            return await super().aload(key)
        self.calls.append("aload")
        return self.load(key)

    async def asave(
        self, key: str, data: bytes, expires_at: float, must_create: bool = False
    ) -> str:
        """Async twin of ``save``."""
        if not self.capabilities.native_async:
            return await super().asave(key, data, expires_at, must_create)
        self.calls.append("asave")
        return self.save(key, data, expires_at, must_create)

    async def aexists(self, key: str) -> bool:
        """Async twin of ``exists``."""
        if not self.capabilities.native_async:
            return await super().aexists(key)
        self.calls.append("aexists")
        return self.exists(key)

    async def adelete(self, key: str) -> None:
        """Async twin of ``delete``."""
        if not self.capabilities.native_async:
            return await super().adelete(key)
        self.calls.append("adelete")
        return self.delete(key)

    async def aclear_expired(self) -> int:
        """Async twin of ``clear_expired``."""
        if not self.capabilities.native_async:
            return await super().aclear_expired()
        self.calls.append("aclear_expired")
        return self.clear_expired()

    async def ahealth(self) -> None:
        """Async twin of ``health``."""
        if not self.capabilities.native_async:
            return await super().ahealth()
        return self.health()

    async def aload_versioned(self, key: str) -> tuple[bytes, Version] | None:
        """Async twin of ``load_versioned``."""
        if not self.capabilities.native_async:
            return await super().aload_versioned(key)
        self.calls.append("aload_versioned")
        return self.load_versioned(key)

    async def asave_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        """Async twin of ``save_versioned``."""
        if not self.capabilities.native_async:
            return await super().asave_versioned(key, data, expires_at, version)
        self.calls.append("asave_versioned")
        return self.save_versioned(key, data, expires_at, version)

    async def aacquire_lock(self, key: str, ttl: float) -> str | None:
        """Async twin of ``acquire_lock``."""
        if not self.capabilities.native_async:
            return await super().aacquire_lock(key, ttl)
        self.calls.append("aacquire_lock")
        return self.acquire_lock(key, ttl)

    async def arelease_lock(self, key: str, token: str) -> None:
        """Async twin of ``release_lock``."""
        if not self.capabilities.native_async:
            return await super().arelease_lock(key, token)
        self.calls.append("arelease_lock")
        return self.release_lock(key, token)


#: The former name of ``MemoryEngine``, kept so that code written against
#: it (plugins generated by an older ``sessionware new-plugin``) still imports.
