"""The file engine's optional methods: ``health`` (what ``sessionware check`` calls) and
``count_expired`` (the total of ``sessionware clear-expired``'s progress bar)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sessionware_file import FileEngine

import sessionware
from sessionware import EngineUnavailable


def fill(engine: FileEngine, expired: int, live: int) -> None:
    now = time.time()
    for i in range(expired + live):
        expires = now - 10 if i < expired else now + 3600
        engine.save(sessionware.new_session_key(), b"{}", expires, must_create=True)


def test_count_expired_counts_what_clear_expired_removes(engine: FileEngine) -> None:
    fill(engine, expired=6, live=3)
    assert engine.count_expired() == 6
    assert engine.clear_expired() == 6
    assert engine.count_expired() == 0


def test_health_passes_for_a_usable_directory(engine: FileEngine) -> None:
    engine.health()
    asyncio.run(engine.ahealth())


def test_health_reports_a_removed_directory(engine: FileEngine, session_dir: Path) -> None:
    session_dir.rmdir()
    with pytest.raises(EngineUnavailable, match="cannot be reached") as caught:
        engine.health()
    assert caught.value.address == engine.path


def test_health_reports_a_directory_replaced_by_a_file(
    engine: FileEngine, session_dir: Path
) -> None:
    session_dir.rmdir()
    session_dir.write_text("not a directory")
    with pytest.raises(EngineUnavailable, match="no longer a directory"):
        engine.health()


def test_progress_is_reported_while_scanning_live_sessions(engine: FileEngine) -> None:
    fill(engine, expired=0, live=300)
    seen: list[int] = []
    assert engine.clear_expired(progress=seen.append) == 0
    assert seen == [0, 0]  # once after 256 files scanned, once at the end
