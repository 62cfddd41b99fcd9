from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import sessionware
from sessionware import SessionStore
from sessionware.testing import MemoryEngine, ReferenceSerializer


@pytest.fixture
def engine() -> MemoryEngine:
    return MemoryEngine()


@pytest.fixture
def make_store(engine: MemoryEngine) -> Iterator[Any]:
    def make(**settings: Any) -> type[SessionStore]:
        return sessionware.session_store(
            engine_instance=engine, serializer_instance=ReferenceSerializer(), **settings
        )

    yield make


@pytest.fixture
def Store(make_store: Any) -> type[SessionStore]:
    return make_store()
