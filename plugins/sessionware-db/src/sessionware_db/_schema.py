"""The session table: creation, schema version and migrations, through sqlite-utils.

This runs once per engine, at construction, on its own short-lived
connection; the request path (``_engine``) never introspects the schema.

Layout (schema version 2)::

    CREATE TABLE <table> (
        session_key  TEXT PRIMARY KEY,
        session_data BLOB NOT NULL,
        expires_at   REAL NOT NULL,     -- POSIX seconds, UTC
        version      INTEGER NOT NULL DEFAULT 0  -- +1 at every write (v2)
    );
    CREATE INDEX <table>_expires_at ON <table> (expires_at);
    CREATE TABLE <table>_locks (        -- session locks: one lease per locked key (v2)
        session_key  TEXT PRIMARY KEY,
        token        TEXT NOT NULL,     -- the holder's random token
        expires_at   REAL NOT NULL      -- the lease is free after this, POSIX seconds
    );

Version 1 had neither the ``version`` column nor the lock table; migration 2
adds both (rows written before it start at version 0), so a database made by
an earlier release is upgraded in place the first time an engine opens it.

The version of each session table is recorded in ``sessionware_schema``
(``table_name``, ``version``) rather than in ``PRAGMA user_version``, because
the file may be shared with an application whose own migrations use it, and
two engines may keep tables of different names in one file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlite_utils

from sessionware import ConfigurationError

__all__ = ["SCHEMA_VERSION", "VERSION_TABLE", "ensure_schema", "index_name", "locks_table"]

#: The layout this release reads and writes.
SCHEMA_VERSION = 2
#: Where the version of each session table is recorded.
VERSION_TABLE = "sessionware_schema"

_SELECT_VERSION = "SELECT version FROM sessionware_schema WHERE table_name = ?"
_RECORD_VERSION = (
    "INSERT INTO sessionware_schema (table_name, version) VALUES (?, ?) "
    "ON CONFLICT (table_name) DO UPDATE SET version = excluded.version"
)

_COLUMNS: dict[str, type] = {"session_key": str, "session_data": bytes, "expires_at": float}


def index_name(table: str) -> str:
    """The name of the index on ``expires_at``."""
    return f"{table}_expires_at"


def locks_table(table: str) -> str:
    """The name of the lease table of ``table``'s session locks."""
    return f"{table}_locks"


def _create_v1(db: sqlite_utils.Database, table: str) -> None:
    db.table(table).create(
        _COLUMNS,
        pk="session_key",
        not_null={"session_data", "expires_at"},
        if_not_exists=True,
    )
    db.table(table).create_index(["expires_at"], index_name=index_name(table), if_not_exists=True)


def _versions_and_locks_v2(db: sqlite_utils.Database, table: str) -> None:
    # A table adopted from elsewhere may have the column already.
    if "version" not in {c.name for c in db[table].columns}:
        db.table(table).add_column("version", int, not_null_default=0)
    db.table(locks_table(table)).create(
        {"session_key": str, "token": str, "expires_at": float},
        pk="session_key",
        not_null={"token", "expires_at"},
        if_not_exists=True,
    )


#: ``MIGRATIONS[n]`` brings a table from version ``n - 1`` to ``n`` (0: absent).
MIGRATIONS: dict[int, Callable[[sqlite_utils.Database, str], None]] = {
    1: _create_v1,
    2: _versions_and_locks_v2,
}


def _recorded_version(db: sqlite_utils.Database, table: str) -> int | None:
    if not db[VERSION_TABLE].exists():
        return None
    row = db.execute(_SELECT_VERSION, [table]).fetchone()
    return None if row is None else int(row[0])


def _check_layout(db: sqlite_utils.Database, table: str, path: str) -> None:
    found = {c.name for c in db[table].columns}
    missing = sorted(set(_COLUMNS) - found)
    if missing:
        raise ConfigurationError(
            f"table {table!r} in {path} exists but lacks the column(s) "
            f"{', '.join(missing)}; it is not a sessionware session table. "
            "Choose another table name with the 'table' option",
            field="engine_options.table",
        )


def ensure_schema(conn: sqlite3.Connection, table: str, *, path: str, create: bool) -> None:
    """Bring ``table`` to ``SCHEMA_VERSION``, creating it if ``create`` allows.

    Runs inside ``BEGIN IMMEDIATE`` so processes starting together migrate
    one at a time; the loser of the race finds the work done.
    """
    db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _recorded_version(db, table)
        if version is None:
            if db[table].exists():
                # A table made by hand or by a release that predates the
                # version record: adopt it if it has the right shape.
                _check_layout(db, table, path)
                version = 1
            elif not create:
                raise ConfigurationError(
                    f"the session table {table!r} does not exist in {path}; create it with "
                    "create=True (the default) or point 'path'/'table' at an existing one",
                    field="engine_options.create",
                )
            else:
                version = 0
        if version > SCHEMA_VERSION:
            raise ConfigurationError(
                f"table {table!r} in {path} has schema version {version}, newer than this "
                f"sessionware-db understands ({SCHEMA_VERSION}); upgrade sessionware-db",
                field="engine_options.path",
            )
        for step in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[step](db, table)
        db.table(VERSION_TABLE).create(
            {"table_name": str, "version": int}, pk="table_name", if_not_exists=True
        )
        db.execute(_RECORD_VERSION, [table, SCHEMA_VERSION])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
