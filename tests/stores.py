"""Cleaning up after tests that share a store server: a PostgreSQL table, a Redis key prefix."""

from __future__ import annotations

import os

#: The PostgreSQL server of the postgres tests outside the plugin (the plugin's use the same).
POSTGRES_URL = os.environ.get(
    "SESSIONWARE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def drop_postgres_tables(table: str, schema: str = "public") -> None:
    """Drop a postgres engine's sessions table and its locks table."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        for name in (table, f"{table}_locks"):
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, name)))


def forget_redis_prefix(url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` (unique to one test) on the Redis at ``url``."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
