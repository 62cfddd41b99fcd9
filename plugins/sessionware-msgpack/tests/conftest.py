"""Fixtures for the msgpack serializer tests: the serializer and a dict-backed engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest
from sessionware_msgpack import MsgpackSerializer

import sessionware
from sessionware.testing import ReferenceEngine


class DictEngine(ReferenceEngine):
    """The kit's dict-backed reference engine, so these tests need no engine plugin."""

    name: ClassVar[str] = "test_dict"


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
