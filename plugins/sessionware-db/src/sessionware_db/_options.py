"""Validation of the db engine's options, run once at construction.

Each check returns the normalised value or raises, through ``options`` (the
engine's ``sessionware.OptionChecker``), a
``ConfigurationError`` whose ``field`` names the option
(``engine_options.<name>``). The common kinds (seconds, a choice, a count, a
switch) are the checker's own; what only SQLite needs, a database path that
is not ``:memory:`` and a safe table name, is here.
"""

from __future__ import annotations

import os
import re

from sessionware import OptionChecker

from ._schema import VERSION_TABLE

__all__ = ["SYNCHRONOUS", "check_path", "check_table", "options"]

#: The values of ``PRAGMA synchronous`` the ``synchronous`` option takes.
SYNCHRONOUS = ("NORMAL", "FULL", "OFF")

_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

options = OptionChecker("db", "engine")


def check_path(path: object) -> str:
    """The database file as an absolute path; its directory must exist."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if path in ("", ":memory:"):
        raise options.error(
            "path",
            f"{path!r} is not supported: SQLite gives every thread's connection its own "
            "private in-memory database, so sessions would vanish between requests. Use a "
            "file (in tests, a temporary directory such as pytest's tmp_path)",
        )
    return options.file("path", path, must_exist=False, what="database file")


def check_table(table: object) -> str:
    """A table name that is safe to put in SQL unbound: letters, digits, underscores.

    Identifiers cannot be bound as parameters, so the request-path SQL is
    formatted with this name; the pattern is what makes that safe.
    """
    if not isinstance(table, str) or not _TABLE_NAME.fullmatch(table):
        raise options.error(
            "table",
            f"{table!r} is not a valid table name: use 1-63 ASCII letters, digits and "
            "underscores, not starting with a digit",
        )
    if table.lower().startswith("sqlite_") or table == VERSION_TABLE:
        raise options.error("table", f"{table!r} is reserved; choose another name")
    return table
