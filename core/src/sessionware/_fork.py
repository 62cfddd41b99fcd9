"""Engines after ``os.fork()``: the one ``os.register_at_fork`` of sessionware.

A forked child holds copies of every connection, socket and lock its parent
had; each engine that cares forgets them in ``after_fork_in_child`` (see
``EngineBase``). ``EngineBase`` registers the engines that override it; an
engine written without the base class calls ``register_after_fork``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import weakref
from typing import Protocol

__all__ = ["AFTER_FORK", "register_after_fork"]

logger = logging.getLogger("sessionware.engine")


class _ForkAware(Protocol):
    def after_fork_in_child(self) -> None: ...


#: The live objects whose ``after_fork_in_child`` a forked child calls. Weak, so
#: an engine that is dropped is forgotten without anyone having to say so.
AFTER_FORK: weakref.WeakSet[_ForkAware] = weakref.WeakSet()


def register_after_fork(engine: _ForkAware) -> None:
    """Have ``engine.after_fork_in_child()`` called in every child forked while it lives.

    ``EngineBase`` subclasses that override
    ``after_fork_in_child`` are registered when they are
    built; call this only from an engine that implements the protocol without
    the base class. Registering twice is harmless, and nothing keeps the
    engine alive: once it is garbage, it is forgotten.
    """
    AFTER_FORK.add(engine)


def _after_fork_in_child() -> None:
    # The child has one thread and every object the parent had: nothing else
    # can be using these engines while this runs.
    for engine in list(AFTER_FORK):
        try:
            engine.after_fork_in_child()
        except Exception:
            # One engine's failure must not keep the others on the parent's
            # connections; this engine will fail again when it is used. (An
            # engine whose __init__ raised is registered too, half built: name
            # it by its class, and never let the log call end the loop.)
            with contextlib.suppress(Exception):
                logger.exception(
                    "a %s engine failed to reset itself in a forked child", type(engine).__name__
                )


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
