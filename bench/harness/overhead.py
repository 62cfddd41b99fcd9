"""The per-framework session overhead rows: what ``bench/frameworks/`` measures and prints.

Every framework script measures the same thing: for each contender (a session
integration) and each case, the time of one request through the app with that session
minus the time of the same request (same path, same headers, same cookie) through the
same app without sessions (the *bare* app). The cases:

- ``read``: the route reads one key of a seeded session;
- ``write``: the route sets the counter to a value never stored before, so the
  session really is saved and a ``Set-Cookie`` goes out;
- ``untouched``: the session cookie is sent but the route never looks at the
  session (what loading at request start costs where the integration does).

Each (bare, contender) :class:`~harness.timing.Pair` is sampled by
:func:`~harness.timing.run_pairs`; a :class:`Row` keeps the median (and p10-p90) over
rounds. A script defines ``measure(rounds, sample_s) -> list[Row]`` and hands it to
:func:`script`; ``bench/frameworks/summary.py`` calls every script's ``measure``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.inproc import Lifespan, asgi_scope, call_asgi
from harness.timing import Op, Pair, median, run_pairs, spread, time_batch

#: The cases every framework script measures, in table order.
CASES = {"read": "read one key", "write": "write one key", "untouched": "cookie sent, untouched"}
#: (rounds, sample seconds) for a full run and for ``--quick`` (a smoke test: noise).
FULL, QUICK = (61, 0.02), (4, 0.004)


@dataclass
class Contender:
    """What a framework script knows about one contender."""

    key: str
    label: str
    #: Where the data lives and what a write promises (compare rows at equal guarantees).
    stores: str
    #: ``"ours"``, ``"default"`` (the framework's own or usual session) or ``"peer"``.
    role: str
    #: For ``"ours"``: the key of the contender to compare with (its like-for-like peer).
    versus: str | None = None


@dataclass
class Row:
    """One contender of one framework: its overhead per case, in µs per request."""

    framework: str
    contender: str
    stores: str
    role: str
    overhead: dict[str, float]
    spreads: dict[str, tuple[float, float]]
    #: The bare app's median µs per request (for scale).
    bare_us: float
    #: For ``"ours"``: the contender (label) it is compared with, at equal guarantees if any.
    versus: str | None = None
    method: str = "in process"


def rows(framework: str, contenders: Iterable[Contender], pairs: list[Pair]) -> list[Row]:
    """The medians of ``pairs``, one row per contender."""
    contenders = list(contenders)
    labels = {c.key: c.label for c in contenders}
    found = []
    for c in contenders:
        mine = {p.case: p for p in pairs if p.contender == c.key}
        found.append(
            Row(
                framework=framework,
                contender=c.label,
                stores=c.stores,
                role=c.role,
                overhead={case: median(mine[case].overheads()) for case in CASES},
                spreads={case: spread(mine[case].overheads()) for case in CASES},
                bare_us=median(mine["read"].bare.samples),
                versus=labels[c.versus] if c.versus is not None else None,
            )
        )
    return found


def measure_asgi(
    framework: str,
    contenders: list[Contender],
    build: Callable[[str, Path], Any],
    seed: Callable[[Any, Contender], Awaitable[str]],
    rounds: int,
    sample_s: float,
    close: Callable[[Any], None] | None = None,
) -> list[Row]:
    """The rows of ASGI apps called in process on one loop: ``GET /<case>`` per case.

    ``build(key, tmp)`` makes the bare app (key ``"bare"``) and each contender's; every
    lifespan runs once (startup builds what the app needs off the loop); ``seed(app,
    contender)`` stores PAYLOAD, checks the cases and returns the ``Cookie`` header to
    replay; ``close(app)`` runs after the measurement.
    """
    loop = asyncio.new_event_loop()
    try:
        with tempfile.TemporaryDirectory(prefix=f"{framework.lower()}-overhead-") as tmpdir:
            bare = build("bare", Path(tmpdir))
            apps = {c.key: build(c.key, Path(tmpdir)) for c in contenders}

            async def prepare() -> dict[str, str]:
                for app in (bare, *apps.values()):
                    async with Lifespan(app):
                        pass
                return {c.key: await seed(apps[c.key], c) for c in contenders}

            cookies = loop.run_until_complete(prepare())

            def request(app: Any, case: str, cookie: str) -> Op:
                scope = asgi_scope(f"/{case}", cookie)
                return Op(case, lambda: call_asgi(app, scope), is_async=True)

            pairs = [
                Pair(
                    c.key,
                    case,
                    request(bare, case, cookies[c.key]),
                    request(apps[c.key], case, cookies[c.key]),
                )
                for c in contenders
                for case in CASES
            ]
            run_pairs(pairs, rounds, sample_s, loop)
            for app in apps.values() if close is not None else ():
                close(app)
    finally:
        loop.close()
    return rows(framework, contenders, pairs)


def ratio(ours: Row, peer: Row, case: str) -> str:
    """``ours / peer`` for ``case`` as ``2.1x``; a difference in µs when the peer's overhead
    is within noise of zero (its p10 is not above zero), where a ratio would mean nothing."""
    mine, theirs = ours.overhead[case], peer.overhead[case]
    if peer.spreads[case][0] <= 0 or theirs <= 0:
        return f"{mine - theirs:+.0f} µs"
    return f"{mine / theirs:.2f}x"


def print_rows(found: list[Row], heading: str) -> None:
    """The console table of one framework script."""
    print(heading)
    print(f"{'overhead over the bare app, µs':44}" + "".join(f"{c:>24}" for c in CASES.values()))
    for row in found:
        cells = [
            f"{row.overhead[c]:.1f} ({row.spreads[c][0]:.0f}..{row.spreads[c][1]:.0f})"
            for c in CASES
        ]
        print(f"{row.contender:44}" + "".join(f"{cell:>24}" for cell in cells))
    by_label = {r.contender: r for r in found}
    for ours in found:
        if ours.versus is None:
            continue
        peer = by_label[ours.versus]
        print(f"  ratio {ours.contender} / {peer.contender}")
        print(f"{'':44}" + "".join(f"{ratio(ours, peer, c):>24}" for c in CASES))
    print(f"bare app: {found[0].bare_us:.1f} µs per request; stores:")
    for row in found:
        print(f"  {row.contender}: {row.stores}")


def thread_hop_us(loop: asyncio.AbstractEventLoop, repeat: int = 15, number: int = 200) -> float:
    """Median µs of one ``await asyncio.to_thread(...)`` of a no-op on ``loop``.

    The db and file engines load and save in a worker thread under ASGI; this
    is the price of the hand-off alone on this machine at this moment.
    """

    async def hop() -> None:
        await asyncio.to_thread(int)

    runs = [time_batch(hop, number, loop)[0] / number * 1e6 for _ in range(repeat)]
    return statistics.median(runs)


def load_average() -> str:
    """The 1-minute load average and the core count, e.g. ``6.8 on 2 cores``."""
    try:
        one = os.getloadavg()[0]
    except OSError:
        return "unknown"
    return f"{one:.1f} on {os.cpu_count()} cores"


def script(
    doc: str | None,
    measure: Callable[[int, float], list[Row]],
    versions: Iterable[str],
    *,
    full: tuple[int, float] = FULL,
    quick: tuple[int, float] = QUICK,
) -> None:
    """A framework script's command line: ``--quick``, ``--rounds N``; measure, print."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: numbers are noise")
    parser.add_argument("--rounds", type=int, help=f"interleaved rounds (default {full[0]})")
    args = parser.parse_args()
    rounds, sample_s = quick if args.quick else full
    rounds = args.rounds or rounds
    before = load_average()
    found = measure(rounds, sample_s)
    named = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in versions)
    print_rows(
        found,
        f"Python {sys.version.split()[0]}, {named}, SQLite {sqlite3.sqlite_version}; "
        f"{rounds} interleaved rounds of ~{sample_s * 1000:.0f} ms samples; load average "
        f"{before} before, {load_average()} after",
    )
