"""The postgres engine's versioned saves and session locks, as a mixin `PostgresEngine` inherits.

A versioned save is the engine's `UPDATE` with `AND version = %s`:
compare-and-set in one statement, then one indexed read when it changed
nothing to tell a conflict (`VersionConflict`) from a session that is gone
(`UpdateError`). Session locks are lease rows in `<table>_locks`, taken in
one upsert that never waits for the holder. Blocking and asyncio twins side
by side. The SQL is in `_schema`; the pools, the plain session operations
and the failure mapping stay in `_engine`, which this module only uses.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sessionware import (
    CreateError,
    EngineBase,
    SessionwareError,
    UpdateError,
    Version,
    VersionConflict,
)

if TYPE_CHECKING:
    from ._engine import Params, Row
    from ._schema import Statements

__all__ = ["VersionedOps"]


class VersionedOps(EngineBase):
    """`load_versioned`, `save_versioned`, `acquire_lock`, `release_lock` and their twins.

    Mixed into `PostgresEngine`, which provides `_run`/`_arun` (one
    statement on a pooled connection), `_plan_save`, `_data`, `_taken` and
    `_gone`.
    """

    address: str
    _sql: Statements

    if TYPE_CHECKING:

        def _run(self, operation: str, query: str, params: Params) -> tuple[int, Row | None]: ...
        async def _arun(
            self, operation: str, query: str, params: Params
        ) -> tuple[int, Row | None]: ...
        def _plan_save(self, key: str, data: bytes, expires_at: float) -> tuple[bytes, float]: ...
        def _taken(self, key: str) -> CreateError: ...
        def _gone(self, key: str) -> UpdateError: ...
        @staticmethod
        def _data(row: Row) -> bytes: ...

    # -- what the operations share -----------------------------------------------------

    def _conflict(self, key: str, version: int) -> VersionConflict:
        return VersionConflict(
            f"session {key[:6]}... was saved by another request since version {version} was "
            f"loaded from {self.address}; nothing was written"
        )

    @staticmethod
    def _version(version: object) -> int:
        if type(version) is not int:
            raise TypeError(
                f"{version!r} is not a version of the postgres engine (an int from load_versioned)"
            )
        return version

    def _created(self, key: str, row: Row | None) -> tuple[str, Version]:
        if row is None:
            raise self._taken(key)
        return key, int(row[0])

    def _refused(self, key: str, version: int, live: bool) -> SessionwareError:
        return self._conflict(key, version) if live else self._gone(key)

    # -- blocking ----------------------------------------------------------------------

    def load_versioned(self, key: str) -> tuple[bytes, Version] | None:
        """`load` plus the row's version counter, read by the same statement."""
        if not self.is_valid_key(key):
            return None
        row = self._run("load", self._sql.load_versioned, (key, self.now()))[1]
        return None if row is None else (self._data(row), int(row[1]))

    def save_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        """Create (`version=None`) or compare-and-set the row for `key`.

        The update is one `UPDATE ... WHERE session_key = %s AND version = %s
        AND expires_at > now`. When it changes no row, one indexed read tells
        the cases apart: a live row means another request saved meanwhile
        (`VersionConflict`, nothing written), none means the session was
        deleted or expired (`UpdateError`). Returns `(key, new version)`.
        """
        payload, expiry = self._plan_save(key, data, expires_at)
        now = self.now()
        if version is None:
            row = self._run("save (create)", self._sql.create, (key, payload, expiry, now))[1]
            return self._created(key, row)
        expected = self._version(version)
        params = (payload, expiry, key, expected, now)
        if self._run("save (compare-and-set)", self._sql.update_versioned, params)[0] == 1:
            return key, expected + 1
        live = self._run("save (compare-and-set)", self._sql.exists, (key, now))[1]
        raise self._refused(key, expected, live is not None)

    def acquire_lock(self, key: str, ttl: float) -> str | None:
        """Take the lease on `key` for `ttl` seconds if it is free; never waits for a holder.

        One upsert into `<table>_locks`: it inserts the lease, or replaces one
        whose time (by the database's clock) has run out, and otherwise
        changes nothing (then None).
        """
        self.check_key(key)
        token = secrets.token_hex(16)
        params = (key, token, self.lease_seconds(ttl))
        return token if self._run("acquire_lock", self._sql.acquire_lock, params)[0] == 1 else None

    def release_lock(self, key: str, token: str) -> None:
        """Delete the lease on `key` if `token` still holds it; otherwise nothing."""
        if not self.is_valid_key(key) or not isinstance(token, str):
            return
        self._run("release_lock", self._sql.release_lock, (key, token))

    # -- asyncio (no threads) ----------------------------------------------------------

    async def aload_versioned(self, key: str) -> tuple[bytes, Version] | None:
        """Async twin of `load_versioned`."""
        if not self.is_valid_key(key):
            return None
        _, row = await self._arun("load", self._sql.load_versioned, (key, self.now()))
        return None if row is None else (self._data(row), int(row[1]))

    async def asave_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        """Async twin of `save_versioned`."""
        payload, expiry = self._plan_save(key, data, expires_at)
        now = self.now()
        if version is None:
            params: Params = (key, payload, expiry, now)
            _, row = await self._arun("save (create)", self._sql.create, params)
            return self._created(key, row)
        expected = self._version(version)
        params = (payload, expiry, key, expected, now)
        if (await self._arun("save (compare-and-set)", self._sql.update_versioned, params))[0] == 1:
            return key, expected + 1
        _, live = await self._arun("save (compare-and-set)", self._sql.exists, (key, now))
        raise self._refused(key, expected, live is not None)

    async def aacquire_lock(self, key: str, ttl: float) -> str | None:
        """Async twin of `acquire_lock`."""
        self.check_key(key)
        token = secrets.token_hex(16)
        params = (key, token, self.lease_seconds(ttl))
        taken, _ = await self._arun("acquire_lock", self._sql.acquire_lock, params)
        return token if taken == 1 else None

    async def arelease_lock(self, key: str, token: str) -> None:
        """Async twin of `release_lock`."""
        if not self.is_valid_key(key) or not isinstance(token, str):
            return
        await self._arun("release_lock", self._sql.release_lock, (key, token))
