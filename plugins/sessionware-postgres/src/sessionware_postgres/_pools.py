"""Connection pools: one blocking pool per process, one asyncio pool per event loop.

Both are psycopg_pool pools of autocommit connections (every engine call is
one statement, its own transaction). What this module adds is how a request
gets a connection during an outage, because a plain `pool.getconn()` waits
its whole timeout for a connection the pool's background workers cannot make:

- every connection attempt the pool makes reports to its `Tracker` (the
  pool's `connection_class` wraps `connect`);
- while the last attempt failed, a request takes an idle connection if
  there is one (which also asks the pool for a new one) and otherwise fails
  at once with that attempt's error, so an outage answers in about a
  millisecond and the first attempt that succeeds ends it, without a restart;
- otherwise a request waits for a connection in short slices, and fails as
  soon as an attempt made meanwhile failed (an outage met while the pool
  grows) or, after `pool_timeout`, as an exhausted pool.

The pool gives up a failed attempt almost at once (`reconnect_timeout`), so
its workers never sit in a long backoff while the server is back: the next
request asks for a new connection. `Unreachable` and `Exhausted` carry what
happened; the engine turns them into `EngineUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncGenerator, Iterator
from time import monotonic
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

try:  # what the async pool's workers receive when asked to stop
    from psycopg_pool.pool_async import StopWorker as _StopWorker
except ImportError:  # pragma: no cover - another psycopg_pool layout: its own worker runs
    _StopWorker = None  # type: ignore[assignment,misc]

from ._options import Settings

__all__ = ["AsyncPool", "Exhausted", "SyncPool", "Tracker", "Unreachable"]

#: The first wait for a connection, and each later slice of the wait.
_SLICE = 0.05
#: While the last connection attempt failed: how long a request waits for one.
_DOWN_WAIT = 0.001
#: How long the pool keeps retrying a failed connection attempt (two tries, then it
#: gives up and a later request asks again).
_RECONNECT_TIMEOUT = 0.001
_names = itertools.count(1)

logger = logging.getLogger("sessionware.postgres")


class Unreachable(Exception):
    """No connection: the pool's last connection attempt failed with `error`."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__(error)
        self.error = error


class Exhausted(Exception):
    """Every connection of the pool stayed busy for `pool_timeout` seconds."""


class Tracker:
    """What the pool's connection attempts gave: the last error (None: the last succeeded)."""

    __slots__ = ("error", "failures")

    def __init__(self) -> None:
        self.error: BaseException | None = None
        #: Failed attempts so far: a wait that sees it grow met an outage.
        self.failures = 0

    def failed(self, exc: BaseException) -> None:
        self.error = exc
        self.failures += 1

    def succeeded(self) -> None:
        self.error = None


def _waits(tracker: Tracker, pool_timeout: float) -> Iterator[float]:
    """How long each try to take a connection from the pool may wait, in order.

    Ends by raising: `Unreachable` at once while the last connection attempt
    failed (after one try for an idle connection), or as soon as an attempt
    made during the wait fails; `Exhausted` after `pool_timeout`.
    """
    if tracker.error is not None:
        yield _DOWN_WAIT
        raise Unreachable(tracker.error)
    failures = tracker.failures
    yield _SLICE
    deadline = monotonic() + pool_timeout - _SLICE
    while True:
        if tracker.failures != failures:
            raise Unreachable(tracker.error)
        remaining = deadline - monotonic()
        if remaining <= 0:
            raise Exhausted()
        yield min(_SLICE, remaining)


def _sync_connection_class(tracker: Tracker) -> type[psycopg.Connection[Any]]:
    class TrackedConnection(psycopg.Connection[Any]):
        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any) -> Any:
            try:
                conn = super().connect(conninfo, **kwargs)
            except Exception as exc:
                tracker.failed(exc)
                raise
            tracker.succeeded()
            return conn

    return TrackedConnection


def _async_connection_class(tracker: Tracker) -> type[psycopg.AsyncConnection[Any]]:
    class TrackedAsyncConnection(psycopg.AsyncConnection[Any]):
        @classmethod
        async def connect(cls, conninfo: str = "", **kwargs: Any) -> Any:
            try:
                conn = await super().connect(conninfo, **kwargs)
            except Exception as exc:
                tracker.failed(exc)
                raise
            tracker.succeeded()
            return conn

    return TrackedAsyncConnection


