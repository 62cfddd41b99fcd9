"""The file engine through sessionware's conformance kit, with and without fsync."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sessionware_file import FileEngine

from sessionware.testing import EngineConformance


class TestFileEngineConformance(EngineConformance):
    @pytest.fixture
    def engine(self, tmp_path: Path) -> Iterator[FileEngine]:
        engine = FileEngine(path=tmp_path)
        yield engine
        engine.close()

    @pytest.fixture
    def second_engine(self, engine: FileEngine) -> Iterator[FileEngine]:
        # Another engine on the same directory: a second process's engine.
        other = FileEngine(path=engine.path)
        yield other
        other.close()

    @pytest.fixture
    def unreachable_engine(self, tmp_path: Path) -> Iterator[FileEngine]:
        # The session directory disappears after start-up (an unmounted volume).
        (tmp_path / "volume").mkdir()
        engine = FileEngine(path=tmp_path / "volume")
        shutil.rmtree(tmp_path / "volume")
        yield engine
        engine.close()


class TestFileEngineWithFsyncConformance(EngineConformance):
    @pytest.fixture
    def engine(self, tmp_path: Path) -> Iterator[FileEngine]:
        engine = FileEngine(path=tmp_path, fsync=True)
        yield engine
        engine.close()

    @pytest.fixture
    def second_engine(self, engine: FileEngine) -> Iterator[FileEngine]:
        other = FileEngine(path=engine.path, fsync=True)
        yield other
        other.close()
