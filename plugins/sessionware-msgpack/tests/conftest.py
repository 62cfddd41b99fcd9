"""Fixtures for the msgpack serializer tests: the serializer and a dict-backed engine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest
from sessionware_msgpack import MsgpackSerializer

import sessionware
from sessionware import Capabilities, CreateError, EngineBase, UpdateError


class DictEngine(EngineBase):
    """Session bytes in a dict, so these tests need no engine plugin; ``data`` is open to tests."""

    name: ClassVar[str] = "test_dict"
    capabilities: ClassVar[Capabilities] = Capabilities(local=True, shared_across_processes=False)

    def __init__(self) -> None:
        self.data: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def load(self, key: str) -> bytes | None:
        if not self.is_valid_key(key):
            return None
        entry = self.data.get(key)
        return entry[0] if entry is not None and entry[1] > self.now() else None

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        self.check_key(key)
        with self._lock:
            live = self.exists(key)
            if must_create and live:
                raise CreateError(f"session key {key[:6]}... is taken")
            if not must_create and not live:
                raise UpdateError(f"session {key[:6]}... vanished")
            self.data[key] = (bytes(data), expires_at)
        return key

    def exists(self, key: str) -> bool:
        entry = self.data.get(key)
        return entry is not None and entry[1] > self.now()

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def clear_expired(self) -> int:
        now = self.now()
        stale = [k for k, (_, exp) in self.data.items() if exp <= now]
        for key in stale:
            del self.data[key]
        return len(stale)


@pytest.fixture
def ser() -> MsgpackSerializer:
    return MsgpackSerializer()


@pytest.fixture
def engine() -> DictEngine:
    return DictEngine()


@pytest.fixture
def Store(engine: DictEngine) -> Iterator[type[sessionware.SessionStore]]:
    """Sessions on ``engine``, serialized by the msgpack plugin selected by name."""
    yield sessionware.session_store(engine_instance=engine, serializer="msgpack")
