"""Timing: warm-up, batches, interleaved rounds, medians and spreads.

Two policies, each in one place:

- **calibrated samples** (:class:`Op`, :func:`run_group`, :func:`run_pairs`): every op is
  warmed up (at least 30 calls and half a sample's time), which also sizes its batch so
  that one sample lasts about ``sample_s`` for every op; then ``rounds`` rounds of one
  sample of each, in an order rotated every round, so drift on a shared VM hits all
  alike. The comparisons use these.
- **fixed counts** (:func:`measure`, :func:`interleave`): ``number`` calls per run after
  a warm-up of ``max(number // 10, 50)`` calls. The per-engine scripts use these.

Samples are µs per call; medians and p10-p90 (nearest rank) are over the samples.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Loop = asyncio.AbstractEventLoop


def median(values: Iterable[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def spread(values: Iterable[float]) -> tuple[float, float]:
    """p10 and p90 of ``values`` (nearest rank)."""
    ordered = sorted(values)
    n = len(ordered)
    return ordered[max(0, n // 10)], ordered[min(n - 1, (n * 9) // 10)]


def cell(values: list[float], digits: int = 1) -> str:
    """``median (p10-p90)`` of ``values``, as the comparison tables show it."""
    low, high = spread(values)
    return f"{median(values):.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def summary(runs: list[float]) -> str:
    """``median µs (p10-p90)``, aligned, as the per-engine scripts print it."""
    low, high = spread(runs)
    return f"{median(runs):8.2f} µs  ({low:.2f}-{high:.2f})"


def diffs(minuend: list[float], subtrahend: list[float]) -> list[float]:
    """Round by round ``minuend - subtrahend`` (both sampled in the same rounds)."""
    return [a - b for a, b in zip(minuend, subtrahend, strict=True)]


def time_batch(fn: Callable[[], Any], number: int, loop: Loop | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of ``number`` calls of ``fn``; with ``loop``, ``fn`` returns an
    awaitable, awaited in turn on ``loop`` (the clocks read inside the coroutine)."""
    if loop is not None:

        async def run() -> tuple[float, float]:
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(number):
                await fn()
            return time.perf_counter() - start, time.process_time() - cpu

        return loop.run_until_complete(run())
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(number):
        fn()
    return time.perf_counter() - start, time.process_time() - cpu


# -- calibrated samples ------------------------------------------------------------------


@dataclass
class Op:
    """One timed operation: ``fn`` called ``number`` times per sample."""

    name: str
    fn: Callable[[], Any]
    #: Run after each sample (and the warm-up), untimed: deletes what creates made.
    cleanup: Callable[[], object] | None = None
    #: ``fn`` returns an awaitable: its batches run on the loop given to the runner.
    is_async: bool = False
    number: int = 1
    #: Calls of the warm-up when ``number`` is fixed in advance; ``None``: calibrate.
    warmup: int | None = None
    #: µs per call, wall clock, one per sample.
    samples: list[float] = field(default_factory=list)
    #: µs of this process's CPU per call, one per sample.
    cpu: list[float] = field(default_factory=list)

    def _batch(self, number: int, loop: Loop | None) -> tuple[float, float]:
        return time_batch(self.fn, number, loop if self.is_async else None)

    def warm(self, sample_s: float, loop: Loop | None = None) -> None:
        """Warm up; unless ``number`` is fixed, size the batch to last ``sample_s``."""
        if self.warmup is not None:
            self._batch(self.warmup, loop)
        else:
            calls, spent = 0, 0.0
            while calls < 30 or spent < sample_s / 2:
                step = max(10, calls)
                spent += self._batch(step, loop)[0]
                calls += step
            self.number = max(3, round(sample_s / (spent / calls)))
        if self.cleanup is not None:
            self.cleanup()

    def sample(self, loop: Loop | None = None) -> None:
        """One timed batch."""
        wall, cpu = self._batch(self.number, loop)
        self.samples.append(wall / self.number * 1e6)
        self.cpu.append(cpu / self.number * 1e6)
        if self.cleanup is not None:
            self.cleanup()

    @property
    def median(self) -> float:
        return median(self.samples)

    def cell(self, digits: int = 1) -> str:
        return cell(self.samples, digits)


