"""A reference engine and serializer, so the kit and plugin tests need no other plugin.

``ReferenceSerializer`` is compact UTF-8 stdlib JSON, ``str`` keys only, a
top-level object only; the real ``json`` serializer lives in sessionware-json.
``ReferenceEngine`` keeps sessions in a dict behind a lock and keeps every
promise of the engine protocol: the yardstick the kit is checked against, and
a ready engine for a serializer plugin's end-to-end tests.
"""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar

from .._engine import Capabilities, EngineBase
from .._errors import CreateError, SerializationError, UpdateError

__all__ = ["ReferenceEngine", "ReferenceSerializer"]


def _check_keys(value: Any, path: str) -> None:
    """Raise :class:`SerializationError` for the first non-``str`` mapping key."""
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
        """Decode bytes from :meth:`dumps`; anything but a JSON object is refused."""
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


class ReferenceEngine(EngineBase):
    """Sessions in a dict guarded by a lock, in this process only.

    ``data`` maps each key to ``(bytes, expires_at)`` and is open to tests
    (e.g. to corrupt a stored entry). Thread safe; create and update are atomic.
    """

    name: ClassVar[str] = "kit_reference"
    capabilities: ClassVar[Capabilities] = Capabilities(
        shared_across_processes=False, local=True, inline_async=True
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: key -> (stored bytes, expires_at)
        self.data: dict[str, tuple[bytes, float]] = {}

    def _live(self, key: str, now: float) -> bool:
        entry = self.data.get(key)
        return entry is not None and entry[1] > now

    def load(self, key: str) -> bytes | None:
        """The live bytes under ``key``, else ``None``."""
        if not self.is_valid_key(key):
            return None
        with self._lock:
            entry = self.data.get(key)
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
            self.data[key] = (bytes(data), float(expires_at))
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
            self.data.pop(key, None)

    def clear_expired(self) -> int:
        """Drop expired entries; return how many."""
        with self._lock:
            now = self.now()
            stale = [k for k, (_, expires_at) in self.data.items() if expires_at <= now]
            for key in stale:
                del self.data[key]
            return len(stale)

    def close(self) -> None:
        """Forget everything."""
        with self._lock:
            self.data.clear()
