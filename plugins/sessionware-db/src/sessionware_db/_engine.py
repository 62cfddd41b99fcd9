"""DbEngine: sessions in one SQLite table, the embedded default engine.

The request path runs fixed, prepared SQL through ``sqlite3`` on a
connection per thread. What lives here: the SQL and the engine operations,
except the versioned saves and session locks, which are ``VersionedSaves``
in ``_versioned`` (a base of ``DbEngine``). The connections (one per
thread, prepared once at construction, closed on ``close`` and forgotten
after ``fork``) and the mapping of SQLite failures to ``EngineUnavailable``
live in ``_connections``; the batched purge in ``_purge``; schema creation
and migrations (through sqlite-utils) in ``_schema``; option checks in
``_options``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from typing import ClassVar

from sessionware import Capabilities, EngineUnavailable

from ._connections import Connections
from ._options import SYNCHRONOUS, check_path, check_table, options
from ._purge import purge_expired
from ._schema import locks_table
from ._versioned import VersionedSaves

__all__ = ["DbEngine"]

_SQL = {
    "load": "SELECT session_data FROM {t} WHERE session_key = ? AND expires_at > ?",
    "load_versioned": (
        "SELECT session_data, version FROM {t} WHERE session_key = ? AND expires_at > ?"
    ),
    "exists": "SELECT 1 FROM {t} WHERE session_key = ? AND expires_at > ?",
    # An expired row under the key does not count as existing: it is replaced,
    # and its version goes on counting (never back to one a reader may hold).
    "create": (
        "INSERT INTO {t} (session_key, session_data, expires_at, version) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (session_key) DO UPDATE SET session_data = excluded.session_data, "
        "expires_at = excluded.expires_at, version = {t}.version + 1 WHERE {t}.expires_at <= ?"
    ),
    # The expiry condition is what keeps a deleted or expired session dead. A
    # plain update bumps the version too, so a versioned writer racing it conflicts.
    "update": (
        "UPDATE {t} SET session_data = ?, expires_at = ?, version = version + 1 "
        "WHERE session_key = ? AND expires_at > ?"
    ),
    # Compare-and-set in one statement: no transaction, no read lock held between.
    "update_versioned": (
        "UPDATE {t} SET session_data = ?, expires_at = ?, version = version + 1 "
        "WHERE session_key = ? AND version = ? AND expires_at > ?"
    ),
    "delete": "DELETE FROM {t} WHERE session_key = ?",
    # clear_expired reads which rows expired from the expiry index alone (no
    # write lock), then deletes them in rowid order, the order of the table.
    "expired": "SELECT rowid FROM {t} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
    "purge": "DELETE FROM {t} WHERE rowid = ? AND expires_at <= ?",
    # Answered from the expires_at index alone, without reading the table.
    "count_expired": "SELECT count(*) FROM {t} WHERE expires_at <= ?",
    "health": "SELECT 1 FROM {t} LIMIT 1",
    # Session locks: a lease row, taken in one statement when absent or run out.
    "acquire_lock": (
        "INSERT INTO {locks} (session_key, token, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT (session_key) DO UPDATE SET token = excluded.token, "
        "expires_at = excluded.expires_at WHERE {locks}.expires_at <= ?"
    ),
    "release_lock": "DELETE FROM {locks} WHERE session_key = ? AND token = ?",
    # The leases of holders that died without releasing (few: a tiny table).
    "purge_locks": "DELETE FROM {locks} WHERE expires_at <= ?",
}


def _statements(table: str) -> dict[str, str]:
    """The request-path SQL for one table and its lock table.

    Identifiers cannot be bound as parameters; the table name was checked
    by ``check_table`` (letters, digits, underscore) before it gets here.
    """
    quoted, quoted_locks = f'"{table}"', f'"{locks_table(table)}"'
    return {op: sql.format(t=quoted, locks=quoted_locks) for op, sql in _SQL.items()}


class DbEngine(VersionedSaves):
    """Sessions in one SQLite table: one machine, any number of processes and threads.

    Options (keyword arguments; ``get_engine("db", ...)`` or the engine
    options of ``SessionConfig``):

    ``path`` (``"sessions.sqlite3"``)
        The database file, resolved to an absolute path at construction. Its
        directory must exist. ``":memory:"`` is refused: each thread's
        connection would see its own empty database.
    ``table`` (``"sessionware_session"``)
        The session table; letters, digits and underscores.
    ``timeout`` (``5.0``)
        Seconds to wait for another connection's write lock before raising
        ``EngineUnavailable``.
    ``synchronous`` (``"NORMAL"``)
        SQLite's ``PRAGMA synchronous``: ``"NORMAL"`` (with WAL, a power cut
        may lose the last commits but never corrupts), ``"FULL"`` (fsync on
        every commit, 8-10x slower writes) or ``"OFF"`` (no fsync at all).
    ``batch_size`` (``2000``)
        Rows deleted per transaction by ``clear_expired``.
    ``create`` (``True``)
        Create the table if it is missing; with ``False`` a missing table is
        a ``ConfigurationError``.

    Invalid options, a missing directory or a file that cannot be opened
    raise ``ConfigurationError`` naming the option.
    """

    name: ClassVar[str] = "db"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_side=True,
        clear_expired=True,
        native_async=False,
        shared_across_processes=True,
        local=True,
        versioned=True,
        locking=True,
    )

    def __init__(
        self,
        *,
        path: str | os.PathLike[str] = "sessions.sqlite3",
        table: str = "sessionware_session",
        timeout: float = 5.0,
        synchronous: str = "NORMAL",
        batch_size: int = 2000,
        create: bool = True,
    ) -> None:
        #: Absolute path of the database file.
        self.path: str = check_path(path)
        #: Name of the session table.
        self.table: str = check_table(table)
        #: Busy timeout in seconds.
        self.timeout: float = options.seconds("timeout", timeout, allow_zero=True)
        #: ``PRAGMA synchronous`` of every connection.
        self.synchronous: str = options.one_of(
            "synchronous", synchronous, SYNCHRONOUS, ignore_case=True
        )
        #: Rows per ``clear_expired`` transaction.
        self.batch_size: int = options.integer("batch_size", batch_size, what="rows per batch")
        #: Whether a missing table is created.
        self.create: bool = options.boolean("create", create)

        self._connections = Connections(self.path, self.timeout, self.synchronous)
        # This thread's connection, opened on first use: the pool's own method,
        # bound here so the request path pays no extra call for it.
        self._conn: Callable[[], sqlite3.Connection] = self._connections.current

        sql = _statements(self.table)
        self._sql_load = sql["load"]
        self._sql_exists = sql["exists"]
        self._sql_create = sql["create"]
        self._sql_update = sql["update"]
        self._sql_delete = sql["delete"]
        self._sql_expired = sql["expired"]
        self._sql_purge = sql["purge"]
        self._sql_count_expired = sql["count_expired"]
        self._sql_health = sql["health"]
        self._sql_load_versioned = sql["load_versioned"]
        self._sql_update_versioned = sql["update_versioned"]
        self._sql_create_versioned = sql["create"] + " RETURNING version"
        self._sql_acquire_lock = sql["acquire_lock"]
        self._sql_release_lock = sql["release_lock"]
        self._sql_purge_locks = sql["purge_locks"]

        self._connections.prepare(self.table, create=self.create)

    def after_fork_in_child(self) -> None:
        """Forget the parent's connections (kept alive, never used or closed) and lock."""
        self._connections.after_fork_in_child()

    def close(self) -> None:
        """Close every connection this engine opened, in every thread.

        Call it when no other thread is using the engine. A later call on the
        engine opens a fresh connection, so closing twice is harmless.
        """
        self._connections.close()

    # -- the engine operations ---------------------------------------------------

    def load(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or ``None`` if missing, expired or invalid."""
        if not self.is_valid_key(key):
            return None
        try:
            row = self._conn().execute(self._sql_load, (key, self.now())).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._connections.failed(exc) from exc
        if row is None:
            return None
        data = row[0]
        # A row written by something else may hold TEXT; hand the serializer
        # bytes so it rejects the content rather than the type.
        return data if type(data) is bytes else str(data).encode("utf-8", "surrogatepass")

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """Create (``must_create``) or update the row for ``key``; return ``key``.

        Raises ``CreateError`` when creating over an
        unexpired session and ``UpdateError`` when updating
        one that was deleted or has expired.
        """
        self.check_key(key)
        if type(data) is not bytes:
            data = bytes(data)
        now = self.now()
        try:
            conn = self._conn()
            if must_create:
                changed = conn.execute(
                    self._sql_create, (key, data, float(expires_at), now)
                ).rowcount
            else:
                changed = conn.execute(
                    self._sql_update, (data, float(expires_at), key, now)
                ).rowcount
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            raise self._connections.failed(exc) from exc
        if changed == 1:
            return key
        if must_create:
            raise self._taken(key)
        raise self._gone(key)

    def exists(self, key: str) -> bool:
        """True when an unexpired session is stored under ``key``."""
        if not self.is_valid_key(key):
            return False
        try:
            row = self._conn().execute(self._sql_exists, (key, self.now())).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._connections.failed(exc) from exc
        return row is not None

    def delete(self, key: str) -> None:
        """Remove the row for ``key``; nothing happens if there is none."""
        if not self.is_valid_key(key):
            return
        try:
            self._conn().execute(self._sql_delete, (key,))
        except sqlite3.DatabaseError as exc:
            raise self._connections.failed(exc) from exc

    def clear_expired(self, progress: Callable[[int], None] | None = None) -> int:
        """Delete expired rows, ``batch_size`` per transaction; return how many.

        The rows to delete are read from the ``expires_at`` index without the
        write lock, then deleted in rowid order (the table's own order, so a
        batch touches few table pages), each batch its own short
        ``BEGIN IMMEDIATE`` transaction followed by a WAL checkpoint, so a
        large purge never holds the write lock for long and the WAL stays
        small. ``progress``, if given, is called with the running total after
        each batch that removed rows (the CLI draws its progress bar from
        it). Rows that expire while the purge runs are left for the next one;
        a row saved with a later expiry meanwhile is kept. The leases of
        session locks whose holders never released them and that have run
        out are deleted too (they are not counted).
        """
        now = self.now()
        try:
            conn = self._conn()
            removed = purge_expired(
                conn, self._sql_expired, self._sql_purge, now, self.batch_size, progress
            )
            conn.execute(self._sql_purge_locks, (now,))
            return removed
        except sqlite3.DatabaseError as exc:
            raise self._connections.failed(exc) from exc

    def count_expired(self) -> int:
        """How many rows have expired: one ``count(*)`` on the ``expires_at`` index.

        ``sessionware clear-expired`` reads it for its progress bar's total.
        """
        try:
            row = self._conn().execute(self._sql_count_expired, (self.now(),)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._connections.failed(exc) from exc
        return int(row[0])

    def health(self) -> None:
        """Open the database on a new connection, query the table, take the write lock.

        Raises ``EngineUnavailable`` naming the file when
        it is gone, locked past the busy timeout, corrupted, or when the file
        or its directory (where SQLite keeps the WAL) is not writable. Reads
        no session and writes nothing (the write transaction is rolled back).
        """
        if not os.path.isfile(self.path):
            raise EngineUnavailable(
                f"the session database {self.path} does not exist (any more); it is created "
                "when the engine starts, so it was removed or its directory was replaced",
                address=self.path,
            )
        for what, target in (("file", self.path), ("directory", os.path.dirname(self.path))):
            if not os.access(target, os.W_OK):
                raise EngineUnavailable(
                    f"the session database's {what} {target} is not writable by this user "
                    f"(uid {os.getuid()}); sessions could be read but never saved",
                    address=self.path,
                )
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            try:
                conn.execute(self._sql_health).fetchall()
                # The write lock, taken and given back: proves the file can be
                # written (a read-only mount passes os.access for root) and that
                # no other connection holds it past the busy timeout.
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise self._connections.unavailable(exc) from exc

    def __repr__(self) -> str:
        return f"<DbEngine 'db' path={self.path!r} table={self.table!r}>"
