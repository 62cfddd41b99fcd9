"""A correct in-memory reference engine, and deliberately broken variants of it.

``MemoryEngine`` is the yardstick the conformance kit must pass against; each
``Broken*`` class breaks exactly one promise of the engine protocol, and
``StringifyingSerializer`` one promise of the serializer protocol, so the
teeth tests can check that the kit notices. This file is also copied next to
generated test modules, so it imports only sessionware's public API.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
import threading
from typing import Any, ClassVar

from sessionware import Capabilities, CreateError, EngineBase, SerializationError, UpdateError


class MemoryEngine(EngineBase):
    """Sessions in a dict guarded by a lock: the reference for the kit."""

    name: ClassVar[str] = "kit_memory"
    capabilities: ClassVar[Capabilities] = Capabilities(shared_across_processes=False, local=True)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[bytes, float]] = {}

    def _live(self, key: str, now: float) -> bool:
        entry = self._entries.get(key)
        return entry is not None and entry[1] > now

    def load(self, key: str) -> bytes | None:
        """The live bytes under ``key``, else ``None``."""
        if not self.is_valid_key(key):
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1] <= self.now():
                return None
            return entry[0]

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """Create (``must_create``) or update atomically; never resurrect."""
        self.check_key(key)
        with self._lock:
            live = self._live(key, self.now())
            if must_create and live:
                raise CreateError(f"session key {key[:6]}... is taken")
            if not must_create and not live:
                raise UpdateError(f"session {key[:6]}... vanished before it could be updated")
            self._entries[key] = (bytes(data), float(expires_at))
        return key

    def exists(self, key: str) -> bool:
        """True when a live session is stored under ``key``."""
        if not self.is_valid_key(key):
            return False
        with self._lock:
            return self._live(key, self.now())

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        with self._lock:
            self._entries.pop(key, None)

    def clear_expired(self) -> int:
        """Drop expired entries; return how many."""
        with self._lock:
            now = self.now()
            stale = [k for k, (_, expires_at) in self._entries.items() if expires_at <= now]
            for key in stale:
                del self._entries[key]
            return len(stale)

    def close(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()


class BrokenResurrectingEngine(MemoryEngine):
    """BROKEN: an update of a missing (deleted, expired) key inserts it again."""

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        self.check_key(key)
        with self._lock:
            if must_create and self._live(key, self.now()):
                raise CreateError("taken")
            self._entries[key] = (bytes(data), float(expires_at))
        return key


class BrokenNoExpiryEngine(MemoryEngine):
    """BROKEN: ``expires_at`` is stored but never enforced."""

    def _live(self, key: str, now: float) -> bool:
        return key in self._entries

    def load(self, key: str) -> bytes | None:
        if not self.is_valid_key(key):
            return None
        with self._lock:
            entry = self._entries.get(key)
            return None if entry is None else entry[0]

    def clear_expired(self) -> int:
        return 0


class BrokenCreatesOnLoadEngine(MemoryEngine):
    """BROKEN: loading an unknown key stores an empty record for it."""

    def load(self, key: str) -> bytes | None:
        if not self.is_valid_key(key):
            return None
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (b"", self.now() + 3600)
                return None
            data, expires_at = self._entries[key]
            return data if expires_at > self.now() else None


class BrokenOverwritingEngine(MemoryEngine):
    """BROKEN: ``must_create`` overwrites an existing session instead of raising."""

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        self.check_key(key)
        with self._lock:
            if not must_create and not self._live(key, self.now()):
                raise UpdateError("vanished")
            self._entries[key] = (bytes(data), float(expires_at))
        return key


class StringifyingSerializer:
    """BROKEN: plain ``json.dumps``, which silently turns ``{0: 1}`` into ``{"0": 1}``."""

    name: ClassVar[str] = "stringifying"

    def dumps(self, data: dict[str, Any]) -> bytes:
        try:
            return json.dumps(data).encode()
        except (TypeError, ValueError) as exc:
            raise SerializationError(str(exc)) from exc

    def loads(self, raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise SerializationError(str(exc)) from exc
        if not isinstance(data, dict):
            raise SerializationError("not a JSON object")
        return data


class CookieEngine(EngineBase):
    """A cookie-style engine (``server_side=False``): the handle IS the data.

    Unsigned, so only fit for exercising the kit's capability skips: ``save``
    returns base64 of the expiry and the bytes, ``load`` decodes it back.
    """

    name: ClassVar[str] = "kit_cookie"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_side=False, clear_expired=False, local=True
    )
    _COOKIE = re.compile(r"[A-Za-z0-9_=-]{12,8192}")
    _PREFIX = "kc1_"

    def is_valid_key(self, key: str) -> bool:
        """Session keys (for ``save``) and cookie values (for ``load``) are both base64-ish."""
        return type(key) is str and self._COOKIE.fullmatch(key) is not None

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """Return the cookie value carrying ``data`` until ``expires_at``."""
        self.check_key(key)
        body = base64.urlsafe_b64encode(struct.pack(">d", expires_at) + data).decode("ascii")
        return self._PREFIX + body

    def load(self, key: str) -> bytes | None:
        """Decode a cookie value; ``None`` when malformed or expired."""
        if not self.is_valid_key(key) or not key.startswith(self._PREFIX):
            return None
        try:
            raw = base64.urlsafe_b64decode(key[len(self._PREFIX) :].encode("ascii"))
        except (binascii.Error, ValueError):
            return None
        if len(raw) < 8:
            return None
        (expires_at,) = struct.unpack(">d", raw[:8])
        return raw[8:] if expires_at > self.now() else None

    def exists(self, key: str) -> bool:
        """A cookie exists when it decodes and is unexpired."""
        return self.load(key) is not None

    def delete(self, key: str) -> None:
        """Nothing is stored server-side."""
