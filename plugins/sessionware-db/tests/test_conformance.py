"""The db engine through sessionware's conformance kit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sessionware_db import DbEngine

from sessionware.testing import EngineConformance


class TestDbEngineConformance(EngineConformance):
    @pytest.fixture
    def engine(self, tmp_path: Path) -> Iterator[DbEngine]:
        engine = DbEngine(path=tmp_path / "conformance.sqlite3")
        yield engine
        engine.close()
