"""Small helpers shared by the conformance kit and useful to plugin authors.

Timestamps instead of sleeps (``expires_in``, ``expired``), the hostile keys
every engine must shrug off, payloads that trip byte-unsafe stores, and a
runner for async code that needs no pytest plugin. Nothing here imports an
engine or a serializer plugin.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

from .._capabilities import Capabilities, Version
from .._engine import Engine

__all__ = [
    "BINARY_PAYLOAD",
    "HOSTILE_KEYS",
    "LockingEngine",
    "VersionedEngine",
    "capabilities_of",
    "expired",
    "expires_in",
    "run_async",
    "run_in_threads",
]

T = TypeVar("T")

#: Every byte value, NULs in a row, and bytes that are invalid UTF-8.
BINARY_PAYLOAD: bytes = (
    bytes(range(256)) + b"\x00" * 64 + b"\xff\xfe\xc3\x28" + bytes(range(255, -1, -1))
)

#: Keys an attacker can put in a cookie. An engine treats each as absent and
#: refuses to store under it; none may raise from ``load``/``exists``/``delete``.
HOSTILE_KEYS: tuple[str, ...] = (
    "../../etc/passwd",
    "a/b",
    "..\\..\\windows\\win.ini",
    "\x00" * 32,
    "x" * 10_000,
    "",
    "sessionid\u00e9\u65e5\u672c\U0001f600abcdefghijklmnopqrstuv",
    "' OR 1=1 --",
    "*",
    "a" * 31 + "\n",
)


class VersionedEngine(Engine, Protocol):
    """An engine declaring ``versioned=True``: the four methods it adds (see ``EngineBase``)."""

    def load_versioned(self, key: str) -> tuple[bytes, Version] | None: ...

    def save_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]: ...

    async def aload_versioned(self, key: str) -> tuple[bytes, Version] | None: ...

    async def asave_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]: ...


class LockingEngine(Engine, Protocol):
    """An engine declaring ``locking=True``: the four methods it adds (see ``EngineBase``)."""

    def acquire_lock(self, key: str, ttl: float) -> str | None: ...

    def release_lock(self, key: str, token: str) -> None: ...

    async def aacquire_lock(self, key: str, ttl: float) -> str | None: ...

    async def arelease_lock(self, key: str, token: str) -> None: ...


def expires_in(seconds: float = 60.0) -> float:
    """A POSIX timestamp ``seconds`` from now (an ``expires_at`` that is still live)."""
    return time.time() + seconds


def expired(seconds_ago: float = 60.0) -> float:
    """A POSIX timestamp ``seconds_ago`` in the past (an ``expires_at`` already gone)."""
    return time.time() - seconds_ago


def capabilities_of(engine: Engine) -> Capabilities:
    """The engine's declared ``Capabilities`` (defaults if it declares none)."""
    caps = getattr(engine, "capabilities", None)
    return caps if isinstance(caps, Capabilities) else Capabilities()


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh event loop.

    The kit's async tests are plain test functions that call this, so a plugin
    project needs neither pytest-asyncio nor anyio to run them.
    """
    return asyncio.run(coro)


def run_in_threads(
    count: int, target: Callable[[int], T], *, timeout: float = 60.0
) -> tuple[list[T | None], list[BaseException]]:
    """Run ``target(i)`` in ``count`` threads started together; return results and errors.

    The threads wait on a barrier so they really overlap. Exceptions are
    collected rather than left to escape the thread (where pytest would only
    warn about them); a thread that does not finish within ``timeout`` is
    reported as an error.
    """
    barrier = threading.Barrier(count)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        try:
            barrier.wait(timeout)
            results[index] = target(index)
        except BaseException as exc:  # collected and reported by the caller
            with lock:
                errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(i,), name=f"sessionware-kit-{i}", daemon=True)
        for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        if thread.is_alive():
            errors.append(TimeoutError(f"{thread.name} did not finish within {timeout} s"))
    return results, errors
