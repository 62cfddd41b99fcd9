"""In-test engines and serializer shared by the test folders, so they need no plugin installed.

``MemoryEngine`` is a dict-based engine that honours ``must_create``,
``CreateError``/``UpdateError`` and expiry, and counts storage calls so tests
can assert that a request did no I/O. ``DownEngine`` raises
``EngineUnavailable`` on demand. ``JsonSerializer`` is a stdlib-json stand-in.
"""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar

from sessionware import (
    Capabilities,
    CreateError,
    EngineBase,
    EngineUnavailable,
    SerializationError,
    UpdateError,
)


class MemoryEngine(EngineBase):
    """Sessions in a dict; thread safe; counts every storage call in ``calls``."""

    name: ClassVar[str] = "memory"
    capabilities: ClassVar[Capabilities] = Capabilities(
        local=True, inline_async=True, shared_across_processes=False
    )

    def __init__(self) -> None:
        self.data: dict[str, tuple[bytes, float]] = {}
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def load(self, key: str) -> bytes | None:
        self.calls.append("load")
        if not self.is_valid_key(key):
            return None
        with self.lock:
            entry = self.data.get(key)
        if entry is None or entry[1] <= self.now():
            return None
        return entry[0]

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        self.calls.append("save")
        self.check_key(key)
        with self.lock:
            entry = self.data.get(key)
            alive = entry is not None and entry[1] > self.now()
            if must_create and alive:
                raise CreateError(f"key {key[:6]}... exists")
            if not must_create and not alive:
                raise UpdateError(f"key {key[:6]}... vanished")
            self.data[key] = (data, expires_at)
        return key

    def exists(self, key: str) -> bool:
        self.calls.append("exists")
        with self.lock:
            entry = self.data.get(key)
        return entry is not None and entry[1] > self.now()

    def delete(self, key: str) -> None:
        self.calls.append("delete")
        with self.lock:
            self.data.pop(key, None)

    def clear_expired(self) -> int:
        now = self.now()
        with self.lock:
            stale = [k for k, (_, exp) in self.data.items() if exp <= now]
            for key in stale:
                del self.data[key]
        return len(stale)


class NativeAsyncMemoryEngine(MemoryEngine):
    """A MemoryEngine that pretends to do network I/O with native async twins."""

    name: ClassVar[str] = "memory_async"
    capabilities: ClassVar[Capabilities] = Capabilities(native_async=True)

    async def aload(self, key: str) -> bytes | None:
        self.calls.append("aload")
        return self.load(key)

    async def asave(
        self, key: str, data: bytes, expires_at: float, must_create: bool = False
    ) -> str:
        self.calls.append("asave")
        return self.save(key, data, expires_at, must_create)


class DownEngine(MemoryEngine):
    """A MemoryEngine whose storage can be switched off (``down_on_load``/``down_on_save``)."""

    name: ClassVar[str] = "down"

    def __init__(self) -> None:
        super().__init__()
        self.down_on_load = False
        self.down_on_save = False

    def load(self, key: str) -> bytes | None:
        if self.down_on_load:
            raise EngineUnavailable("memory store unreachable", address="memory://test")
        return super().load(key)

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        if self.down_on_save:
            raise EngineUnavailable("memory store unreachable", address="memory://test")
        return super().save(key, data, expires_at, must_create)


class JsonSerializer:
    """Stdlib JSON with str keys, standing in for the ``json`` plugin."""

    name: ClassVar[str] = "json_test"

    def dumps(self, data: dict[str, Any]) -> bytes:
        try:
            return json.dumps(data, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise SerializationError(str(exc)) from exc

    def loads(self, raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise SerializationError(str(exc)) from exc
        if not isinstance(data, dict):
            raise SerializationError("not a JSON object")
        return data
