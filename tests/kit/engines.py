"""Deliberately broken variants of the kit's ``MemoryEngine``, and a cookie-style engine.

``sessionware.testing.MemoryEngine`` is the yardstick the conformance kit must
pass against; each ``Broken*`` class here breaks exactly one promise of the
engine protocol, and ``StringifyingSerializer`` one promise of the serializer
protocol, so the teeth tests can check that the kit notices. They subclass the
shared engine (rather than being engines of their own) so that each differs
from a correct engine by the one broken method only. This file is also copied
next to generated test modules, so it imports only sessionware's public API.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
from typing import Any, ClassVar

from sessionware import (
    Capabilities,
    CreateError,
    EngineBase,
    SerializationError,
    UpdateError,
    Version,
)
from sessionware.testing import MemoryEngine


class BrokenResurrectingEngine(MemoryEngine):
    """BROKEN: an update of a missing (deleted, expired) key inserts it again."""

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        self.check_key(key)
        with self._lock:
            if must_create and self._live(key, self.now()):
                raise CreateError("taken")
            self.data[key] = (bytes(data), float(expires_at))
        return key

    def save_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        if version is not None and not self._live(key, self.now()):
            self.save(key, data, expires_at)  # writes the missing key back
            return key, self.load_versioned(key)[1]  # type: ignore[index]
        return super().save_versioned(key, data, expires_at, version)


class BrokenNoExpiryEngine(MemoryEngine):
    """BROKEN: ``expires_at`` is stored but never enforced."""

    def _live(self, key: str, now: float) -> bool:
        return key in self.data

    def load(self, key: str) -> bytes | None:
        if not self.is_valid_key(key):
            return None
        with self._lock:
            entry = self.data.get(key)
            return None if entry is None else entry[0]

    def clear_expired(self) -> int:
        return 0


class BrokenCreatesOnLoadEngine(MemoryEngine):
    """BROKEN: loading an unknown key stores an empty record for it."""

    def load(self, key: str) -> bytes | None:
        if not self.is_valid_key(key):
            return None
        with self._lock:
            if key not in self.data:
                self.data[key] = (b"", self.now() + 3600)
                return None
            data, expires_at = self.data[key]
            return data if expires_at > self.now() else None

    def load_versioned(self, key: str) -> tuple[bytes, Version] | None:
        if self.is_valid_key(key) and key not in self.data:
            self.load(key)
            return None
        return super().load_versioned(key)


class BrokenOverwritingEngine(MemoryEngine):
    """BROKEN: ``must_create`` overwrites an existing session instead of raising."""

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        self.check_key(key)
        with self._lock:
            if not must_create and not self._live(key, self.now()):
                raise UpdateError("vanished")
            self.data[key] = (bytes(data), float(expires_at))
        return key

    def save_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        if version is None:
            self.data.pop(key, None)  # so that the create below always succeeds
        return super().save_versioned(key, data, expires_at, version)


class BrokenLastWriterWinsEngine(MemoryEngine):
    """BROKEN: ``save_versioned`` never compares: a stale version overwrites a newer save."""

    def save_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        if version is not None:
            self.save(key, data, expires_at)
            return key, self.load_versioned(key)[1]  # type: ignore[index]
        return super().save_versioned(key, data, expires_at, version)


class BrokenReleaseAnyTokenEngine(MemoryEngine):
    """BROKEN: ``release_lock`` frees the lock whatever token it is given."""

    def release_lock(self, key: str, token: str) -> None:
        with self._lock:
            self.leases.pop(key, None)


class BrokenDoubleLockEngine(MemoryEngine):
    """BROKEN: ``acquire_lock`` never refuses: a held lock is handed out again."""

    def acquire_lock(self, key: str, ttl: float) -> str | None:
        with self._lock:
            self.leases.pop(key, None)
        return super().acquire_lock(key, ttl)


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
        server_side=False, clear_expired=False, local=True, inline_async=True
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
