"""A reference engine and serializer, so the kit and plugin tests need no other plugin.

``ReferenceSerializer`` is compact UTF-8 stdlib JSON, ``str`` keys only, a
top-level object only; the real ``json`` serializer lives in sessionware-json.
``MemoryEngine`` keeps sessions in a dict behind a lock and keeps every
promise of the engine protocol: the yardstick the kit is checked against, and
the one in-memory engine every test uses (sessionware's own, a serializer
plugin's end-to-end tests), with options for what those tests need.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any, ClassVar

from .._engine import Capabilities, EngineBase
from .._errors import CreateError, EngineUnavailable, SerializationError, UpdateError

__all__ = ["MemoryEngine", "ReferenceEngine", "ReferenceSerializer"]


def _check_keys(value: Any, path: str) -> None:
    """Raise ``SerializationError`` for the first non-``str`` mapping key."""
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str:
                raise SerializationError(
                    f"session data keys must be str, found {type(key).__name__} {key!r} at "
                    f"{path or 'the top level'}"
                )
            _check_keys(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_keys(item, f"{path}[{index}]")


class ReferenceSerializer:
    """JSON via the standard library: what the conformance kit stores sessions with."""

    name: ClassVar[str] = "kit_json"

    def dumps(self, data: dict[str, Any]) -> bytes:
        """Encode ``data`` (a dict with ``str`` keys at every depth) as compact UTF-8 JSON."""
        if not isinstance(data, dict):
            raise SerializationError(f"session data must be a dict, got {type(data).__name__}")
        _check_keys(data, "")
        try:
            text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise SerializationError(f"session data is not JSON-serializable: {exc}") from exc
        return text.encode("utf-8")

    def loads(self, raw: bytes) -> dict[str, Any]:
        """Decode bytes from ``dumps``; anything but a JSON object is refused."""
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise SerializationError(f"session data is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise SerializationError(
                f"session data must be a JSON object, got {type(data).__name__}"
            )
        return data

    def __repr__(self) -> str:
        return "<ReferenceSerializer 'kit_json'>"


#: The storage operations ``MemoryEngine`` can be told to fail (``down``).
OPERATIONS = frozenset({"load", "save", "exists", "delete", "clear_expired", "health"})


class MemoryEngine(EngineBase):
    """Sessions in a dict guarded by a lock, in this process only: the engine for tests.

    It keeps every promise of the engine protocol (the conformance kit runs
    against it), so a test that needs *an* engine uses this one rather than
    writing its own. What tests look at or change:

    - ``data`` maps each key to ``(bytes, expires_at)`` (e.g. to corrupt an entry);
    - ``calls`` lists every storage call in order (``"load"``, ``"save"``,
      ``"exists"``, ``"delete"``, ``"clear_expired"``, and ``"aload"`` etc. for
      native async twins), so a test can assert that a request did no I/O;
    - ``down`` is the set of operations (names from ``OPERATIONS``) that raise
      ``EngineUnavailable`` (address ``memory://test``), to
      simulate an outage; change it at any time.

    Options (keyword only; also accepted through ``get_engine`` once the class
    is registered, e.g. with ``registered``):

    - ``capabilities``: what this instance declares instead of the class
      default (in-process, ``inline_async``, not shared across processes).
      With ``native_async=True`` the async twins are native coroutines that
      record ``"a<name>"`` and then call the sync method, like a network engine
      with its own async driver would; otherwise they are ``EngineBase``'s.
    - ``down``: ``True`` for a store that is wholly unreachable, or the names of
      the operations that fail (``down={"save"}``); default: none.

    Thread safe; create and update are atomic; ``close`` forgets everything.
    A test that needs an engine *broken* in a specific way (a driver error
    escaping, a wrong declaration) subclasses this one next to that test.
    """

    name: ClassVar[str] = "kit_memory"
    capabilities: ClassVar[Capabilities] = Capabilities(
        shared_across_processes=False, local=True, inline_async=True
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
        if operation in self.down:
            raise EngineUnavailable("memory store unreachable", address=self.address)

    def _live(self, key: str, now: float) -> bool:
        entry = self.data.get(key)
        return entry is not None and entry[1] > now

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
        """Create (``must_create``) or update atomically; never resurrect."""
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

    def clear_expired(self) -> int:
        """Drop expired entries; return how many."""
        self._call("clear_expired")
        with self._lock:
            now = self.now()
            stale = [k for k, (_, expires_at) in self.data.items() if expires_at <= now]
            for key in stale:
                del self.data[key]
            return len(stale)

    def health(self) -> None:
        """Raise EngineUnavailable when ``"health"`` is ``down``."""
        if "health" in self.down:
            raise EngineUnavailable("memory store unreachable", address=self.address)

    def close(self) -> None:
        """Forget everything."""
        with self._lock:
            self.data.clear()

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


#: The former name of ``MemoryEngine``, kept so that code written against
#: it (plugins generated by an older ``sessionware new-plugin``) still imports.
ReferenceEngine = MemoryEngine
