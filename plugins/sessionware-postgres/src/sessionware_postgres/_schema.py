"""The postgres engine's tables, its SQL, and the schema's creation or upgrade.

Two tables in the configured schema:

- `<table>` (`sessionware_session`): `session_key` (primary key),
  `session_data` (`bytea`), `expires_at` (POSIX seconds, `double precision`,
  indexed) and `version` (`bigint`, the compare-and-set counter);
- `<table>_locks`: one lease row per locked session (`session_key`,
  `token`, `expires_at` by the database's clock).

Every statement is composed once per engine with `psycopg.sql` (identifiers
quoted by psycopg, after `check_identifier` already allowed only lowercase
letters, digits and `_`). The DDL is idempotent (`IF NOT EXISTS`
everywhere), so the same script creates a new schema, upgrades an older or
hand-made one in place, and is what `python -m sessionware_postgres
create-schema --print` shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

__all__ = [
    "SCHEMA_VERSION",
    "Statements",
    "check_role",
    "ddl",
    "grants",
    "lock_key",
    "readiness_query",
]

#: The layout this version of the engine reads and writes (in the table's comment).
SCHEMA_VERSION = 1


def _names(schema: str, table: str) -> dict[str, sql.Composable]:
    return {
        "schema": sql.Identifier(schema),
        "t": sql.Identifier(schema, table),
        "locks": sql.Identifier(schema, f"{table}_locks"),
        "expiry_index": sql.Identifier(f"{table}_expires_at"),
    }


def _render(template: str, schema: str, table: str) -> str:
    return sql.SQL(template).format(**_names(schema, table)).as_string(None)


#: The request path and the purge. `%s` placeholders, bound by psycopg (server-side).
_STATEMENTS = {
    "load": "SELECT session_data FROM {t} WHERE session_key = %s AND expires_at > %s",
    "load_versioned": (
        "SELECT session_data, version FROM {t} WHERE session_key = %s AND expires_at > %s"
    ),
    "exists": "SELECT 1 FROM {t} WHERE session_key = %s AND expires_at > %s",
    # One statement, atomic: a new key is inserted; a key whose row has expired (not
    # purged yet) is taken over, its version counting on (never back to one a stale
    # reader may hold); a live row is left alone and no row comes back (CreateError).
    "create": (
        "INSERT INTO {t} AS s (session_key, session_data, expires_at, version) "
        "VALUES (%s, %s, %s, 1) ON CONFLICT (session_key) DO UPDATE SET "
        "session_data = EXCLUDED.session_data, expires_at = EXCLUDED.expires_at, "
        "version = s.version + 1 WHERE s.expires_at <= %s RETURNING version"
    ),
    # The expiry condition keeps a deleted or expired session dead (UpdateError); a
    # plain update bumps the version too, so a versioned writer racing it conflicts.
    "update": (
        "UPDATE {t} SET session_data = %s, expires_at = %s, version = version + 1 "
        "WHERE session_key = %s AND expires_at > %s"
    ),
    # Compare-and-set in one statement: writes only over the version the caller loaded.
    "update_versioned": (
        "UPDATE {t} SET session_data = %s, expires_at = %s, version = version + 1 "
        "WHERE session_key = %s AND version = %s AND expires_at > %s"
    ),
    "delete": "DELETE FROM {t} WHERE session_key = %s",
    # A bounded batch: the rows are picked on the expiry index and locked in the same
    # statement; rows another purger (or a request's update) holds are skipped, not
    # waited for, so several machines can purge at once and requests never queue.
    "purge": (
        "DELETE FROM {t} WHERE session_key = ANY(ARRAY("
        "SELECT session_key FROM {t} WHERE expires_at <= %s LIMIT %s FOR UPDATE SKIP LOCKED"
        ")) AND expires_at <= %s"
    ),
    "count_expired": "SELECT count(*) FROM {t} WHERE expires_at <= %s",
    # Session locks: a lease row, taken in one statement when absent or run out. The
    # lease is timed by the database's clock, so every app server agrees on it.
    "acquire_lock": (
        "INSERT INTO {locks} AS l (session_key, token, expires_at) "
        "VALUES (%s, %s, extract(epoch FROM clock_timestamp()) + %s) "
        "ON CONFLICT (session_key) DO UPDATE SET token = EXCLUDED.token, "
        "expires_at = EXCLUDED.expires_at "
        "WHERE l.expires_at <= extract(epoch FROM clock_timestamp())"
    ),
    "release_lock": "DELETE FROM {locks} WHERE session_key = %s AND token = %s",
    "purge_locks": (
        "DELETE FROM {locks} WHERE expires_at <= extract(epoch FROM clock_timestamp())"
    ),
    # health(): the table answers, and this server takes writes (not a standby or a
    # read-only replica after a failover).
    "health": (
        "SELECT current_setting('transaction_read_only'), "
        "(SELECT count(*) FROM (SELECT 1 FROM {t} LIMIT 1) AS one)"
    ),
}


@dataclass(frozen=True, slots=True)
class Statements:
    """The engine's SQL for one schema and table, rendered once."""

    load: str
    load_versioned: str
    exists: str
    create: str
    update: str
    update_versioned: str
    delete: str
    purge: str
    count_expired: str
    acquire_lock: str
    release_lock: str
    purge_locks: str
    health: str

    @classmethod
    def build(cls, schema: str, table: str) -> Statements:
        return cls(**{op: _render(text, schema, table) for op, text in _STATEMENTS.items()})


