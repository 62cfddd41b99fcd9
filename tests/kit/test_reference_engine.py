"""The conformance kit passes against the correct in-memory reference engine.

Also runs the serializer half against the kit's own ReferenceSerializer, and
checks the kit's public surface.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import sessionware.testing
from sessionware import Engine, Serializer
from sessionware.testing import EngineConformance, ReferenceSerializer, SerializerConformance


class TestReferenceEngine(EngineConformance):
    """The whole engine kit against ``MemoryEngine``."""

    @pytest.fixture
    def engine(self, engines: ModuleType) -> Iterator[Engine]:
        """An empty reference engine."""
        engine: Any = engines.MemoryEngine()
        yield engine
        engine.close()


class TestCookieEngine(EngineConformance):
    """The engine kit against a cookie-style engine: server-side tests skip by declaration."""

    @pytest.fixture
    def engine(self, engines: ModuleType) -> Iterator[Engine]:
        """A cookie engine (nothing to empty)."""
        engine: Any = engines.CookieEngine()
        yield engine
        engine.close()


class TestReferenceSerializer(SerializerConformance):
    """The whole serializer kit against the kit's own stdlib-json serializer."""

    @pytest.fixture
    def serializer(self) -> Serializer:
        """The kit's reference serializer."""
        return ReferenceSerializer()


def test_public_api_is_documented() -> None:
    """``sessionware.testing.__all__`` is exactly the names the guide's API table documents."""
    guide = Path(__file__).parents[2] / "docs" / "plugin-authors.md"
    table = guide.read_text(encoding="utf-8").split("### The kit's public API")[1].split("\n\n")[1]
    documented = {
        name for row in table.splitlines()[2:] for name in re.findall(r"`(\w+)", row.split("|")[1])
    }
    assert set(sessionware.testing.__all__) == documented


def test_reference_serializer_satisfies_the_protocol() -> None:
    """The kit's serializer is a ``sessionware.Serializer``."""
    assert isinstance(ReferenceSerializer(), Serializer)


def test_reference_engine_satisfies_the_protocol(engines: ModuleType) -> None:
    """``MemoryEngine`` is a ``sessionware.Engine``."""
    assert isinstance(engines.MemoryEngine(), Engine)
