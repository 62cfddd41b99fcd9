"""sessionware-db: the embedded default engine, sessions in one SQLite table.

This module only re-exports the engine and the plugin hook that registers
it; the engine's SQL and operations live in ``_engine`` (its versioned
saves and session locks in ``_versioned``), its connections and failure
mapping in ``_connections``, the batched purge in ``_purge``, the
schema and migrations in ``_schema``, the option checks in ``_options``.
"""

from ._engine import DbEngine
from ._hooks import register_engines
from ._schema import SCHEMA_VERSION

__version__ = "0.1.0"

__all__ = ["SCHEMA_VERSION", "DbEngine", "__version__", "register_engines"]
