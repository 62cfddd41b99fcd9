"""sessionware-memory: sessions in a dict inside the current process.

The worked example of sessionware's plugin-author guide. Good for tests,
demos and single-process apps; sessions vanish when the process exits and
are not shared between worker processes (declared as
``shared_across_processes=False``).

Built only from sessionware's public API.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import sessionware
from sessionware import Capabilities, CreateError, EngineBase, EngineUnavailable, UpdateError

__all__ = ["MemoryEngine", "register_engines"]
__version__ = "0.1.0"


class MemoryEngine(EngineBase):
    """Session bytes in a dict guarded by a lock.

    Options (keyword arguments, passed through ``get_engine("memory", ...)``
    or ``session_store(engine="memory", ...)``):

    ``max_sessions``
        Refuse to create more than this many live sessions (``None``: no
        limit). When full, expired sessions are cleared first; if it is
        still full, creating raises ``EngineUnavailable``.
    """

    name: ClassVar[str] = "memory"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_side=True,
        clear_expired=True,
        shared_across_processes=False,
        local=True,
    )

    def __init__(self, *, max_sessions: int | None = None) -> None:
        if max_sessions is not None and (
            not isinstance(max_sessions, int) or isinstance(max_sessions, bool) or max_sessions < 1
        ):
            raise ValueError(f"max_sessions must be a positive int or None, got {max_sessions!r}")
        self.max_sessions = max_sessions
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[bytes, float]] = {}

    def _live_entry(self, key: str) -> tuple[bytes, float] | None:
        """The entry under ``key`` if unexpired (caller holds the lock)."""
        entry = self._entries.get(key)
        if entry is None or entry[1] <= self.now():
            return None
        return entry

    def load(self, key: str) -> bytes | None:
        """The bytes under ``key``; ``None`` if missing, expired or not a valid key."""
        if not self.is_valid_key(key):
            return None
        with self._lock:
            entry = self._live_entry(key)
        return None if entry is None else entry[0]

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """Create (``must_create``) or update ``key`` atomically; return the key."""
        self.check_key(key)
        with self._lock:
            live = self._live_entry(key) is not None
            if must_create:
                if live:
                    raise CreateError(f"session key {key[:6]}... is already taken")
                self._make_room()
            elif not live:
                raise UpdateError(
                    f"session {key[:6]}... was deleted or expired before it could be saved"
                )
            self._entries[key] = (bytes(data), float(expires_at))
        return key

    def _make_room(self) -> None:
        """Enforce ``max_sessions`` before a create (caller holds the lock)."""
        if self.max_sessions is None or len(self._entries) < self.max_sessions:
            return
        self._clear_expired_locked()
        if len(self._entries) >= self.max_sessions:
            raise EngineUnavailable(
                f"the memory engine holds its max_sessions={self.max_sessions} live sessions; "
                "raise the limit or use a shared store such as the db engine",
                address="memory",
            )

    def exists(self, key: str) -> bool:
        """True when an unexpired session is stored under ``key``."""
        if not self.is_valid_key(key):
            return False
        with self._lock:
            return self._live_entry(key) is not None

    def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens if it is absent."""
        with self._lock:
            self._entries.pop(key, None)

    def _clear_expired_locked(self) -> int:
        now = self.now()
        stale = [key for key, (_, expires_at) in self._entries.items() if expires_at <= now]
        for key in stale:
            del self._entries[key]
        return len(stale)

    def clear_expired(self) -> int:
        """Remove expired sessions; return how many were removed."""
        with self._lock:
            return self._clear_expired_locked()

    def close(self) -> None:
        """Drop every session (there is no connection to release)."""
        with self._lock:
            self._entries.clear()


@sessionware.hookimpl
def register_engines(register: Any) -> None:
    """Provide the ``memory`` engine."""
    register(MemoryEngine)
