"""Discovery, options and schema of the db engine."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from sessionware_db import SCHEMA_VERSION, DbEngine

import sessionware


def test_get_engine_finds_db_through_entry_points(db_path: Path) -> None:
    engine = sessionware.get_engine("db", path=db_path)
    try:
        assert isinstance(engine, DbEngine)
        assert isinstance(engine, sessionware.Engine)
    finally:
        engine.close()


def test_list_plugins_reports_the_distribution() -> None:
    info = {p.name: p for p in sessionware.list_plugins()}["db"]
    assert info.distribution == "sessionware-db"
    assert info.engines == ["db"]
    assert info.error is None


def test_capabilities_are_declared() -> None:
    caps = DbEngine.capabilities
    assert (caps.server_side, caps.clear_expired, caps.native_async) == (True, True, False)
    assert (caps.shared_across_processes, caps.local) == (True, True)
    assert (caps.versioned, caps.locking) == (True, True)


def test_unknown_option_is_a_configuration_error(db_path: Path) -> None:
    with pytest.raises(sessionware.ConfigurationError, match="nope"):
        sessionware.get_engine("db", path=db_path, nope=1)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("table", "a b"),
        ("table", "1abc"),
        ("table", 'x"; DROP TABLE y; --'),
        ("table", "sqlite_master"),
        ("table", "sessionware_schema"),
        ("table", 3),
        ("timeout", -1),
        ("timeout", float("nan")),
        ("timeout", "5"),
        ("timeout", True),
        ("synchronous", "EXTRA_SAFE"),
        ("synchronous", 1),
        ("batch_size", 0),
        ("batch_size", 2.5),
        ("batch_size", True),
        ("create", "yes"),
        ("path", 42),
    ],
)
def test_invalid_option_names_the_option(db_path: Path, option: str, value: Any) -> None:
    options = {"path": db_path, option: value}
    with pytest.raises(sessionware.ConfigurationError, match=repr(option)) as info:
        sessionware.get_engine("db", **options)
    assert info.value.field == f"engine_options.{option}"


def test_defaults_are_documented_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with DbEngine() as engine:
        assert engine.path == str(tmp_path / "sessions.sqlite3")
        assert engine.table == "sessionware_session"
        assert engine.timeout == 5.0
        assert engine.synchronous == "NORMAL"
        assert engine.batch_size == 2000
        assert engine.create is True


def test_synchronous_is_case_insensitive(make_engine: Callable[..., DbEngine]) -> None:
    assert make_engine(synchronous="full").synchronous == "FULL"


@pytest.mark.parametrize("path", [":memory:", ""])
def test_memory_database_is_refused_with_the_reason(path: str) -> None:
    with pytest.raises(sessionware.ConfigurationError, match="own") as info:
        sessionware.get_engine("db", path=path)
    assert info.value.field == "engine_options.path"


def test_missing_directory_is_refused_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "s.db"
    with pytest.raises(sessionware.ConfigurationError, match=str(missing.parent)):
        sessionware.get_engine("db", path=missing)


def test_directory_as_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(sessionware.ConfigurationError, match="is a directory"):
        sessionware.get_engine("db", path=tmp_path)


def test_file_that_is_not_a_database_is_refused_at_construction(db_path: Path) -> None:
    db_path.write_bytes(b"this is not an sqlite file at all" * 200)
    with pytest.raises(sessionware.ConfigurationError, match=str(db_path)) as info:
        sessionware.get_engine("db", path=db_path)
    assert "not an SQLite database" in str(info.value)


def test_relative_path_is_resolved_at_construction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with DbEngine(path="rel.db") as engine:
        monkeypatch.chdir("/")
        key = sessionware.new_session_key()
        engine.save(key, b"x", engine.now() + 60, must_create=True)
    assert (tmp_path / "rel.db").exists()


def test_table_is_created_with_the_documented_schema(engine: DbEngine, db_path: Path) -> None:
    db = sqlite_utils.Database(db_path)
    try:
        table = db.table("sessionware_session")
        assert {c.name: c.type for c in table.columns} == {
            "session_key": "TEXT",
            "session_data": "BLOB",
            "expires_at": "REAL",
            "version": "INTEGER",
        }
        assert table.pks == ["session_key"]
        assert [i.columns for i in table.indexes if i.name.endswith("_expires_at")] == [
            ["expires_at"]
        ]
        locks = db.table("sessionware_session_locks")
        assert {c.name: c.type for c in locks.columns} == {
            "session_key": "TEXT",
            "token": "TEXT",
            "expires_at": "REAL",
        }
        assert locks.pks == ["session_key"]
        assert db.table("sessionware_schema").get("sessionware_session")["version"] == (
            SCHEMA_VERSION
        )
    finally:
        db.close()


def test_wal_journal_mode_is_enabled(engine: DbEngine, raw: sqlite3.Connection) -> None:
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize(("synchronous", "level"), [("OFF", 0), ("NORMAL", 1), ("FULL", 2)])
def test_synchronous_is_applied_to_connections(
    make_engine: Callable[..., DbEngine], synchronous: str, level: int
) -> None:
    engine = make_engine(synchronous=synchronous)
    assert engine._conn().execute("PRAGMA synchronous").fetchone()[0] == level


def test_busy_timeout_is_applied_to_connections(make_engine: Callable[..., DbEngine]) -> None:
    engine = make_engine(timeout=2.5)
    assert engine._conn().execute("PRAGMA busy_timeout").fetchone()[0] == 2500


def test_create_false_refuses_a_missing_table(make_engine: Callable[..., DbEngine]) -> None:
    with pytest.raises(sessionware.ConfigurationError, match="does not exist") as info:
        make_engine(create=False)
    assert info.value.field == "engine_options.create"


def test_create_false_uses_an_existing_table(make_engine: Callable[..., DbEngine]) -> None:
    make_engine().close()
    engine = make_engine(create=False)
    key = sessionware.new_session_key()
    engine.save(key, b"x", engine.now() + 60, must_create=True)
    assert engine.load(key) == b"x"


def test_two_tables_share_one_file(make_engine: Callable[..., DbEngine]) -> None:
    a, b = make_engine(table="site_a"), make_engine(table="site_b")
    key = sessionware.new_session_key()
    a.save(key, b"a", a.now() + 60, must_create=True)
    assert b.load(key) is None


def test_newer_schema_version_is_refused(
    make_engine: Callable[..., DbEngine], raw: sqlite3.Connection
) -> None:
    raw.execute("UPDATE sessionware_schema SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(sessionware.ConfigurationError, match="upgrade sessionware-db"):
        make_engine()


def test_table_of_another_shape_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE sessionware_session (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(sessionware.ConfigurationError, match="not a sessionware session table"):
        sessionware.get_engine("db", path=db_path)


def test_unversioned_table_of_the_right_shape_is_adopted(
    db_path: Path, make_engine: Callable[..., DbEngine]
) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute(
        "CREATE TABLE sessionware_session (session_key TEXT PRIMARY KEY, "
        "session_data BLOB NOT NULL, expires_at REAL NOT NULL)"
    )
    conn.commit()
    conn.close()
    make_engine()
    conn = sqlite3.connect(db_path)
    try:
        # Adopted as version 1, then migrated like any version-1 table.
        assert conn.execute("SELECT version FROM sessionware_schema").fetchall() == [
            (SCHEMA_VERSION,)
        ]
    finally:
        conn.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_refused_at_construction(db_path: Path) -> None:
    DbEngine(path=db_path).close()
    db_path.chmod(0)
    try:
        with pytest.raises(sessionware.ConfigurationError, match=str(db_path)):
            sessionware.get_engine("db", path=db_path)
    finally:
        db_path.chmod(0o600)
