"""The session store comparison's common parts: the three operations, the groups' tables.

Ours and Django's ``SessionStore`` share the API the operations use, so one function
builds them for either; a group (one engine and its peer) prints its samples, adds
its table to the results and its load + modify + save to the chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from harness import PAYLOAD
from harness.results import Results
from harness.sessions import load, load_modify_save, seeded
from harness.timing import Op, run_group, summary

import sessionware

NAMES = {
    "create": "create + save",
    "load": "load + read one key",
    "lms": "load + modify one key + save",
}
Ops = dict[str, Op]


@dataclass
class Context:
    """One run of the comparison: where it writes, how long it samples, what it found."""

    results: Results
    rounds: int
    sample_s: float
    tmp: Path
    django_db: dict[str, str] = field(default_factory=dict)
    #: (engine, ours, theirs, peer) of every compared group, for the chart.
    pairs: list[tuple[str, Ops, Ops, str]] = field(default_factory=list)

    def measure(self, heading: str, ops: list[Op], loop: Any = None) -> None:
        """Run one group (interleaved rounds), then print its samples under ``heading``."""
        run_group(ops, self.rounds, self.sample_s, loop)
        print_group(heading, ops)


def session_ops(who: str, Store: Any, *, server_side: bool) -> Ops:
    """create + save, load + read, load + modify + save through one ``SessionStore`` class.

    ``server_side=False`` (cookie sessions) keeps nothing on the server, so there is
    nothing to delete after a sample of creates.
    """
    key = seeded(Store)
    created: list[str] = []

    def create() -> None:
        session = Store()
        session.update(PAYLOAD)
        session.save()
        if server_side:
            created.append(session.session_key)

    def cleanup() -> None:
        for old in created:
            Store().delete(old)
        created.clear()

    return {
        "create": Op(f"{who}: {NAMES['create']}", create, cleanup),
        "load": Op(f"{who}: {NAMES['load']}", load(Store, key)),
        "lms": Op(f"{who}: {NAMES['lms']}", load_modify_save(Store, key)),
    }


def ours_ops(label: str, Store: type[sessionware.SessionStore]) -> Ops:
    """The three operations through a bound sessionware SessionStore."""
    server_side = Store.engine.capabilities.server_side
    return session_ops(f"sessionware {label}", Store, server_side=server_side)


def django_ops(label: str, backend: str) -> Ops:
    """The same three operations through ``django.contrib.sessions.backends.<backend>``."""
    Store: Any = import_module(f"django.contrib.sessions.backends.{backend}").SessionStore
    return session_ops(f"Django {label}", Store, server_side=backend != "signed_cookies")


def ratio(ours: Op, theirs: Op) -> float:
    return ours.median / theirs.median


def print_group(title: str, ops: list[Op]) -> None:
    print(f"\n{title}")
    for op in ops:
        print(f"  {op.name:66} {summary(op.samples)}  x{op.number}")


def compare(
    ctx: Context,
    engine: str,
    title: str,
    ours: Ops,
    theirs: Ops,
    note: str,
    peer: str = "Django",
    extra: tuple[tuple[str, Op], ...] = (),
) -> None:
    """The table of one measured group: ours and the peer per operation, and the ratio."""
    rows = []
    print(f"  {'':30} {'sessionware / ' + peer:>28}")
    for step, label in NAMES.items():
        r = ratio(ours[step], theirs[step])
        rows.append([label, ours[step].cell(), theirs[step].cell(), f"{r:.2f}x"])
        print(f"  {label:30} {r:27.2f}x")
    for label, op in extra:  # rows of ours alone (a setting the peer has no twin of)
        rows.append([label, op.cell(), "", ""])
    ctx.results.table(
        title,
        ["operation", "sessionware µs (p10-p90)", f"{peer} µs (p10-p90)", "ratio"],
        rows,
        note,
    )
    ctx.pairs.append((engine, ours, theirs, peer))


def lms_target(ctx: Context, name: str, ours: Op, theirs: Op, limit: float) -> None:
    """A target on the ratio of two load + modify + save medians."""
    detail = f"{ours.median:.1f} µs vs {theirs.median:.1f} µs"
    ctx.results.target(name, ratio(ours, theirs), limit, detail)


def chart(ctx: Context) -> None:
    """Every group's load + modify + save, ours next to the peer's."""
    for engine, ours, theirs, peer in ctx.pairs:
        for who, ops in (("sessionware", ours), (peer, theirs)):
            ctx.results.chart(
                "Session load + modify + save (µs, lower is better)",
                f"{engine}: {who}",
                round(ops["lms"].median, 2),
                "µs",
            )
