"""The versioned saves and session locks of ``DbEngine``, as a mixin it inherits.

What lives here: ``load_versioned`` and ``save_versioned`` (a compare-and-set
on the row's ``version`` counter), ``acquire_lock`` and ``release_lock`` (a
lease row in the ``<table>_locks`` table) and the ``CreateError`` and
``UpdateError`` messages the saves share. Their async twins are
``EngineBase``'s. The SQL, the connections and the other operations live in
``_engine``.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable

from sessionware import CreateError, EngineBase, UpdateError, Version, VersionConflict

from ._connections import Connections

__all__ = ["VersionedSaves"]


class VersionedSaves(EngineBase):
    """Versioned saves and session locks on the SQL prepared by ``DbEngine.__init__``."""

    #: Absolute path of the database file (named in messages).
    path: str
    _connections: Connections
    _conn: Callable[[], sqlite3.Connection]
    _sql_exists: str
    _sql_load_versioned: str
    _sql_update_versioned: str
    _sql_create_versioned: str
    _sql_acquire_lock: str
    _sql_release_lock: str

    def _taken(self, key: str) -> CreateError:
        return CreateError(f"a session with key {key[:6]}... already exists in {self.path}")

    def _gone(self, key: str) -> UpdateError:
        return UpdateError(
            f"session {key[:6]}... no longer exists in {self.path} (deleted or expired); "
            "it is not recreated"
        )

    # -- versioned saves (capabilities.versioned) -----------------------------------

    def load_versioned(self, key: str) -> tuple[bytes, Version] | None:
        """``load`` plus the row's version, read by the same statement.

        The version is the row's ``version`` counter, which every write of the
        row (versioned or not) increments.
        """
        if not self.is_valid_key(key):
            return None
        try:
            row = self._conn().execute(self._sql_load_versioned, (key, self.now())).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._connections.failed(exc) from exc
        if row is None:
            return None
        data, version = row
        if type(data) is not bytes:
            data = str(data).encode("utf-8", "surrogatepass")
        return data, int(version)

    def save_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        """Create (``version=None``) or compare-and-set the row for ``key``.

        The update is one ``UPDATE ... WHERE session_key = ? AND version = ?
        AND expires_at > now``: it writes only over the version the caller
        loaded. When it changes no row, one indexed read tells the two cases
        apart: a live row means someone saved meanwhile
        (``VersionConflict``, nothing written), none means
        the session was deleted or expired (``UpdateError``).
        Returns ``(key, new version)``.
        """
        self.check_key(key)
        if version is not None and (type(version) is not int):
            raise TypeError(
                f"{version!r} is not a version of the db engine (an int from load_versioned)"
            )
        if type(data) is not bytes:
            data = bytes(data)
        now = self.now()
        try:
            conn = self._conn()
            if version is None:
                created = conn.execute(
                    self._sql_create_versioned, (key, data, float(expires_at), now)
                ).fetchall()
                if not created:
                    raise self._taken(key)
                return key, int(created[0][0])
            changed = conn.execute(
                self._sql_update_versioned, (data, float(expires_at), key, version, now)
            ).rowcount
            if changed == 1:
                return key, version + 1
            live = conn.execute(self._sql_exists, (key, now)).fetchone() is not None
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            raise self._connections.failed(exc) from exc
        if live:
            raise VersionConflict(
                f"session {key[:6]}... was saved by another request since version {version} "
                f"was loaded from {self.path}; nothing was written"
            )
        raise self._gone(key)

    # -- session locks (capabilities.locking) ---------------------------------------

    def acquire_lock(self, key: str, ttl: float) -> str | None:
        """Take the lease on ``key`` for ``ttl`` seconds if it is free; never waits for a holder.

        One upsert into the ``<table>_locks`` table: it inserts the lease, or
        replaces one whose ``expires_at`` has passed, and otherwise changes no
        row (then ``None``). Like every write, it waits at most the busy
        ``timeout`` for SQLite's write lock, never for the session lock's holder.
        """
        self.check_key(key)
        ttl = self.lease_seconds(ttl)
        token = secrets.token_hex(16)
        now = self.now()
        try:
            taken = (
                self._conn().execute(self._sql_acquire_lock, (key, token, now + ttl, now)).rowcount
            )
        except sqlite3.DatabaseError as exc:
            raise self._connections.failed(exc) from exc
        return token if taken == 1 else None

    def release_lock(self, key: str, token: str) -> None:
        """Delete the lease on ``key`` if ``token`` still holds it; otherwise nothing."""
        if not self.is_valid_key(key):
            return
        try:
            self._conn().execute(self._sql_release_lock, (key, token))
        except sqlite3.DatabaseError as exc:
            raise self._connections.failed(exc) from exc
