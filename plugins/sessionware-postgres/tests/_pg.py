"""Small helpers the postgres tests share (imported relatively; fixtures live in conftest)."""

from __future__ import annotations

from psycopg import sql
from sessionware_postgres import PostgresEngine


def table_of(engine: PostgresEngine, suffix: str = "") -> sql.Identifier:
    """The engine's session table (or `<table><suffix>`), quoted for SQL."""
    return sql.Identifier(engine.schema, engine.table + suffix)
