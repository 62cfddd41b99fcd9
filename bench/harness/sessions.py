"""The session operations every store benchmark times, through a ``SessionStore`` class.

Ours and Django's ``SessionStore`` share the API these use (``Store()``, ``Store(key)``,
``update``, ``save``, item access), so one definition serves both. Every write stores a
value never stored before (a counter), so no store can skip it as a no-op.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from harness import PAYLOAD


def seeded(Store: Any) -> str:
    """The key of a new, saved session holding PAYLOAD."""
    seed = Store()
    seed.update(PAYLOAD)
    seed.save()
    key = seed.session_key
    assert key is not None
    return str(key)


def load(Store: Any, key: str) -> Callable[[], object]:
    """Load the session and read one key."""
    return lambda: Store(key)["user_id"]


def load_modify_save(Store: Any, key: str) -> Callable[[], None]:
    """Load the session, set the counter to a new value, save."""
    counter = itertools.count()

    def run() -> None:
        session = Store(key)
        session["counter"] = next(counter)
        session.save()

    return run


def aload(Store: Any, key: str) -> Callable[[], Any]:
    """The async twin of :func:`load` (``aload``), for ours."""

    async def run() -> None:
        session = Store(key)
        await session.aload()
        session["user_id"]

    return run


def aload_modify_save(Store: Any, key: str) -> Callable[[], Any]:
    """The async twin of :func:`load_modify_save` (``aset``, ``asave``), for ours."""
    counter = itertools.count()

    async def run() -> None:
        session = Store(key)
        await session.aset("counter", next(counter))
        await session.asave()

    return run
