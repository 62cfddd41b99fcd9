"""The db engine's optional methods: ``health`` (what ``sessionware check`` calls) and
``count_expired`` (the total of ``sessionware clear-expired``'s progress bar)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sessionware_db import DbEngine

import sessionware
from sessionware import EngineUnavailable


def fill(engine: DbEngine, expired: int, live: int) -> None:
    now = time.time()
    for i in range(expired + live):
        expires = now - 10 if i < expired else now + 3600
        engine.save(sessionware.new_session_key(), b"{}", expires, must_create=True)


def test_count_expired_counts_what_clear_expired_removes(engine: DbEngine) -> None:
    fill(engine, expired=7, live=3)
    assert engine.count_expired() == 7
    assert engine.clear_expired() == 7
    assert engine.count_expired() == 0


def test_count_expired_reads_only_the_expiry_index(
    engine: DbEngine, raw: sqlite3.Connection
) -> None:
    plan = " ".join(
        row[3]
        for row in raw.execute("EXPLAIN QUERY PLAN " + engine._sql_count_expired, (time.time(),))
    )
    assert "COVERING INDEX" in plan, plan


def test_health_passes_for_a_usable_database(engine: DbEngine) -> None:
    engine.health()
    asyncio.run(engine.ahealth())


def test_health_writes_nothing(engine: DbEngine, raw: sqlite3.Connection) -> None:
    fill(engine, expired=0, live=2)
    before = raw.execute("SELECT * FROM sessionware_session ORDER BY session_key").fetchall()
    engine.health()
    assert (
        raw.execute("SELECT * FROM sessionware_session ORDER BY session_key").fetchall() == before
    )


def test_health_reports_a_removed_database_file(engine: DbEngine, db_path: Path) -> None:
    engine.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    with pytest.raises(EngineUnavailable, match="does not exist") as info:
        engine.health()
    assert info.value.address == str(db_path)


def test_health_reports_a_corrupted_file(engine: DbEngine, db_path: Path) -> None:
    engine.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db_path.write_bytes(b"not a database at all" * 200)
    with pytest.raises(EngineUnavailable, match="not an SQLite database"):
        engine.health()


def test_health_reports_a_write_lock_held_past_the_timeout(
    make_engine: Callable[..., DbEngine], db_path: Path
) -> None:
    engine = make_engine(timeout=0.05)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(EngineUnavailable, match="stayed locked"):
            engine.health()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    engine.health()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_health_reports_a_directory_it_cannot_write(engine: DbEngine, db_path: Path) -> None:
    db_path.parent.chmod(0o500)
    try:
        with pytest.raises(EngineUnavailable, match="not writable"):
            engine.health()
    finally:
        db_path.parent.chmod(0o700)
