"""The db engine through sessionware's conformance kit."""

from __future__ import annotations

import shutil
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

    @pytest.fixture
    def second_engine(self, engine: DbEngine) -> Iterator[DbEngine]:
        # Another engine on the same database file: a second process's engine.
        other = DbEngine(path=engine.path)
        yield other
        other.close()

    @pytest.fixture
    def unreachable_engine(self, tmp_path: Path) -> Iterator[DbEngine]:
        # The database's directory disappears after start-up (an unmounted volume):
        # every new connection fails to open the file.
        (tmp_path / "volume").mkdir()
        engine = DbEngine(path=tmp_path / "volume" / "sessions.sqlite3")
        shutil.rmtree(tmp_path / "volume")
        yield engine
        engine.close()
