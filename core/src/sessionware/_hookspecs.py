"""The hooks a sessionware plugin may implement.

A plugin is a module (or any object) with functions decorated by
``@sessionware.hookimpl`` whose names match the specs below. Registration
hooks are called once, when plugins are discovered. Event hooks are called
synchronously after the event; an exception in one is logged and swallowed,
so an observer can never break a request.

This module is where the event names are defined: ``EVENTS`` lists the
specs marked ``@_event`` below, and ``Events`` (what
a session class emits through) takes its names from it. It imports nothing
of sessionware, so any module may import it.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

import pluggy

__all__ = ["EVENTS", "hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("sessionware")
hookimpl = pluggy.HookimplMarker("sessionware")

_F = TypeVar("_F", bound=Callable[..., None])
_EVENT_NAMES: list[str] = []


def _event(spec: _F) -> _F:
    """A hookspec that is an event: emitted by sessions, listed in ``EVENTS``."""
    _EVENT_NAMES.append(spec.__name__)
    return hookspec(spec)


@hookspec
def register_engines(register: Callable[[type[Any]], None]) -> None:
    """Call ``register(EngineClass)`` for each engine this plugin provides."""


@hookspec
def register_serializers(register: Callable[[type[Any]], None]) -> None:
    """Call ``register(SerializerClass)`` for each serializer this plugin provides."""


@_event
def session_created(session: MutableMapping[str, Any]) -> None:
    """A new session was stored for the first time (its key is ``session.session_key``).

    ``session`` is the ``SessionStore`` that was saved.
    """


@_event
def session_saved(session: MutableMapping[str, Any]) -> None:
    """A session's data was written to its engine (``session``: the SessionStore)."""


@_event
def session_deleted(session_key: str, engine: str) -> None:
    """The session under ``session_key`` was deleted from the engine named ``engine``."""


@_event
def session_key_cycled(old_key: str | None, new_key: str, engine: str) -> None:
    """A session's key was replaced (``cycle_key``, e.g. at log-in)."""


@_event
def session_rejected(reason: str, engine: str, detail: str) -> None:
    """Session input was refused.

    ``reason`` is ``"invalid_key"``, ``"undecodable"`` or ``"tampered"``.
    """


@_event
def session_conflict(session_key: str, keys: list[str], kept: str, engine: str) -> None:
    """Two overlapping requests changed the same top-level ``keys`` of one session.

    Called when a versioned save merged this request's changes onto data that
    another request saved meanwhile, and both changed ``keys`` (sorted): only
    one side's values survive. ``kept`` says which, by the ``on_conflict``
    policy: ``"last_write"`` (this request's values, the default) or
    ``"first_write"`` (the values already stored). Changes to different keys
    merge without loss and are not reported here.
    """


#: The event hooks, in the order defined above: the one list of their names.
EVENTS: tuple[str, ...] = tuple(_EVENT_NAMES)
