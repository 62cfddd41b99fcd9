"""The db engine's SQLite connections: one per thread, and what a failure on one means.

``Connections`` opens the database once at construction to prepare it (WAL,
the schema through ``_schema``), then gives each thread its own connection on
first use, tracked so that ``close`` can close them all, those of finished
threads are closed when a new one opens, and a forked child never touches the
parent's. It also maps ``sqlite3.Error`` to
``EngineUnavailable`` with the fix in the message, and
drops a connection that saw corruption or an I/O error. The engine
operations (``_engine``) only run SQL on ``current()``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref

from sessionware import EngineUnavailable

from ._options import options
from ._schema import ensure_schema

__all__ = ["Connections"]

logger = logging.getLogger("sessionware.db")

_LOCKED = ("SQLITE_BUSY", "SQLITE_LOCKED")
_BROKEN = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def _code(exc: sqlite3.Error) -> str:
    return getattr(exc, "sqlite_errorname", "")


class Connections:
    """The connections of one engine to the database file ``path``."""

    def __init__(self, path: str, timeout: float, synchronous: str) -> None:
        #: Absolute path of the database file.
        self.path = path
        #: Busy timeout in seconds.
        self.timeout = timeout
        #: ``PRAGMA synchronous`` of every connection.
        self.synchronous = synchronous
        self._lock = threading.Lock()
        self._local = threading.local()
        self._conns: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        # Connections inherited through fork: never used or closed by the child
        # (SQLite forbids carrying a connection across fork), only kept alive.
        self._inherited: list[sqlite3.Connection] = []

    def prepare(self, table: str, *, create: bool) -> None:
        """Switch the file to WAL and bring ``table`` to the current schema, on its own connection.

        A file that cannot be opened or used raises ``ConfigurationError``
        naming the ``path`` option; one locked past the busy timeout,
        ``EngineUnavailable``.
        """
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout)
        except sqlite3.Error as exc:
            raise options.error("path", f"cannot open {self.path}: {exc}") from exc
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning(
                    "%s stays in journal mode %r instead of WAL; concurrent readers will "
                    "wait for writers",
                    self.path,
                    mode,
                )
            ensure_schema(conn, table, path=self.path, create=create)
        except sqlite3.Error as exc:
            if _code(exc).startswith(_LOCKED):
                raise self.unavailable(exc) from exc
            raise options.error("path", f"cannot use {self.path}: {self.describe(exc)}") from exc
        finally:
            conn.close()

    # -- one connection per thread ---------------------------------------------

    def current(self) -> sqlite3.Connection:
        """This thread's connection, opened on its first use."""
        try:
            conn: sqlite3.Connection = self._local.conn
        except AttributeError:
            return self._open()
        return conn

    def _open(self) -> sqlite3.Connection:
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
            raise self.unavailable(exc) from exc
        with self._lock:
            self._reap()
            self._conns.append((weakref.ref(threading.current_thread()), conn))
        self._local.conn = conn
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
        """Close every connection, in every thread; the next ``current()`` opens a new one."""
        with self._lock:
            conns, self._conns = self._conns, []
            self._local = threading.local()
        for _, conn in conns:
            conn.close()

    # -- failures --------------------------------------------------------------

    def describe(self, exc: sqlite3.Error) -> str:
        """``exc`` in words, with the fix when the file is not a usable database."""
        if _code(exc).startswith(_BROKEN):
            return (
                f"the file is corrupted or is not an SQLite database ({exc}); restore it "
                "from a backup, or move it aside to start with no sessions"
            )
        return str(exc)

    def unavailable(self, exc: sqlite3.Error) -> EngineUnavailable:
        """The ``EngineUnavailable`` for ``exc``, naming the file and the fix."""
        if _code(exc).startswith(_LOCKED):
            message = (
                f"the session database {self.path} stayed locked longer than the "
                f"{self.timeout:g}s busy timeout ({exc}): another connection holds a long "
                "write transaction; retry, or raise the 'timeout' option"
            )
        else:
            message = f"the session database {self.path} cannot be used: {self.describe(exc)}"
        return EngineUnavailable(message, address=self.path)

    def failed(self, exc: sqlite3.Error) -> EngineUnavailable:
        """Like ``unavailable``, after an operation on ``current()`` failed with ``exc``.

        A connection that saw corruption or an I/O error is not trusted
        again: it is dropped, and this thread's next call reopens the file.
        """
        if not _code(exc).startswith(_LOCKED):
            self._drop_current()
        return self.unavailable(exc)
