"""sessionware-postgres: sessions in one PostgreSQL table, shared by every app server.

This module only re-exports the engine and the plugin hook that registers
it; the engine's operations live in `_engine` (versioned saves and session
locks in `_versioned`, the purge in `_purge`, the schema check on first use
in `_setup`), its SQL and DDL in `_schema`, its connection pools in
`_pools`, the failure mapping in `_errors`, the option checks in
`_options`, and the `create-schema` command in `__main__` (`python -m
sessionware_postgres create-schema --help`).
"""

from ._engine import PostgresEngine
from ._hooks import register_engines
from ._schema import SCHEMA_VERSION

__version__ = "0.1.0"

__all__ = ["SCHEMA_VERSION", "PostgresEngine", "__version__", "register_engines"]