def run_group(ops: list[Op], rounds: int, sample_s: float, loop: Loop | None = None) -> None:
    """Warm up every op, then ``rounds`` rounds of one sample each, the order rotated by one."""
    for op in ops:
        op.warm(sample_s, loop)
    for r in range(rounds):
        shift = r % len(ops)
        for op in ops[shift:] + ops[:shift]:
            op.sample(loop)


@dataclass
class Pair:
    """The same request through the bare app and through a contender's app."""

    contender: str
    case: str
    bare: Op
    app: Op

    def overheads(self) -> list[float]:
        """µs per request the contender added, one value per round."""
        return diffs(self.app.samples, self.bare.samples)


def run_pairs(
    pairs: list[Pair], rounds: int, sample_s: float, loop: Loop | None = None, stride: int = 5
) -> None:
    """Warm up every op, then ``rounds`` rounds of one sample of each pair.

    A pair's two samples are taken back to back, their order alternating every round;
    the pairs' order rotates by ``stride`` every round.
    """
    for pair in pairs:
        pair.bare.warm(sample_s, loop)
        pair.app.warm(sample_s, loop)
    for r in range(rounds):
        shift = (r * stride) % len(pairs)
        for pair in pairs[shift:] + pairs[:shift]:
            first, second = (pair.bare, pair.app) if r % 2 == 0 else (pair.app, pair.bare)
            first.sample(loop)
            second.sample(loop)


# -- fixed counts ------------------------------------------------------------------------


def counts(doc: str | None, repeat: int = 15, number: int = 2000) -> argparse.ArgumentParser:
    """The flags of a fixed-count script: ``--repeat`` (or ``--repeats``, or ``--rounds``)
    runs of ``--number`` calls each; add your own, then parse."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument(
        "--repeat", "--repeats", "--rounds", dest="repeat", type=int, default=repeat
    )
    parser.add_argument("--number", type=int, default=number, help="calls per run")
    return parser


def interleave(
    ops: Mapping[str, Callable[[], Any]],
    *,
    number: int,
    rounds: int,
    rotate: bool = True,
    rewarm: bool = False,
    warmup: int | None = None,
    loop: Loop | None = None,
) -> dict[str, list[float]]:
    """µs per call of each op, ``number`` calls per run, one run of each per round.

    ``rotate``: the order shifts by one every round (else it stays as given);
    ``rewarm``: every run is preceded by its own warm-up (else one warm-up first).
    """
    names = list(ops)
    warmup = max(number // 10, 50) if warmup is None else warmup
    if not rewarm:
        for name in names:
            time_batch(ops[name], warmup, loop)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names) if rotate else 0
        for name in names[shift:] + names[:shift]:
            if rewarm:
                time_batch(ops[name], warmup, loop)
            samples[name].append(time_batch(ops[name], number, loop)[0] / number * 1e6)
    return samples


def measure(
    fn: Callable[[], Any],
    *,
    number: int = 2000,
    repeat: int = 15,
    warmup: int | None = None,
    loop: Loop | None = None,
) -> list[float]:
    """µs per call for each of ``repeat`` runs of ``number`` calls, after one warm-up."""
    return interleave({"": fn}, number=number, rounds=repeat, warmup=warmup, loop=loop)[""]


def print_table(
    results: Mapping[str, list[float]], floors: Mapping[str, str] | None = None, width: int = 48
) -> None:
    """One line per op, ``median (p10-p90)``, and its ratio to its floor (same run)."""
    floors = floors or {}
    print(f"{'operation':{width}} {'median (p10-p90)':>28}  vs floor")
    for name, runs in results.items():
        floor = floors.get(name)
        ratio = f"{median(runs) / median(results[floor]):.2f}x" if floor else ""
        print(f"{name:{width}} {summary(runs):>28}  {ratio}")
