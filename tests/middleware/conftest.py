"""Fixtures for the middleware tests: the kit's engine and serializer, bound as settings."""

from __future__ import annotations

from typing import Any

import pytest

from sessionware.testing import MemoryEngine, ReferenceSerializer


@pytest.fixture
def engine() -> MemoryEngine:
    return MemoryEngine()


@pytest.fixture
def down_engine() -> MemoryEngine:
    return MemoryEngine()


@pytest.fixture
def serializer() -> ReferenceSerializer:
    return ReferenceSerializer()


@pytest.fixture
def store_args(engine: MemoryEngine, serializer: ReferenceSerializer) -> dict[str, Any]:
    """Keyword arguments that bind any SessionMiddleware form to the in-test engine."""
    return {"engine_instance": engine, "serializer_instance": serializer}
