"""DbEngine: sessions in one SQLite table, the embedded default engine.

The request path runs fixed, prepared SQL through :mod:`sqlite3` on a
connection per thread (opened lazily, tracked so :meth:`DbEngine.close` can
close them all). Schema work — creation, version record, migrations — runs
once at construction in ``_schema`` through sqlite-utils. What lives here:
option validation, connections, the five engine operations and the mapping
of SQLite failures to :class:`~sessionware.EngineUnavailable`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import ClassVar

from sessionware import (
    Capabilities,
    CreateError,
    EngineBase,
    EngineUnavailable,
    OptionChecker,
    UpdateError,
)

from ._schema import VERSION_TABLE, ensure_schema

__all__ = ["DbEngine"]

logger = logging.getLogger("sessionware.db")

_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SYNCHRONOUS = ("NORMAL", "FULL", "OFF")
_LOCKED = ("SQLITE_BUSY", "SQLITE_LOCKED")
_BROKEN = ("SQLITE_CORRUPT", "SQLITE_NOTADB")

_options = OptionChecker("db", "engine")


def _check_path(path: object) -> str:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if path in ("", ":memory:"):
        raise _options.error(
            "path",
            f"{path!r} is not supported: SQLite gives every thread's connection its own "
            "private in-memory database, so sessions would vanish between requests. Use a "
            "file (in tests, a temporary directory such as pytest's tmp_path)",
        )
    return _options.file("path", path, must_exist=False, what="database file")


def _check_table(table: object) -> str:
    if not isinstance(table, str) or not _TABLE_NAME.fullmatch(table):
        raise _options.error(
            "table",
            f"{table!r} is not a valid table name: use 1-63 ASCII letters, digits and "
            "underscores, not starting with a digit",
        )
    if table.lower().startswith("sqlite_") or table == VERSION_TABLE:
        raise _options.error("table", f"{table!r} is reserved; choose another name")
    return table


_SQL = {
    "load": "SELECT session_data FROM {t} WHERE session_key = ? AND expires_at > ?",
    "exists": "SELECT 1 FROM {t} WHERE session_key = ? AND expires_at > ?",
    # An expired row under the key does not count as existing: it is replaced.
    "create": (
        "INSERT INTO {t} (session_key, session_data, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT (session_key) DO UPDATE SET session_data = excluded.session_data, "
        "expires_at = excluded.expires_at WHERE {t}.expires_at <= ?"
    ),
    # The expiry condition is what keeps a deleted or expired session dead.
    "update": (
        "UPDATE {t} SET session_data = ?, expires_at = ? WHERE session_key = ? AND expires_at > ?"
    ),
    "delete": "DELETE FROM {t} WHERE session_key = ?",
    # clear_expired reads which rows expired from the expiry index alone (no
    # write lock), then deletes them in rowid order, the order of the table.
    "expired": "SELECT rowid FROM {t} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
    "purge": "DELETE FROM {t} WHERE rowid = ? AND expires_at <= ?",
    # Answered from the expires_at index alone, without reading the table.
    "count_expired": "SELECT count(*) FROM {t} WHERE expires_at <= ?",
    "health": "SELECT 1 FROM {t} LIMIT 1",
}

#: ``clear_expired`` reads the rowids of at most this many batches at a time
#: (about 36 bytes each), which bounds its memory on a huge backlog.
_PURGE_WINDOW_BATCHES = 256
#: WAL size (frames: pages) above which the purge, after a batch's checkpoint, waits
#: for the WAL to start over before it writes again (see ``DbEngine._checkpoint``).
_WAL_RESTART_FRAMES = 8192
#: How long, and how many times, it waits for that at most, per batch.
_WAL_RESTART_PAUSE = 0.01
_WAL_RESTART_TRIES = 10
#: Page cache of the purging connection, in KiB (SQLite's negative ``cache_size``):
#: a batch's index pages stay in memory instead of spilling to the WAL mid-transaction.
_PURGE_CACHE_KIB = 65536


def _statements(quoted_table: str) -> dict[str, str]:
    """The request-path SQL for one table.

    Identifiers cannot be bound as parameters; the table name was checked
    against ``_TABLE_NAME`` (letters, digits, underscore) before it gets here.
    """
    return {op: template.format(t=quoted_table) for op, template in _SQL.items()}


class DbEngine(EngineBase):
    """Sessions in one SQLite table: one machine, any number of processes and threads.

    Options (keyword arguments; ``get_engine("db", ...)`` or the engine
    options of :class:`~sessionware.SessionConfig`):

    ``path`` (``"sessions.sqlite3"``)
        The database file, resolved to an absolute path at construction. Its
        directory must exist. ``":memory:"`` is refused: each thread's
        connection would see its own empty database.
    ``table`` (``"sessionware_session"``)
        The session table; letters, digits and underscores.
    ``timeout`` (``5.0``)
        Seconds to wait for another connection's write lock before raising
        :class:`~sessionware.EngineUnavailable`.
    ``synchronous`` (``"NORMAL"``)
        SQLite's ``PRAGMA synchronous``: ``"NORMAL"`` (with WAL, a power cut
        may lose the last commits but never corrupts), ``"FULL"`` (fsync on
        every commit, 8-10x slower writes) or ``"OFF"`` (no fsync at all).
    ``batch_size`` (``2000``)
        Rows deleted per transaction by :meth:`clear_expired`.
    ``create`` (``True``)
        Create the table if it is missing; with ``False`` a missing table is
        a :class:`~sessionware.ConfigurationError`.

    Invalid options, a missing directory or a file that cannot be opened
    raise :class:`~sessionware.ConfigurationError` naming the option.
    """

    name: ClassVar[str] = "db"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_side=True,
        clear_expired=True,
        native_async=False,
        shared_across_processes=True,
        local=True,
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
        self.path: str = _check_path(path)
        #: Name of the session table.
        self.table: str = _check_table(table)
        #: Busy timeout in seconds.
        self.timeout: float = _options.seconds("timeout", timeout, allow_zero=True)
        #: ``PRAGMA synchronous`` of every connection.
        self.synchronous: str = _options.one_of(
            "synchronous", synchronous, _SYNCHRONOUS, ignore_case=True
        )
        #: Rows per ``clear_expired`` transaction.
        self.batch_size: int = _options.integer("batch_size", batch_size, what="rows per batch")
        #: Whether a missing table is created.
        self.create: bool = _options.boolean("create", create)

        self._lock = threading.Lock()
        self._local = threading.local()
        self._conns: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        # Connections inherited through fork: never used or closed by the child
        # (SQLite forbids carrying a connection across fork), only kept alive.
        self._inherited: list[sqlite3.Connection] = []

        sql = _statements(f'"{self.table}"')
        self._sql_load = sql["load"]
        self._sql_exists = sql["exists"]
        self._sql_create = sql["create"]
        self._sql_update = sql["update"]
        self._sql_delete = sql["delete"]
        self._sql_expired = sql["expired"]
        self._sql_purge = sql["purge"]
        self._sql_count_expired = sql["count_expired"]
        self._sql_health = sql["health"]

        self._setup()

    # -- connections -----------------------------------------------------------

    def _setup(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout)
        except sqlite3.Error as exc:
            raise _options.error("path", f"cannot open {self.path}: {exc}") from exc
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning(
                    "%s stays in journal mode %r instead of WAL; concurrent readers will "
                    "wait for writers",
                    self.path,
                    mode,
                )
            ensure_schema(conn, self.table, path=self.path, create=self.create)
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorname", "").startswith(_LOCKED):
                raise self._unavailable(exc) from exc
            raise _options.error("path", f"cannot use {self.path}: {self._describe(exc)}") from exc
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: each statement commits on its own, which is
            # all the atomicity one-statement operations need, with no implicit
            # BEGIN round trip. check_same_thread=False only so close() and the
            # reaper may close a connection from another thread; it is never
            # used by two threads.
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        with self._lock:
            self._reap()
            self._conns.append((weakref.ref(threading.current_thread()), conn))
        self._local.conn = conn
        return conn

    def _conn(self) -> sqlite3.Connection:
        try:
            conn: sqlite3.Connection = self._local.conn
        except AttributeError:
            return self._connect()
        return conn

    def _reap(self) -> None:
        """Close connections of threads that ended (servers that spawn threads per request)."""
        alive = []
        for ref, conn in self._conns:
            thread = ref()
            if thread is None or not thread.is_alive():
                conn.close()
            else:
                alive.append((ref, conn))
        self._conns = alive

    def _drop_current(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        del self._local.conn
        with self._lock:
            self._conns = [(r, c) for r, c in self._conns if c is not conn]
        conn.close()

    def after_fork_in_child(self) -> None:
        """Forget the parent's connections (kept alive, never used or closed) and lock."""
        self._inherited.extend(conn for _, conn in self._conns)
        self._conns = []
        self._local = threading.local()
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close every connection this engine opened, in every thread.

        Call it when no other thread is using the engine. A later call on the
        engine opens a fresh connection, so closing twice is harmless.
        """
        with self._lock:
            conns, self._conns = self._conns, []
            self._local = threading.local()
        for _, conn in conns:
            conn.close()

    # -- failures --------------------------------------------------------------

    def _describe(self, exc: sqlite3.Error) -> str:
        code = getattr(exc, "sqlite_errorname", "")
        if code.startswith(_BROKEN):
            return (
                f"the file is corrupted or is not an SQLite database ({exc}); restore it "
                "from a backup, or move it aside to start with no sessions"
            )
        return str(exc)

    def _unavailable(self, exc: sqlite3.Error) -> EngineUnavailable:
        code = getattr(exc, "sqlite_errorname", "")
        if code.startswith(_LOCKED):
            message = (
                f"the session database {self.path} stayed locked longer than the "
                f"{self.timeout:g}s busy timeout ({exc}): another connection holds a long "
                "write transaction; retry, or raise the 'timeout' option"
            )
        else:
            message = f"the session database {self.path} cannot be used: {self._describe(exc)}"
        return EngineUnavailable(message, address=self.path)

    def _fail(self, exc: sqlite3.Error) -> EngineUnavailable:
        if not getattr(exc, "sqlite_errorname", "").startswith(_LOCKED):
            # A connection that saw corruption or an I/O error is not trusted
            # again; the next call reopens the file.
            self._drop_current()
        return self._unavailable(exc)

    # -- the engine operations ---------------------------------------------------

    def load(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or ``None`` if missing, expired or invalid."""
        if not self.is_valid_key(key):
            return None
        try:
            row = self._conn().execute(self._sql_load, (key, self.now())).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._fail(exc) from exc
        if row is None:
            return None
        data = row[0]
        # A row written by something else may hold TEXT; hand the serializer
        # bytes so it rejects the content rather than the type.
        return data if type(data) is bytes else str(data).encode("utf-8", "surrogatepass")

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """Create (``must_create``) or update the row for ``key``; return ``key``.

        Raises :class:`~sessionware.CreateError` when creating over an
        unexpired session and :class:`~sessionware.UpdateError` when updating
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
            raise self._fail(exc) from exc
        if changed == 1:
            return key
        if must_create:
            raise CreateError(f"a session with key {key[:6]}... already exists in {self.path}")
        raise UpdateError(
            f"session {key[:6]}... no longer exists in {self.path} (deleted or expired); "
            "it is not recreated"
        )

    def exists(self, key: str) -> bool:
        """True when an unexpired session is stored under ``key``."""
        if not self.is_valid_key(key):
            return False
        try:
            row = self._conn().execute(self._sql_exists, (key, self.now())).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._fail(exc) from exc
        return row is not None

    def delete(self, key: str) -> None:
        """Remove the row for ``key``; nothing happens if there is none."""
        if not self.is_valid_key(key):
            return
        try:
            self._conn().execute(self._sql_delete, (key,))
        except sqlite3.DatabaseError as exc:
            raise self._fail(exc) from exc

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
        a row saved with a later expiry meanwhile is kept.
        """
        cutoff = self.now()
        window = self.batch_size * _PURGE_WINDOW_BATCHES
        removed = 0
        try:
            conn = self._conn()
            with self._purging(conn):
                while True:
                    rowids = sorted(
                        row[0] for row in conn.execute(self._sql_expired, (cutoff, window))
                    )
                    for start in range(0, len(rowids), self.batch_size):
                        batch = [
                            (rowid, cutoff) for rowid in rowids[start : start + self.batch_size]
                        ]
                        count = self._purge_batch(conn, batch)
                        if count > 0:
                            removed += count
                            if progress is not None:
                                progress(removed)
                    if len(rowids) < window:
                        return removed
        except sqlite3.DatabaseError as exc:
            raise self._fail(exc) from exc

    def count_expired(self) -> int:
        """How many rows have expired: one ``count(*)`` on the ``expires_at`` index.

        ``sessionware clear-expired`` reads it for its progress bar's total.
        """
        try:
            row = self._conn().execute(self._sql_count_expired, (self.now(),)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._fail(exc) from exc
        return int(row[0])

    def health(self) -> None:
        """Open the database on a new connection, query the table, take the write lock.

        Raises :class:`~sessionware.EngineUnavailable` naming the file when
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
            raise self._unavailable(exc) from exc

    @contextlib.contextmanager
    def _purging(self, conn: sqlite3.Connection) -> Iterator[None]:
        """A larger page cache and no automatic checkpoint (the purge checkpoints itself)."""
        settings = {
            name: int(conn.execute(f"PRAGMA {name}").fetchone()[0])
            for name in ("cache_size", "wal_autocheckpoint")
        }
        conn.execute(f"PRAGMA cache_size = {-_PURGE_CACHE_KIB}")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            yield
        finally:
            # The connection may have been dropped by a failure meanwhile.
            with contextlib.suppress(sqlite3.Error):
                for name, value in settings.items():
                    conn.execute(f"PRAGMA {name} = {value}")

    def _purge_batch(self, conn: sqlite3.Connection, batch: list[tuple[int, float]]) -> int:
        """Delete one batch in its own transaction, then checkpoint the WAL; return the count.

        At DEBUG level each batch is logged with its row count, the seconds
        its transaction held the write lock and the seconds of the checkpoint
        after it, which holds no lock (record attributes ``rows``,
        ``lock_seconds``, ``checkpoint_seconds``).
        """
        conn.execute("BEGIN IMMEDIATE")
        locked = time.perf_counter()
        try:
            count = conn.executemany(self._sql_purge, batch).rowcount
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        committed = time.perf_counter()
        self._checkpoint(conn)
        if logger.isEnabledFor(logging.DEBUG):
            lock_seconds = committed - locked
            checkpoint_seconds = time.perf_counter() - committed
            logger.debug(
                "clear_expired: %d rows; write lock held %.1f ms, then checkpoint %.1f ms",
                count,
                lock_seconds * 1e3,
                checkpoint_seconds * 1e3,
                extra={
                    "rows": count,
                    "lock_seconds": lock_seconds,
                    "checkpoint_seconds": checkpoint_seconds,
                },
            )
        return count

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """Copy the WAL back into the database file, and keep the WAL from growing.

        A PASSIVE checkpoint right after the commit, as SQLite's automatic
        one would do, copies the batch's pages back without blocking anyone;
        a request that commits next finds them copied and does not checkpoint
        them itself.

        SQLite starts the WAL over from its beginning only at a write that
        begins when everything in it has been copied back. Under concurrent
        writes that moment never comes if the purge goes straight on:
        requests commit while the checkpoint copies (their own automatic
        checkpoint gives up, this one is running) and the purge's next batch
        begins before anyone copied their pages. The WAL would grow by every
        batch (3 GB for half of a million rows), and every request's commit
        would checkpoint. So when the WAL holds more than
        ``_WAL_RESTART_FRAMES`` pages, the purge pauses, holding nothing,
        until a request's write has started the WAL over, or everything is
        copied and no one wrote for a moment (then its own next write starts
        it over), at most ``_WAL_RESTART_TRIES`` pauses.
        """
        busy, in_log, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if busy or in_log < _WAL_RESTART_FRAMES:
            return
        previous = in_log
        for _ in range(_WAL_RESTART_TRIES):
            time.sleep(_WAL_RESTART_PAUSE)
            busy, in_log, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if busy:  # a request is checkpointing
                continue
            if in_log < previous or copied == in_log == previous:
                return  # started over; or all copied and no one wrote since
            previous = in_log

    def __repr__(self) -> str:
        return f"<DbEngine 'db' path={self.path!r} table={self.table!r}>"
