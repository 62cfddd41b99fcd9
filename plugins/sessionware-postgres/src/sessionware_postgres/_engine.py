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
`create=True` (`_schema`; or beforehand with `python -m sessionware_postgres
create-schema`).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import psycopg
from psycopg import errors as pge

from sessionware import (
    Capabilities,
    ConfigurationError,
    CreateError,
    EngineBase,
    EngineUnavailable,
    PerLoop,
    SessionwareError,
    UpdateError,
    Version,
    VersionConflict,
)

from ._errors import FAILURES, spoils_the_pool, translate
from ._options import DEFAULT_SCHEMA, DEFAULT_TABLE, Settings, build_settings
from ._pools import AsyncPool, SyncPool
from ._schema import Statements, check_role, ddl, grants, lock_key, readiness_query

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


class PostgresEngine(EngineBase):
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

    # -- the schema, once per process ------------------------------------------------

    def _missing(self, state: tuple[Any, ...] | None) -> list[str]:
        if state is None:
            return ["everything"]
        has_table, has_locks, has_version, persistence = state
        missing = []
        if not has_table:
            missing.append(f"the table {self.schema}.{self.table}")
        elif not has_version:
            missing.append(f"the version column of {self.schema}.{self.table}")
        if not has_locks:
            missing.append(f"the table {self.schema}.{self.table}_locks")
        if has_table and persistence in ("p", "u"):
            wanted = "u" if self.settings.unlogged else "p"
            if persistence != wanted:
                logger.warning(
                    "the session table %s.%s at %s is %s but the engine's unlogged option is "
                    "%s; the table is left as it is (ALTER TABLE ... SET %s changes it, "
                    "rewriting the table under an exclusive lock)",
                    self.schema,
                    self.table,
                    self.address,
                    "UNLOGGED" if persistence == "u" else "LOGGED",
                    self.settings.unlogged,
                    "UNLOGGED" if wanted == "u" else "LOGGED",
                )
        return missing

    def _cannot_create(self, missing: list[str], exc: BaseException | None) -> ConfigurationError:
        reason = f" (the server refused: {' '.join(str(exc).split())})" if exc else ""
        return ConfigurationError(
            f"PostgreSQL at {self.address} lacks {', '.join(missing)}{reason}. Create the "
            f"schema as a user allowed to: python -m sessionware_postgres create-schema "
            f"--url URL --schema {self.schema} --table {self.table}"
            + (" --unlogged" if self.settings.unlogged else "")
            + (
                ""
                if self.settings.create
                else " (or let the engine do it on first use with create=True)"
            ),
            field="engine_options.create",
        )

    def _no_usage(self, exc: BaseException) -> ConfigurationError:
        return ConfigurationError(
            f"PostgreSQL at {self.address} refused this user a look at the schema "
            f"{self.schema} ({' '.join(str(exc).split())}): grant it USAGE on the schema and "
            "SELECT, INSERT, UPDATE, DELETE on the session tables. As their owner, python -m "
            f"sessionware_postgres create-schema --url URL --schema {self.schema} --table "
            f"{self.table} --grant-to ROLE creates the tables and grants both",
            field="engine_options.url",
        )

    def _prepare(self, conn: psycopg.Connection[Any]) -> None:
        query, params = readiness_query(self.schema, self.table)
        try:
            state = conn.execute(query, params).fetchone()
        except pge.InsufficientPrivilege as exc:
            raise self._no_usage(exc) from exc
        missing = self._missing(state)
        if missing:
            if not self.settings.create:
                raise self._cannot_create(missing, None)
            try:
                with conn.transaction():
                    conn.execute("SET LOCAL lock_timeout = '10s'")
                    conn.execute("SET LOCAL statement_timeout = '60s'")
                    conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtext(%s))",
                        (lock_key(self.schema, self.table),),
                    )
                    for step in ddl(self.schema, self.table, unlogged=self.settings.unlogged):
                        conn.execute(step)
            except pge.InsufficientPrivilege as exc:
                raise self._cannot_create(missing, exc) from exc
            logger.info(
                "created the session tables %s.%s at %s", self.schema, self.table, self.address
            )
        self._ready = True

    async def _aprepare(self, conn: psycopg.AsyncConnection[Any]) -> None:
        query, params = readiness_query(self.schema, self.table)
        try:
            cursor = await conn.execute(query, params)
        except pge.InsufficientPrivilege as exc:
            raise self._no_usage(exc) from exc
        missing = self._missing(await cursor.fetchone())
        if missing:
            if not self.settings.create:
                raise self._cannot_create(missing, None)
            try:
                async with conn.transaction():
                    await conn.execute("SET LOCAL lock_timeout = '10s'")
                    await conn.execute("SET LOCAL statement_timeout = '60s'")
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtext(%s))",
                        (lock_key(self.schema, self.table),),
                    )
                    for step in ddl(self.schema, self.table, unlogged=self.settings.unlogged):
                        await conn.execute(step)
            except pge.InsufficientPrivilege as exc:
                raise self._cannot_create(missing, exc) from exc
            logger.info(
                "created the session tables %s.%s at %s", self.schema, self.table, self.address
            )
        self._ready = True

    def schema_sql(self, grant_to: str | None = None) -> list[str]:
        """The statements that create (or upgrade) this engine's tables, in order.

        Idempotent (`IF NOT EXISTS` throughout). With `grant_to`, the GRANTs
        that role needs to use the tables without owning them follow.
        What `python -m sessionware_postgres create-schema --print` prints.
        """
        steps = ddl(self.schema, self.table, unlogged=self.settings.unlogged)
        if grant_to is not None:
            steps += grants(self.schema, self.table, check_role(grant_to))
        return steps

    def create_schema(self, grant_to: str | None = None) -> list[str]:
        """Run `schema_sql(grant_to)` in one transaction on a connection of its own.

        For deployments where the application's user may not run DDL: run it
        once as the tables' owner (the `create-schema` command does), then
        give the application `create=False`. Returns the statements run.
        Concurrent runs (and engines creating on first use) are serialized
        by an advisory lock.
        """
        steps = self.schema_sql(grant_to)
        try:
            with (
                psycopg.connect(self.settings.conninfo, autocommit=True) as conn,
                conn.transaction(),
            ):
                conn.execute("SET LOCAL lock_timeout = '10s'")
                conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))",
                    (lock_key(self.schema, self.table),),
                )
                for step in steps:
                    conn.execute(step)
        except pge.InsufficientPrivilege as exc:
            raise ConfigurationError(
                f"PostgreSQL at {self.address} refused to create the session tables "
                f"({' '.join(str(exc).split())}); run this as the tables' owner or a user "
                "with CREATE on the database (or the schema)",
                field="engine_options.url",
            ) from exc
        except FAILURES as exc:
            raise translate(exc, self.address, "create-schema") from exc
        return steps

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

    def _conflict(self, key: str, version: int) -> VersionConflict:
        return VersionConflict(
            f"session {key[:6]}... was saved by another request since version {version} was "
            f"loaded from {self.address}; nothing was written"
        )

    def _plan_save(self, key: str, data: bytes, expires_at: float) -> tuple[bytes, float]:
        self.check_key(key)
        return _payload(data), float(expires_at)

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

    @staticmethod
    def _purge(batch: tuple[float, int]) -> Params:
        cutoff, size = batch
        return (cutoff, size, cutoff)

    @staticmethod
    def _count(row: Row | None) -> int:
        return 0 if row is None else int(row[0])

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

    def clear_expired(self, progress: Callable[[int], None] | None = None) -> int:
        """Delete expired rows, at most `batch_size` per statement; return how many.

        Each batch is one `DELETE ... WHERE session_key = ANY(ARRAY(SELECT ...
        LIMIT n FOR UPDATE SKIP LOCKED))` on the expiry index, its own short
        transaction on a connection taken from the pool for that batch only:
        requests never wait behind the purge, rows a request is writing are
        skipped (left for the next purge), and several machines can purge at
        once without deleting a row twice or waiting for each other.
        `progress`, if given, is called with the running total after each
        batch that removed rows (committed). Rows that expire while the purge
        runs are left for the next one. Lock leases that ran out are deleted
        too (not counted).
        """
        batch = (self.now(), self.batch_size)
        removed = 0
        while (count := self._run("clear_expired", self._sql.purge, self._purge(batch))[0]) > 0:
            removed += count
            if progress is not None:
                progress(removed)
        self._run("clear_expired (locks)", self._sql.purge_locks, ())
        return removed

    def count_expired(self) -> int:
        """How many rows have expired: one `count(*)` on the expiry index."""
        return self._count(self._run("count_expired", self._sql.count_expired, (self.now(),))[1])

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

    async def aclear_expired(self, progress: Callable[[int], None] | None = None) -> int:
        """Async twin of `clear_expired`."""
        batch = (self.now(), self.batch_size)
        removed = 0
        while (
            count := (await self._arun("clear_expired", self._sql.purge, self._purge(batch)))[0]
        ) > 0:
            removed += count
            if progress is not None:
                progress(removed)
        await self._arun("clear_expired (locks)", self._sql.purge_locks, ())
        return removed

    async def acount_expired(self) -> int:
        """Async twin of `count_expired`."""
        _, row = await self._arun("count_expired", self._sql.count_expired, (self.now(),))
        return self._count(row)

    async def ahealth(self) -> None:
        """Async twin of `health`, on the running loop's own pool."""
        self._ready = False
        self._check_writable((await self._arun("health check", self._sql.health, ()))[1])
