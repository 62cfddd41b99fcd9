"""The postgres engine's schema handling, as a mixin `PostgresEngine` inherits.

On the first statement in a process the engine checks that its tables
exist (`_prepare`/`_aprepare`, one catalog query), and creates or upgrades
them there when `create=True`, serialized across processes by an advisory
lock. `schema_sql` and `create_schema` are what `python -m
sessionware_postgres create-schema` runs. The DDL itself is in `_schema`;
the pools and the session operations stay in `_engine`.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg import errors as pge

from sessionware import ConfigurationError, EngineBase

from ._errors import FAILURES, translate
from ._options import Settings
from ._schema import check_role, ddl, grants, lock_key, readiness_query

__all__ = ["SchemaOps"]

logger = logging.getLogger("sessionware.postgres")


class SchemaOps(EngineBase):
    """The tables' check (and creation) on first use, `schema_sql` and `create_schema`.

    Mixed into `PostgresEngine`, which provides `settings`, `address`,
    `schema`, `table` and the `_ready` flag this sets.
    """

    settings: Settings
    address: str
    schema: str
    table: str
    _ready: bool

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
