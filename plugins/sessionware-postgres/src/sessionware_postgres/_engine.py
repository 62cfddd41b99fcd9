"""PostgresEngine: sessions in one PostgreSQL table, shared by every app server.

Every operation is one autocommit statement on a pooled connection (see
`_schema` for the SQL): create is an `INSERT ... ON CONFLICT` that takes over
only an expired row, update an `UPDATE ... WHERE expires_at > now` (a
vanished session is never recreated), a versioned save the same `UPDATE`
with `AND version = %s` — compare-and-set in one statement. Session locks
are lease rows in `<table>_locks`, taken in one upsert that never waits for
the holder. `clear_expired` deletes in bounded batches that skip locked rows.

Connections: one psycopg_pool `ConnectionPool` per process (built on first
use, forgotten in a forked child) and one `AsyncConnectionPool` per event
loop, so the async twins never use a thread (`_pools`). Driver failures
become `EngineUnavailable` with the address (`_errors`); options are checked
at construction without contacting the server (`_options`). The schema is
checked once per process on first use, and created or upgraded there when
`create=True` (`_setup`, with the DDL in `_schema`; or beforehand with
`python -m sessionware_postgres create-schema`).

The class is assembled from mixins: the plain session operations, the pools
and the failure mapping are here; versioned saves and session locks in
`_versioned`, the purge in `_purge`, the schema check in `_setup`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import psycopg
from psycopg import errors as pge

from sessionware import (
    Capabilities,
    CreateError,
    EngineUnavailable,
    PerLoop,
    SessionwareError,
    UpdateError,
)

from ._errors import FAILURES, spoils_the_pool, translate
from ._options import DEFAULT_SCHEMA, DEFAULT_TABLE, Settings, build_settings
from ._pools import AsyncPool, SyncPool
from ._purge import PurgeOps
from ._schema import Statements
from ._setup import SchemaOps
from ._versioned import VersionedOps

__all__ = ["PostgresEngine"]

logger = logging.getLogger("sessionware.postgres")

Params = Sequence[Any]
Row = tuple[Any, ...]


def _payload(data: object) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"session data must be bytes, got {type(data).__name__}")


class PostgresEngine(SchemaOps, VersionedOps, PurgeOps):
    """Sessions in one PostgreSQL table: every process of every machine shares them.

    Where the server is: `url` (`postgresql://user:password@host:5432/dbname?sslmode=...`,
    several hosts allowed, or a libpq `key=value` string) and/or the fields
    `host`, `port`, `dbname`, `user`, `password` (a field wins over the URL);
    anything left out comes from libpq's defaults and `PG*` environment.
    TLS: `sslmode` (`disable` ... `verify-full`), `sslrootcert`, `sslcert`,
    `sslkey`. Tables: `schema` (`"public"`), `table` (`"sessionware_session"`,
    locks in `<table>_locks`), `unlogged` (`False`: a crash of the server
    keeps the sessions; `True`: faster writes, all sessions lost on a server
    crash), `create` (`True`: create or upgrade the tables on first use).
    Timeouts: `connect_timeout` (3 s; libpq counts whole seconds, 2 at
    least), `statement_timeout` (5 s, per connection; None leaves the
    server's), `pool_timeout` (5 s waiting for a free connection). Pool:
    `pool_size` (10 connections per process and per event loop),
    `pool_min_size` (1 kept open), `pool_max_idle` (300 s). `batch_size`
    (1000 rows per `clear_expired` statement), `prepare` (True: server-side
    prepared statements; False for a pgbouncer in transaction mode before
    1.21), `application_name` (`"sessionware"`).

    Everything is validated at construction without contacting the server;
    a bad value raises `ConfigurationError` naming the option. The server
    being unreachable, read-only or overloaded raises `EngineUnavailable`
    with `address` (the URL without its password).
    """

    name: ClassVar[str] = "postgres"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_side=True,
        clear_expired=True,
        native_async=True,
        shared_across_processes=True,
        local=False,
        versioned=True,
        locking=True,
    )

    def __init__(
        self,
        *,
        url: str | None = None,
        host: str | None = None,
        port: int | str | None = None,
        dbname: str | None = None,
        user: str | None = None,
        password: str | None = None,
        sslmode: str | None = None,
        sslrootcert: str | None = None,
        sslcert: str | None = None,
        sslkey: str | None = None,
        schema: str = DEFAULT_SCHEMA,
        table: str = DEFAULT_TABLE,
        unlogged: bool = False,
        create: bool = True,
        connect_timeout: float | None = None,
        statement_timeout: float | None = 5.0,
        pool_timeout: float = 5.0,
        pool_size: int = 10,
        pool_min_size: int = 1,
        pool_max_idle: float = 300.0,
        batch_size: int = 1000,
        prepare: bool = True,
        application_name: str | None = None,
    ) -> None:
        given = dict(locals())
        del given["self"]
        #: The validated options (the connection string is left out of its repr).
        self.settings: Settings = build_settings(given)
        #: Where the sessions live, without the password (also `EngineUnavailable.address`).
        self.address: str = self.settings.address
        #: The schema and table of the sessions (locks: `<table>_locks`).
        self.schema: str = self.settings.schema
        self.table: str = self.settings.table
        self.batch_size: int = self.settings.batch_size
        self._sql = Statements.build(self.schema, self.table)
        self._lock = threading.Lock()
        self._sync: SyncPool | None = None
        #: Each event loop's pool (the core's `PerLoop`: made on first use in a loop,
        #: closed on its own loop, kept but never touched once its loop has closed).
        self._loops: PerLoop[AsyncPool] = PerLoop()
        # Checked (and created if allowed) on first use in this process.
        self._ready = False
        # The blocking pool inherited through fork: never used or closed here (its
        # sockets are the parent's), only kept alive.
        self._inherited: list[object] = []

    def __repr__(self) -> str:
        return f"<PostgresEngine {self.address} table={self.schema}.{self.table}>"

    # -- pools -------------------------------------------------------------------

    def _pool(self) -> SyncPool:
        handle = self._sync
        if handle is None:
            with self._lock:
                handle = self._sync
                if handle is None:
                    handle = self._sync = SyncPool(self.settings)
        return handle

    async def _apool(self) -> AsyncPool:
        return self._loops.current() or await self._loops.attach(self._new_pool)

    async def _new_pool(self) -> AsyncPool:
        pool = AsyncPool(self.settings)
        await pool.start()
        return pool

    def after_fork_in_child(self) -> None:
        """Forget the parent's pools (kept alive, never used or closed) and lock."""
        self._inherited.append(self._sync)
        self._sync = None
        self._loops.after_fork_in_child()
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the blocking pool and every event loop's pool.

        A pool whose loop runs in this thread is closed by a task scheduled
        on it; one running in another thread, by a coroutine sent to it.
        Using the engine afterwards opens new pools, so closing twice is
        harmless.
        """
        with self._lock:
            handle, self._sync = self._sync, None
        if handle is not None:
            handle.close()
        self._loops.close()

    async def aclose(self) -> None:
        """Close this loop's pool (awaited), then everything else as `close` does."""
        await self._loops.aclose()
        self.close()

    # -- failures ------------------------------------------------------------------

    def _failure(self, exc: BaseException, operation: str) -> SessionwareError:
        if isinstance(exc, pge.UndefinedTable | pge.UndefinedColumn):
            # Dropped behind the engine's back: check (and recreate) on the next call.
            self._ready = False
            return EngineUnavailable(
                f"the session tables {self.schema}.{self.table} at {self.address} are missing "
                f"or incomplete during {operation} ({exc}); "
                + (
                    "they are created again on the next call"
                    if self.settings.create
                    else "create them: python -m sessionware_postgres create-schema --url ..."
                ),
                address=self.address,
            )
        return translate(exc, self.address, operation)

    def _failed(
        self, exc: BaseException, operation: str, handle: SyncPool, conn: psycopg.Connection[Any]
    ) -> SessionwareError:
        if spoils_the_pool(exc, conn.broken):
            try:
                handle.pool.drain()
            except Exception:  # pragma: no cover - a pool closed meanwhile
                logger.debug("draining the pool failed", exc_info=True)
        return self._failure(exc, operation)

    async def _afailed(
        self,
        exc: BaseException,
        operation: str,
        handle: AsyncPool,
        conn: psycopg.AsyncConnection[Any],
    ) -> SessionwareError:
        if spoils_the_pool(exc, conn.broken):
            try:
                await handle.pool.drain()
            except Exception:  # pragma: no cover - a pool closed meanwhile
                logger.debug("draining the pool failed", exc_info=True)
        return self._failure(exc, operation)

    # -- one statement on a pooled connection ------------------------------------------

    def _run(self, operation: str, query: str, params: Params) -> tuple[int, Row | None]:
        """Run `query` on a pooled connection: the rows it changed, and its first row.

        Results come in binary (bytea as bytes, no hex to decode). The first
        call in a process checks (and, if allowed, creates) the tables first.
        """
        handle = self._sync or self._pool()
        try:
            conn = handle.getconn()
        except FAILURES as exc:
            raise self._failure(exc, operation) from exc
        try:
            if not self._ready:
                self._prepare(conn)
            cursor = conn.execute(query, params, binary=True)
            return cursor.rowcount, cursor.fetchone() if cursor.description else None
        except FAILURES as exc:
            raise self._failed(exc, operation, handle, conn) from exc
        finally:
            handle.pool.putconn(conn)

    async def _arun(self, operation: str, query: str, params: Params) -> tuple[int, Row | None]:
        """Async twin of `_run`, on the running loop's pool."""
        handle = self._loops.current() or await self._apool()
        try:
            conn = await handle.getconn()
        except FAILURES as exc:
            raise self._failure(exc, operation) from exc
        try:
            if not self._ready:
                await self._aprepare(conn)
            cursor = await conn.execute(query, params, binary=True)
            return cursor.rowcount, await cursor.fetchone() if cursor.description else None
        except FAILURES as exc:
            raise await self._afailed(exc, operation, handle, conn) from exc
        finally:
            await handle.pool.putconn(conn)

    # -- what the operations share -----------------------------------------------------

    def _taken(self, key: str) -> CreateError:
        return CreateError(f"a session with key {key[:6]}... already exists at {self.address}")

    def _gone(self, key: str) -> UpdateError:
        return UpdateError(
            f"session {key[:6]}... no longer exists at {self.address} (deleted or expired); "
            "it is not recreated"
        )

    def _plan_save(self, key: str, data: bytes, expires_at: float) -> tuple[bytes, float]:
        self.check_key(key)
        return _payload(data), float(expires_at)

    @staticmethod
    def _data(row: Row) -> bytes:
        data = row[0]
        return data if type(data) is bytes else bytes(data)

    # -- the engine protocol, blocking ---------------------------------------------------

    def load(self, key: str) -> bytes | None:
        """The bytes stored under `key`, or None if missing, expired or invalid."""
        if not self.is_valid_key(key):
            return None
        row = self._run("load", self._sql.load, (key, self.now()))[1]
        return None if row is None else self._data(row)

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """Create (`must_create`) or update the row for `key`; return `key`.

        Raises `CreateError` when creating over an unexpired session and
        `UpdateError` when updating one that was deleted or has expired.
        """
        payload, expiry = self._plan_save(key, data, expires_at)
        now = self.now()
        if must_create:
            if self._run("save (create)", self._sql.create, (key, payload, expiry, now))[0] != 1:
                raise self._taken(key)
        elif self._run("save (update)", self._sql.update, (payload, expiry, key, now))[0] != 1:
            raise self._gone(key)
        return key

    def exists(self, key: str) -> bool:
        """True when an unexpired session is stored under `key`."""
        if not self.is_valid_key(key):
            return False
        return self._run("exists", self._sql.exists, (key, self.now()))[1] is not None

    def delete(self, key: str) -> None:
        """Delete the row for `key`; nothing happens if there is none."""
        if not self.is_valid_key(key):
            return
        self._run("delete", self._sql.delete, (key,))

    def health(self) -> None:
        """Connect, check the tables (creating them if allowed), and that the server takes writes.

        Raises `EngineUnavailable` with the address when the server cannot
        be reached or is read-only (a standby, a demoted primary), and
        `ConfigurationError` when the tables are missing and cannot be
        created. Reads and writes no session.
        """
        self._ready = False
        self._check_writable(self._run("health check", self._sql.health, ())[1])

    def _check_writable(self, row: Row | None) -> None:
        if row is not None and str(row[0]).lower() == "on":
            raise EngineUnavailable(
                f"PostgreSQL at {self.address} is read-only (a standby, or the old primary "
                "after a failover): sessions could be read but never saved; point the URL at "
                "the primary (libpq: several hosts and target_session_attrs=read-write)",
                address=self.address,
            )

    # -- the engine protocol, asyncio (no threads) -----------------------------------------

    async def aload(self, key: str) -> bytes | None:
        """Async twin of `load`, on the running loop's own pool."""
        if not self.is_valid_key(key):
            return None
        _, row = await self._arun("load", self._sql.load, (key, self.now()))
        return None if row is None else self._data(row)

    async def asave(
        self, key: str, data: bytes, expires_at: float, must_create: bool = False
    ) -> str:
        """Async twin of `save`."""
        payload, expiry = self._plan_save(key, data, expires_at)
        now = self.now()
        if must_create:
            params: Params = (key, payload, expiry, now)
            if (await self._arun("save (create)", self._sql.create, params))[0] != 1:
                raise self._taken(key)
        else:
            params = (payload, expiry, key, now)
            if (await self._arun("save (update)", self._sql.update, params))[0] != 1:
                raise self._gone(key)
        return key

    async def aexists(self, key: str) -> bool:
        """Async twin of `exists`."""
        if not self.is_valid_key(key):
            return False
        _, row = await self._arun("exists", self._sql.exists, (key, self.now()))
        return row is not None

    async def adelete(self, key: str) -> None:
        """Async twin of `delete`."""
        if not self.is_valid_key(key):
            return
        await self._arun("delete", self._sql.delete, (key,))

    async def ahealth(self) -> None:
        """Async twin of `health`, on the running loop's own pool."""
        self._ready = False
        self._check_writable((await self._arun("health check", self._sql.health, ()))[1])
