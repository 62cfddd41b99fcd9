"""The sessionware plugin hook of this distribution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sessionware import hookimpl

from ._engine import PostgresEngine

__all__ = ["register_engines"]


@hookimpl
def register_engines(register: Callable[[type[Any]], None]) -> None:
    """Register the `postgres` engine; a second provider of that name is an error."""
    register(PostgresEngine)
