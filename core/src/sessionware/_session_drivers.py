"""The drivers that carry out a session operation's steps: the only place I/O happens.

An operation of ``SessionStore`` is written once, as a
generator of *steps* (``_session_io``): it yields each engine call it needs as
``(operation, args)`` and gets back the result, or has the error thrown in.
``StepDrivers._run`` makes the calls with the engine's blocking methods,
``StepDrivers._arun`` with its async twins (or inline for engines that
never wait). Both apply the same two rules to every call:

- an error an engine lets escape that is not a sessionware error becomes
  ``EngineUnavailable`` (and is remembered as the
  session's ``engine_error``, so the middleware answers 503, not the app's 500);
- a blocking call made while an event loop runs in the thread warns
  (``BlockingCallWarning``);
- a ``VersionConflict`` (another request saved first) is handed back after a
  short random pause that grows with each conflict of the operation, so two
  writers that collide in lockstep fall out of step (``_session_merge``).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
import warnings
from collections.abc import Generator
from typing import Any, TypeVar

from ._engine import Engine
from ._errors import EngineUnavailable, SessionwareError, VersionConflict
from ._session_data import SessionData

__all__ = [
    "Backoff",
    "BlockingCallWarning",
    "StepDrivers",
    "Steps",
    "arun_steps",
    "engine_acall",
    "engine_call",
    "run_steps",
]

_PACKAGE_DIR = __file__.rsplit("/", 1)[0]
_get_running_loop = asyncio._get_running_loop
_T = TypeVar("_T")
#: An operation written once: yields ``(engine operation, args)``, returns its result.
Steps = Generator[tuple[str, tuple[Any, ...]], Any, _T]


class BlockingCallWarning(RuntimeWarning):
    """A blocking session call (storage I/O, or waiting on a lock) ran on a running event loop.

    Every request served by that loop waits for it. In ``async def`` code use
    the async twins: ``await session.aload()``, ``asave()``, ``acycle_key()``,
    ``aflush()``, ``adelete()``, ``aexists()``.
    """


def _warn_on_loop(engine: Engine, operation: str) -> None:
    """Warn that a blocking engine call is being made from a coroutine."""
    # Point the warning at the first frame outside sessionware: the caller's code.
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    warnings.warn(
        f"session {operation} on the {engine.name!r} engine ran on the running event loop "
        "and blocks every request it serves; in async code call the async twin "
        "(await session.aload(), asave(), acycle_key(), aflush(), adelete(), aexists())",
        BlockingCallWarning,
        stacklevel=level,
    )


def _pause(conflicts: int) -> float:
    """Seconds to wait after the ``conflicts``-th VersionConflict of one operation."""
    return random.uniform(0, min(0.0001 * 2**conflicts, 0.005))


def _unavailable(engine: Engine, operation: str, exc: Exception) -> EngineUnavailable:
    """What an engine let escape during I/O, as the outage the core knows how to answer."""
    error = EngineUnavailable(
        f"the {engine.name!r} engine failed during {operation}: {type(exc).__name__}: {exc} "
        "(an engine should report outages as sessionware.EngineUnavailable; this one let "
        "its own error escape, so it is treated as one)"
    )
    error.__cause__ = exc
    return error


def engine_call(engine: Engine, operation: str, *args: Any) -> Any:
    """``engine.<operation>(*args)``, blocking; foreign errors become EngineUnavailable."""
    if not engine.capabilities.inline_async and _get_running_loop() is not None:
        _warn_on_loop(engine, operation)
    try:
        return getattr(engine, operation)(*args)
    except SessionwareError:
        raise
    except Exception as exc:
        raise _unavailable(engine, operation, exc) from exc


async def engine_acall(engine: Engine, operation: str, *args: Any) -> Any:
    """Async twin of ``engine_call``: the engine's ``a<operation>``, or inline."""
    if engine.capabilities.inline_async:
        return engine_call(engine, operation, *args)
    try:
        return await getattr(engine, "a" + operation)(*args)
    except SessionwareError:
        raise
    except Exception as exc:
        raise _unavailable(engine, operation, exc) from exc


def run_steps(engine: Engine, steps: Steps[_T], session: Any = None) -> _T:
    """Carry out ``steps`` with ``engine``'s blocking methods; return what they return.

    An engine error that is not a sessionware error becomes ``EngineUnavailable``
    (recorded as ``session.engine_error`` when a session is given, so the
    middleware answers 503, not the app's 500); a ``VersionConflict`` is thrown
    back after a short random pause that grows with each one, so writers in
    lockstep fall apart. Every error goes back into the steps, which decide.
    """
    check_loop = not engine.capabilities.inline_async
    conflicts = 0
    try:
        request = next(steps)
        while True:
            try:
                # engine_call, written out: this loop runs on every save.
                operation, args = request
                if check_loop and _get_running_loop() is not None:
                    _warn_on_loop(engine, operation)
                try:
                    result = getattr(engine, operation)(*args)
                except SessionwareError:
                    raise
                except Exception as exc:
                    raise _unavailable(engine, operation, exc) from exc
            except EngineUnavailable as exc:
                if session is not None:
                    session.engine_error = exc
                request = steps.throw(exc)
            except VersionConflict as exc:
                conflicts += 1
                time.sleep(_pause(conflicts))
                request = steps.throw(exc)
            except BaseException as exc:
                request = steps.throw(exc)
            else:
                request = steps.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def arun_steps(engine: Engine, steps: Steps[_T], session: Any = None) -> _T:
    """Async twin of ``run_steps``, with the engine's async twins (never blocking the loop)."""
    if engine.capabilities.inline_async:
        return run_steps(engine, steps, session)  # nothing to wait for: inline
    conflicts = 0
    try:
        request = next(steps)
        while True:
            try:
                operation, args = request
                result = await engine_acall(engine, operation, *args)
            except EngineUnavailable as exc:
                if session is not None:
                    session.engine_error = exc
                request = steps.throw(exc)
            except VersionConflict as exc:
                conflicts += 1
                await asyncio.sleep(_pause(conflicts))
                request = steps.throw(exc)
            except BaseException as exc:
                request = steps.throw(exc)
            else:
                request = steps.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


class StepDrivers(SessionData):
    """The two drivers of a session's steps, bound to its engine (see the module)."""

    def _run(self, steps: Steps[_T]) -> _T:
        """Carry out ``steps`` with the engine's blocking methods."""
        return run_steps(self.engine, steps, self)

    async def _arun(self, steps: Steps[_T]) -> _T:
        """Carry out ``steps`` with the engine's async twins (never blocking the loop)."""
        return await arun_steps(self.engine, steps, self)


_FIRST_DELAY = 0.002
_MAX_DELAY = 0.1


class Backoff:
    """The waits between lock attempts: 2 ms doubling to 100 ms, jittered, until the deadline."""

    __slots__ = ("deadline", "delay", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.delay = _FIRST_DELAY

    def next(self) -> float | None:
        """Seconds to wait before the next attempt; ``None`` once the timeout has passed."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return None
        wait = min(self.delay * random.uniform(0.5, 1.0), remaining)
        self.delay = min(self.delay * 2, _MAX_DELAY)
        return wait
