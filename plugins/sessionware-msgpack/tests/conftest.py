"""Fixtures for the msgpack serializer tests: the serializer and a dict-backed engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sessionware_msgpack import MsgpackSerializer

import sessionware
from sessionware.testing import MemoryEngine


@pytest.fixture
def ser() -> MsgpackSerializer:
    return MsgpackSerializer()


@pytest.fixture
def engine() -> MemoryEngine:
    """The kit's in-memory engine, so these tests need no engine plugin."""
    return MemoryEngine()


@pytest.fixture
def Store(engine: MemoryEngine) -> Iterator[type[sessionware.SessionStore]]:
    """Sessions on ``engine``, serialized by the msgpack plugin selected by name."""
    yield sessionware.session_store(engine_instance=engine, serializer="msgpack")
