"""Fixtures for the db engine tests: engines on a fresh file, always closed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sessionware_db import DbEngine

import sessionware
from sessionware.testing import engine_factory, session_store_for


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.sqlite3"


@pytest.fixture
def make_engine(db_path: Path) -> Iterator[Callable[..., DbEngine]]:
    """Build engines by name (default: on ``db_path``); every one is closed at teardown."""
    with engine_factory("db", DbEngine, path=db_path) as make:
        yield make


@pytest.fixture
def engine(make_engine: Callable[..., DbEngine]) -> DbEngine:
    return make_engine()


@pytest.fixture
def Store(db_path: Path) -> Iterator[type[sessionware.SessionStore]]:
    # The kit's reference serializer keeps these tests independent of the json plugin,
    # so they pass with only the core and this plugin installed.
    with session_store_for("db", path=db_path) as store:
        yield store


@pytest.fixture
def raw(db_path: Path, engine: DbEngine) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the same file, for looking behind the engine."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    yield conn
    conn.close()


@pytest.fixture
def rows(raw: sqlite3.Connection) -> Callable[[], int]:
    """Count the rows of the default session table through ``raw``."""

    def count() -> int:
        return int(raw.execute("SELECT count(*) FROM sessionware_session").fetchone()[0])

    return count
