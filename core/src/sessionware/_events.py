"""Events: how what happens to a session reaches the plugins that listen.

A bound session class gets its ``Events`` when it is built
(``sessionware.session_store`` passes the plugin host's), and emits
through it; nothing in the session reaches for a global. The host keeps its
``Events`` current: every registration, unregistration and discovery
recomputes which events have listeners, so a class built before a plugin
registers still reaches it.

The common case, nobody listening, costs one set lookup
(``name in events.listening``) on the paths that check before building the
event's arguments (saving), and one method call on the rare others.
"""

from __future__ import annotations

import logging
from typing import Any

import pluggy

from ._hookspecs import EVENTS

__all__ = ["EVENTS", "Events"]

logger = logging.getLogger("sessionware.plugins")


class Events:
    """The event hooks of one plugin manager: who listens, and the call.

    ``Events()`` without a manager never calls anything (a session class that
    must stay silent, e.g. in a test).
    """

    __slots__ = ("_hook", "listening")

    def __init__(self, pm: pluggy.PluginManager | None = None) -> None:
        self._hook = None if pm is None else pm.hook
        #: The names of the events at least one plugin implements. Replaced, never
        #: mutated, so a reader on another thread sees the old set or the new one.
        self.listening: frozenset[str] = frozenset()
        self.refresh()

    def refresh(self) -> None:
        """Recompute ``listening`` (the host calls this whenever its plugins change)."""
        hook = self._hook
        if hook is None:
            return
        self.listening = frozenset(name for name in EVENTS if getattr(hook, name).get_hookimpls())

    def emit(self, event: str, **kwargs: Any) -> None:
        """Call every listener's ``event`` hook; an observer's error is logged, never raised."""
        if event not in self.listening:
            return
        try:
            getattr(self._hook, event)(**kwargs)
        except Exception:
            logger.exception("a sessionware plugin failed in the %s hook", event)

    def __repr__(self) -> str:
        return f"<Events listening={sorted(self.listening)!r}>"
