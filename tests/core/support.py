"""In-test engine and serializer for the core's own tests (no plugin needed)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from sessionware import (
    Capabilities,
    CreateError,
    EngineBase,
    SerializationError,
    UpdateError,
)


class MemoryEngine(EngineBase):
    """A dict engine that counts its calls, so tests can assert "no I/O happened"."""

    name = "memory"
    capabilities = Capabilities(local=True)

    def __init__(self) -> None:
        self.rows: dict[str, tuple[bytes, float]] = {}
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def load(self, key: str) -> bytes | None:
        self.calls.append("load")
        if not self.is_valid_key(key):
            return None
        row = self.rows.get(key)
        if row is None or row[1] <= time.time():
            return None
        return row[0]

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        self.calls.append("save")
        self.check_key(key)
        with self._lock:
            row = self.rows.get(key)
            live = row is not None and row[1] > time.time()
            if must_create and live:
                raise CreateError(key)
            if not must_create and not live:
                raise UpdateError(key)
            self.rows[key] = (data, expires_at)
        return key

    def exists(self, key: str) -> bool:
        self.calls.append("exists")
        row = self.rows.get(key) if self.is_valid_key(key) else None
        return row is not None and row[1] > time.time()

    def delete(self, key: str) -> None:
        self.calls.append("delete")
        self.rows.pop(key, None)

    def clear_expired(self) -> int:
        now = time.time()
        dead = [k for k, (_, exp) in self.rows.items() if exp <= now]
        for k in dead:
            del self.rows[k]
        return len(dead)


class JsonSerializer:
    """Plain stdlib json, refusing what is not a dict."""

    name = "testjson"

    def dumps(self, data: dict[str, Any]) -> bytes:
        try:
            return json.dumps(data, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise SerializationError(str(exc)) from exc

    def loads(self, raw: bytes) -> dict[str, Any]:
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise SerializationError(str(exc)) from exc
        if not isinstance(value, dict):
            raise SerializationError("not an object")
        return value