def _pool_options(settings: Settings, flavour: str) -> dict[str, Any]:
    return {
        "kwargs": {
            "autocommit": True,
            # psycopg prepares a statement on a connection after its 5th run (None:
            # never, for a pgbouncer in transaction mode older than 1.21).
            "prepare_threshold": 5 if settings.prepare else None,
        },
        "min_size": settings.pool_min_size,
        "max_size": settings.pool_size,
        "timeout": settings.pool_timeout,
        "max_idle": settings.pool_max_idle,
        "reconnect_timeout": _RECONNECT_TIMEOUT,
        "name": f"sessionware-postgres-{flavour}-{next(_names)}",
        "open": False,
    }


class _LoopPool(AsyncConnectionPool[psycopg.AsyncConnection[Any]]):
    """psycopg_pool's async pool whose workers stop when their task is cancelled.

    psycopg_pool 3.3 catches `CancelledError` inside the maintenance task a
    worker runs (a connection attempt, say), and the worker goes on waiting
    for the next one; an event loop that ends by cancelling its tasks
    (`asyncio.run`, and so uvicorn) would then wait for it for ever. Here a
    worker whose task was cancelled ends, as a task should.
    """

    if _StopWorker is not None:

        @classmethod
        async def worker(cls, q: Any) -> None:
            while True:
                task = await q.get()
                if isinstance(task, _StopWorker):
                    return
                try:
                    await task.run()
                except Exception as exc:
                    logger.warning("a connection pool task %s failed: %s", task, exc)
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    # The pool swallowed the cancellation inside the task: honour it here.
                    raise asyncio.CancelledError


class SyncPool:
    """This process's blocking pool, opened on first use (its workers are threads)."""

    __slots__ = ("pool", "settings", "tracker")

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tracker = Tracker()
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            settings.conninfo,
            connection_class=_sync_connection_class(self.tracker),
            **_pool_options(settings, "sync"),
        )
        self.pool.open(wait=False)

    def getconn(self) -> psycopg.Connection[Any]:
        """A connection, at once during an outage (`Unreachable`), or `Exhausted`."""
        for timeout in _waits(self.tracker, self.settings.pool_timeout):
            try:
                return self.pool.getconn(timeout)
            except PoolTimeout:
                continue
        raise AssertionError("unreachable: _waits ends by raising")  # pragma: no cover

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.pool.close(timeout=1.0)


class AsyncPool:
    """One event loop's pool (its workers are tasks on that loop), closed when the loop ends.

    `watch` starts an async generator that waits at its `yield`; event loops
    close such generators in `shutdown_asyncgens` (`asyncio.run`, uvicorn,
    pytest-asyncio), and its `finally` closes the pool on its own loop.
    """

    __slots__ = ("_guard", "pool", "settings", "tracker")

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tracker = Tracker()
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = _LoopPool(
            settings.conninfo,
            connection_class=_async_connection_class(self.tracker),
            **_pool_options(settings, "async"),
        )
        self._guard: AsyncGenerator[None, None] | None = None

    async def start(self) -> None:
        await self.pool.open(wait=False)
        self._guard = self._until_the_loop_ends()
        await anext(self._guard)

    async def _until_the_loop_ends(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await self.pool.close(timeout=1.0)

    async def getconn(self) -> psycopg.AsyncConnection[Any]:
        """The async twin of `SyncPool.getconn`."""
        for timeout in _waits(self.tracker, self.settings.pool_timeout):
            try:
                return await self.pool.getconn(timeout)
            except PoolTimeout:
                continue
        raise AssertionError("unreachable: _waits ends by raising")  # pragma: no cover

    async def aclose(self) -> None:
        """Close the pool now, on its own (running) loop."""
        guard, self._guard = self._guard, None
        with contextlib.suppress(Exception):
            if guard is not None:
                await guard.aclose()
            else:
                await self.pool.close(timeout=1.0)