def readiness_query(schema: str, table: str) -> tuple[str, tuple[str, str]]:
    """A catalog query (no DDL, any privileges) telling what the schema lacks.

    Returns the SQL and its parameters; the row is (table exists, locks table
    exists, table has the version column, the table's relpersistence: `p`
    logged, `u` unlogged).
    """
    query = (
        "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL, "
        "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attname = 'version' AND NOT attisdropped), "
        "(SELECT relpersistence::text FROM pg_class WHERE oid = to_regclass(%s))"
    )
    main = sql.Identifier(schema, table).as_string(None)
    locks = sql.Identifier(schema, f"{table}_locks").as_string(None)
    return query, (main, locks, main, main)  # type: ignore[return-value]


def lock_key(schema: str, table: str) -> str:
    """The text whose hash names the advisory lock serializing schema changes."""
    return f"sessionware_postgres:{schema}.{table}"


def ddl(schema: str, table: str, *, unlogged: bool) -> list[str]:
    """The idempotent statements that create (or upgrade) the schema, in order."""
    kind = "UNLOGGED TABLE" if unlogged else "TABLE"
    steps = []
    if schema != "public":
        steps.append("CREATE SCHEMA IF NOT EXISTS {schema}")
    steps += [
        f"CREATE {kind} IF NOT EXISTS {{t}} ("
        'session_key text COLLATE "C" PRIMARY KEY, '
        "session_data bytea NOT NULL, "
        "expires_at double precision NOT NULL, "
        "version bigint NOT NULL DEFAULT 0)",
        # A table made by hand (or by an older layout) gets the compare-and-set counter.
        "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0",
        "CREATE INDEX IF NOT EXISTS {expiry_index} ON {t} (expires_at)",
        f"CREATE {kind} IF NOT EXISTS {{locks}} ("
        'session_key text COLLATE "C" PRIMARY KEY, '
        "token text NOT NULL, "
        "expires_at double precision NOT NULL)",
        f"COMMENT ON TABLE {{t}} IS 'sessionware sessions, schema {SCHEMA_VERSION}: "
        "expires_at in POSIX seconds (to_timestamp(expires_at) to read it)'",
    ]
    return [_render(step, schema, table) for step in steps]


def check_role(role: object) -> str:
    """A role name for GRANT: any non-empty name up to 63 characters (psycopg quotes it)."""
    if not isinstance(role, str) or not role or len(role) > 63 or "\x00" in role:
        raise ValueError(f"{role!r} is not a PostgreSQL role name")
    return role


def grants(schema: str, table: str, role: str) -> list[str]:
    """What an application role needs on an existing schema (no DDL rights)."""
    names = {**_names(schema, table), "role": sql.Identifier(role)}
    steps = [
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON {locks} TO {role}",
    ]
    return [sql.SQL(step).format(**names).as_string(None) for step in steps]
