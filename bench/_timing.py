"""Shared timing helpers for the benchmarks: warm-up, repeats, median and spread."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

#: The benchmark session: an int user id, a username, a list of 3 ints, a small dict of
#: flags, an ISO timestamp, plus a counter.
PAYLOAD = {
    "user_id": 4211,
    "username": "ada",
    "recent": [3, 1, 4],
    "flags": {"beta": True, "admin": False},
    "last_seen": "2026-11-25T02:14:00+00:00",
    "counter": 0,
}


def measure(fn: Callable[[], object], *, number: int = 2000, repeat: int = 15) -> list[float]:
    """Microseconds per call for each of ``repeat`` runs of ``number`` calls, after a warm-up."""
    for _ in range(max(number // 10, 50)):
        fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number * 1e6)
    return runs


def summary(runs: list[float]) -> str:
    """``median (p10-p90) µs`` of a list of runs."""
    ordered = sorted(runs)
    p10 = ordered[max(0, len(ordered) // 10)]
    p90 = ordered[min(len(ordered) - 1, (len(ordered) * 9) // 10)]
    return f"{statistics.median(runs):8.2f} µs  ({p10:.2f}-{p90:.2f})"


def median(runs: list[float]) -> float:
    """The median of ``runs``."""
    return statistics.median(runs)


def time_batch(
    fn: Callable[[], Any], number: int, loop: asyncio.AbstractEventLoop | None = None
) -> float:
    """Seconds for ``number`` calls of ``fn``; with ``loop``, ``fn`` returns an awaitable."""
    if loop is not None:

        async def run() -> float:
            start = time.perf_counter()
            for _ in range(number):
                await fn()
            return time.perf_counter() - start

        return loop.run_until_complete(run())
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - start
