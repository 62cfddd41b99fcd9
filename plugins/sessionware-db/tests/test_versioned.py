"""Versioned saves (issue 12): load_versioned, save_versioned, the schema upgrade, a real race."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sessionware_db import SCHEMA_VERSION, DbEngine

import sessionware
from sessionware.testing import count_lost_updates, expired, expires_in


def new_key() -> str:
    return sessionware.new_session_key()


@pytest.fixture
def saved(engine: DbEngine) -> tuple[str, int]:
    """A live session created through save_versioned: its key and version."""
    key = new_key()
    _, version = engine.save_versioned(key, b"first", expires_in(), None)
    assert isinstance(version, int)
    return key, version


# -- load_versioned ----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "../x", "A" * 32, "a" * 31 + "/"])
def test_load_versioned_of_an_invalid_key_is_none(engine: DbEngine, bad: str) -> None:
    assert engine.load_versioned(bad) is None


def test_load_versioned_of_a_missing_key_is_none_and_creates_nothing(
    engine: DbEngine, rows: Callable[[], int]
) -> None:
    assert engine.load_versioned(new_key()) is None
    assert rows() == 0


def test_load_versioned_of_an_expired_session_is_none(engine: DbEngine) -> None:
    key = new_key()
    engine.save(key, b"x", expired(), must_create=True)
    assert engine.load_versioned(key) is None


def test_text_written_behind_the_engine_loads_versioned_as_bytes(
    engine: DbEngine, raw: sqlite3.Connection
) -> None:
    key = new_key()
    raw.execute(
        "INSERT INTO sessionware_session (session_key, session_data, expires_at) VALUES (?, ?, ?)",
        (key, "{}", expires_in()),
    )
    # A writer that knows nothing of versions gets the column's default.
    assert engine.load_versioned(key) == (b"{}", 0)


# -- save_versioned: create ----------------------------------------------------------


def test_create_returns_the_key_and_a_version(engine: DbEngine) -> None:
    key = new_key()
    assert engine.save_versioned(key, b"x", expires_in(), None) == (key, 1)


def test_create_replaces_an_expired_row_with_a_version_never_handed_out(
    engine: DbEngine, rows: Callable[[], int]
) -> None:
    key = new_key()
    _, old = engine.save_versioned(key, b"old", expired(), None)
    _, new = engine.save_versioned(key, b"new", expires_in(), None)
    assert new != old
    assert engine.load_versioned(key) == (b"new", new)
    assert rows() == 1


def test_plain_create_refuses_a_key_created_versioned(
    engine: DbEngine, saved: tuple[str, int]
) -> None:
    with pytest.raises(sessionware.CreateError):
        engine.save(saved[0], b"x", expires_in(), must_create=True)


# -- save_versioned: compare-and-set -------------------------------------------------


def test_stale_save_raises_version_conflict_and_writes_nothing(
    engine: DbEngine, saved: tuple[str, int], raw: sqlite3.Connection
) -> None:
    key, version = saved
    _, current = engine.save_versioned(key, b"theirs", expires_in(600), version)
    before = raw.execute("SELECT expires_at FROM sessionware_session").fetchone()
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"mine", expires_in(60), version)
    assert engine.load_versioned(key) == (b"theirs", current)
    assert raw.execute("SELECT expires_at FROM sessionware_session").fetchone() == before


def test_rewriting_the_same_bytes_still_changes_the_version(
    engine: DbEngine, saved: tuple[str, int]
) -> None:
    key, version = saved
    _, new = engine.save_versioned(key, b"first", expires_in(), version)
    assert new != version
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"first", expires_in(), version)


def test_versioned_update_of_a_deleted_session_raises_update_error_and_stays_deleted(
    engine: DbEngine, saved: tuple[str, int], rows: Callable[[], int]
) -> None:
    key, version = saved
    engine.delete(key)
    with pytest.raises(sessionware.UpdateError):
        engine.save_versioned(key, b"again", expires_in(), version)
    assert rows() == 0


def test_versioned_update_of_an_expired_session_raises_update_error(
    engine: DbEngine, monkeypatch: pytest.MonkeyPatch, saved: tuple[str, int]
) -> None:
    key, version = saved
    monkeypatch.setattr(engine, "now", lambda: expires_in(3600))
    with pytest.raises(sessionware.UpdateError):
        engine.save_versioned(key, b"late", expires_in(7200), version)
    monkeypatch.undo()
    assert engine.load(key) == b"first"


def test_versioned_update_of_a_never_saved_key_raises_update_error(engine: DbEngine) -> None:
    with pytest.raises(sessionware.UpdateError):
        engine.save_versioned(new_key(), b"x", expires_in(), 1)


@pytest.mark.parametrize("version", [None, 1])
def test_save_versioned_of_an_invalid_key_raises_invalid_session_key(
    engine: DbEngine, rows: Callable[[], int], version: int | None
) -> None:
    with pytest.raises(sessionware.InvalidSessionKey):
        engine.save_versioned("../../etc/passwd", b"x", expires_in(), version)
    assert rows() == 0


@pytest.mark.parametrize("version", ["1", b"1", 1.0, True])
def test_a_version_this_engine_never_gives_is_a_type_error(
    engine: DbEngine, saved: tuple[str, int], version: Any
) -> None:
    with pytest.raises(TypeError, match="not a version of the db engine"):
        engine.save_versioned(saved[0], b"x", expires_in(), version)
    assert engine.load(saved[0]) == b"first"


def test_bytes_like_payloads_are_stored_as_bytes(engine: DbEngine) -> None:
    key = new_key()
    engine.save_versioned(key, bytearray(b"ba"), expires_in(), None)  # type: ignore[arg-type]
    assert engine.load_versioned(key) == (b"ba", 1)


def test_an_unusable_database_raises_engine_unavailable_naming_the_file(
    tmp_path: Path,
) -> None:
    import shutil

    (tmp_path / "volume").mkdir()
    engine = DbEngine(path=tmp_path / "volume" / "s.sqlite3")
    shutil.rmtree(tmp_path / "volume")
    try:
        for call in (
            lambda: engine.load_versioned(new_key()),
            lambda: engine.save_versioned(new_key(), b"x", expires_in(), None),
            lambda: engine.save_versioned(new_key(), b"x", expires_in(), 3),
        ):
            with pytest.raises(sessionware.EngineUnavailable) as info:
                call()
            assert info.value.address == engine.path
    finally:
        engine.close()


# -- async twins -------------------------------------------------------------------


async def test_async_twins_follow_the_same_rules(engine: DbEngine) -> None:
    key = new_key()
    assert await engine.aload_versioned(key) is None
    _, v1 = await engine.asave_versioned(key, b"a", expires_in(), None)
    with pytest.raises(sessionware.CreateError):
        await engine.asave_versioned(key, b"b", expires_in(), None)
    assert await engine.aload_versioned(key) == (b"a", v1)
    _, v2 = await engine.asave_versioned(key, b"b", expires_in(), v1)
    assert v2 != v1
    with pytest.raises(sessionware.VersionConflict):
        await engine.asave_versioned(key, b"stale", expires_in(), v1)
    await engine.asave(key, b"plain", expires_in())
    with pytest.raises(sessionware.VersionConflict):
        await engine.asave_versioned(key, b"stale", expires_in(), v2)
    await engine.adelete(key)
    with pytest.raises(sessionware.UpdateError):
        await engine.asave_versioned(key, b"gone", expires_in(), v2)
    assert await engine.aload_versioned(key) is None


# -- the schema upgrade ----------------------------------------------------------------

V1_SCHEMA = (
    "CREATE TABLE sessionware_session (session_key TEXT PRIMARY KEY, "
    "session_data BLOB NOT NULL, expires_at REAL NOT NULL);"
    "CREATE INDEX sessionware_session_expires_at ON sessionware_session (expires_at);"
    "CREATE TABLE sessionware_schema (table_name TEXT PRIMARY KEY, version INTEGER);"
    "INSERT INTO sessionware_schema VALUES ('sessionware_session', 1);"
)


def test_a_database_of_schema_version_1_is_upgraded_in_place(
    db_path: Path, make_engine: Callable[..., DbEngine]
) -> None:
    key = new_key()
    conn = sqlite3.connect(db_path)
    conn.executescript(V1_SCHEMA)
    conn.execute("INSERT INTO sessionware_session VALUES (?, ?, ?)", (key, b"old", expires_in()))
    conn.commit()
    conn.close()

    engine = make_engine()
    # The session saved before the upgrade is still there, at version 0...
    assert engine.load(key) == b"old"
    assert engine.load_versioned(key) == (b"old", 0)
    # ...and takes part in compare-and-set and locking like any other.
    _, version = engine.save_versioned(key, b"new", expires_in(), 0)
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"stale", expires_in(), 0)
    assert engine.load_versioned(key) == (b"new", version)
    assert engine.acquire_lock(key, 5) is not None

    conn = sqlite3.connect(db_path)
    try:
        columns = {row[1]: row for row in conn.execute("PRAGMA table_info(sessionware_session)")}
        # cid, name, type, notnull, default, pk
        assert columns["version"][2:5] == ("INTEGER", 1, "0")
        assert conn.execute("SELECT version FROM sessionware_schema").fetchall() == [
            (SCHEMA_VERSION,)
        ]
        assert conn.execute("SELECT count(*) FROM sessionware_session_locks").fetchone() == (1,)
    finally:
        conn.close()
    # A second engine on the upgraded file finds the work done.
    assert make_engine().load_versioned(key) == (b"new", version)


def test_the_upgrade_keeps_a_version_column_a_table_already_has(
    db_path: Path, make_engine: Callable[..., DbEngine]
) -> None:
    key = new_key()
    conn = sqlite3.connect(db_path)
    conn.execute(
        "CREATE TABLE sessionware_session (session_key TEXT PRIMARY KEY, "
        "session_data BLOB NOT NULL, expires_at REAL NOT NULL, version INTEGER NOT NULL)"
    )
    conn.execute("INSERT INTO sessionware_session VALUES (?, ?, ?, 7)", (key, b"x", expires_in()))
    conn.commit()
    conn.close()
    assert make_engine().load_versioned(key) == (b"x", 7)


# -- a real race between two processes ---------------------------------------------


def test_two_processes_racing_versioned_cycles_lose_nothing(
    engine: DbEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    cycles = 2000
    options = {"path": engine.path}
    result = count_lost_updates(DbEngine, options, mode="versioned", cycles=cycles)
    assert result.overlapped
    assert result.final == {"w0": cycles, "w1": cycles}
    plain = count_lost_updates(DbEngine, options, mode="plain", cycles=cycles)
    with capsys.disabled():
        print(f"\n  db, {result}\n  db, {plain}")
