"""The hooks a sessionware plugin may implement.

A plugin is a module (or any object) with functions decorated by
``@sessionware.hookimpl`` whose names match the specs below. Registration
hooks are called once, when plugins are discovered. Event hooks are called
synchronously after the event; an exception in one is logged and swallowed,
so an observer can never break a request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ._session import SessionStore

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("sessionware")
hookimpl = pluggy.HookimplMarker("sessionware")


@hookspec
def register_engines(register: Callable[[type[Any]], None]) -> None:
    """Call ``register(EngineClass)`` for each engine this plugin provides."""


@hookspec
def register_serializers(register: Callable[[type[Any]], None]) -> None:
    """Call ``register(SerializerClass)`` for each serializer this plugin provides."""


@hookspec
def session_created(session: SessionStore) -> None:
    """A new session was stored for the first time (its key is ``session.session_key``)."""


@hookspec
def session_saved(session: SessionStore) -> None:
    """A session's data was written to its engine."""


@hookspec
def session_deleted(session_key: str, engine: str) -> None:
    """The session under ``session_key`` was deleted from the engine named ``engine``."""


@hookspec
def session_key_cycled(old_key: str | None, new_key: str, engine: str) -> None:
    """A session's key was replaced (``cycle_key``, e.g. at log-in)."""


@hookspec
def session_rejected(reason: str, engine: str, detail: str) -> None:
    """Session input was refused.

    ``reason`` is ``"invalid_key"``, ``"undecodable"`` or ``"tampered"``.
    """
