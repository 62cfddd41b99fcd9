"""``PerLoop``: one asyncio resource (a client, a pool) per event loop, for native-async engines.

An asyncio connection belongs to the loop that opened it: it can only be used,
and only be closed cleanly, there. An engine that serves several loops (the
app's, a test's, a thread running its own) keeps one resource per loop, makes
it on first use in that loop, and has to close them all from wherever
``close()`` is called. That bookkeeping is the same for every network engine,
so it lives here:

- ``current()`` is the running loop's resource or ``None`` (one dict lookup:
  the hot path);
- ``attach(make)`` returns the running loop's resource, built by ``make()``
  on first use (a thread lock makes two tasks of one loop agree on one);
  resources of loops that have closed meanwhile are dropped then;
- ``close()`` closes every resource on its own loop: awaited in a task when
  that loop is the caller's, sent to it when it runs in another thread, run
  to completion when it is idle, and only *abandoned* (never touched) when the
  loop is closed;
- ``aclose()`` awaits the caller's loop's resource, then closes the rest;
- ``after_fork_in_child()`` forgets the parent's resources without touching
  them (their sockets are the parent's) and keeps them referenced so that
  garbage collection does not close them either.

A resource is any object with ``async def aclose()``. What to do with one
whose loop is closed is the engine's: pass ``abandon`` (the default keeps a
reference and does nothing).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["PerLoop"]


class _Closeable(Protocol):
    def aclose(self) -> Coroutine[Any, Any, None]: ...


R = TypeVar("R", bound=_Closeable)


class PerLoop(Generic[R]):
    """The resources of one engine, one per event loop (see the module)."""

    __slots__ = ("_abandon", "_closing", "_kept", "_lock", "_loops")

    def __init__(self, abandon: Callable[[R], None] | None = None) -> None:
        self._abandon = abandon
        self._loops: dict[asyncio.AbstractEventLoop, R] = {}
        self._closing: set[asyncio.Future[None]] = set()
        #: Resources never to be used or closed here (inherited through fork,
        #: or abandoned with their loop), only kept alive.
        self._kept: list[object] = []
        self._lock = threading.Lock()

    def current(self) -> R | None:
        """The running loop's resource, or ``None`` before its first use there."""
        return self._loops.get(asyncio.get_running_loop())

    async def attach(self, make: Callable[[], Awaitable[R]]) -> R:
        """The running loop's resource, made by ``await make()`` on its first use there."""
        loop = asyncio.get_running_loop()
        found = self._loops.get(loop)
        if found is not None:
            return found
        self._drop_closed_loops()
        fresh = await make()
        with self._lock:
            found = self._loops.setdefault(loop, fresh)
        if found is not fresh:  # another task of this loop made one meanwhile
            await fresh.aclose()
        return found

    def _drop_closed_loops(self) -> None:
        with self._lock:
            gone = [loop for loop in self._loops if loop.is_closed()]
            dropped = [self._loops.pop(loop) for loop in gone]
        for resource in dropped:
            self._abandoned(resource)

    def _abandoned(self, resource: R) -> None:
        self._kept.append(resource)
        if self._abandon is not None:
            self._abandon(resource)

    def close(self) -> None:
        """Close every loop's resource on its own loop (see the module). Safe twice."""
        with self._lock:
            loops, self._loops = self._loops, {}
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, resource in loops.items():
            if loop.is_closed():
                self._abandoned(resource)
            elif loop is current:
                task = loop.create_task(resource.aclose())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
            elif loop.is_running():
                asyncio.run_coroutine_threadsafe(resource.aclose(), loop)
            else:
                loop.run_until_complete(resource.aclose())

    async def aclose(self) -> None:
        """Close the running loop's resource (awaited), then the others as ``close`` does."""
        with self._lock:
            resource = self._loops.pop(asyncio.get_running_loop(), None)
        if resource is not None:
            await resource.aclose()
        self.close()

    def after_fork_in_child(self) -> None:
        """In a forked child: forget the parent's resources (kept alive, never touched)."""
        self._kept.append(self._loops)
        self._loops = {}
        self._closing = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._loops)
