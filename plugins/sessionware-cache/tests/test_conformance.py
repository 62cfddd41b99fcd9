"""The cache engine through sessionware's conformance kit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sessionware_cache import CacheEngine

from sessionware.testing import EngineConformance


class TestCacheEngineConformance(EngineConformance):
    @pytest.fixture
    def engine(self) -> Iterator[CacheEngine]:
        engine = CacheEngine()
        yield engine
        engine.close()
