"""Shared by the per-framework overhead benchmarks: paired samples, in-process ASGI calls, rows.

Every framework script measures the same thing: for each contender (a
session integration) and each case, the time of one request through the app
with that session minus the time of the same request — same path, same
headers, same cookie — through the same app without sessions (the *bare*
app). The cases:

- ``read``: the route reads one key of a seeded session;
- ``write``: the route sets the counter to a value never stored before, so the
  session really is saved and a ``Set-Cookie`` goes out;
- ``untouched``: the session cookie is sent but the route never looks at the
  session (what loading at request start costs where the integration does).

Each (bare, contender) pair is sampled back to back, their order alternating
every round and the pairs' order rotating, so drift on a shared VM hits both
sides alike; the overhead of a round is the contender's sample minus the
bare app's, and a :class:`Row` keeps the median (and p10-p90) over rounds.
``summary.py`` runs every framework and prints one table of rows.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import time_batch

#: The cases every framework script measures, in table order.
CASES = {"read": "read one key", "write": "write one key", "untouched": "cookie sent, untouched"}
SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"  # noqa: S105 - throwaway
#: (rounds, sample seconds) for a full run and for ``--quick`` (a smoke test: noise).
FULL, QUICK = (61, 0.02), (4, 0.004)

Headers = list[tuple[bytes, bytes]]
Reply = tuple[int, Headers, bytes]
ASGIApp = Callable[..., Awaitable[None]]


@dataclass
class Op:
    """One kind of request; ``fn`` makes one (returns an awaitable when ``is_async``)."""

    fn: Callable[[], Any]
    is_async: bool = False
    number: int = 1
    samples: list[float] = field(default_factory=list)

    def _batch(self, number: int, loop: asyncio.AbstractEventLoop | None) -> float:
        return time_batch(self.fn, number, loop if self.is_async else None)

    def warm(self, sample_s: float, loop: asyncio.AbstractEventLoop | None) -> None:
        """At least 30 calls and half a sample's time; sizes the batch to ``sample_s``."""
        calls, spent = 0, 0.0
        while calls < 30 or spent < sample_s / 2:
            step = max(10, calls)
            spent += self._batch(step, loop)
            calls += step
        self.number = max(3, round(sample_s / (spent / calls)))

    def sample(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """One timed batch: µs per request."""
        self.samples.append(self._batch(self.number, loop) / self.number * 1e6)


@dataclass
class Pair:
    """The same request through the bare app and through a contender's app."""

    contender: str
    case: str
    bare: Op
    app: Op

    def overheads(self) -> list[float]:
        """µs per request the session added, one value per round."""
        return [a - b for a, b in zip(self.app.samples, self.bare.samples, strict=True)]


def run_pairs(
    pairs: list[Pair],
    rounds: int,
    sample_s: float,
    loop: asyncio.AbstractEventLoop | None = None,
) -> None:
    """Warm up every op, then ``rounds`` rounds of one sample of each pair, interleaved."""
    for pair in pairs:
        pair.bare.warm(sample_s, loop)
        pair.app.warm(sample_s, loop)
    for r in range(rounds):
        shift = (r * 5) % len(pairs)
        for pair in pairs[shift:] + pairs[:shift]:
            first, second = (pair.bare, pair.app) if r % 2 == 0 else (pair.app, pair.bare)
            first.sample(loop)
            second.sample(loop)


def spread(values: list[float]) -> tuple[float, float]:
    """p10 and p90 (nearest rank)."""
    ordered = sorted(values)
    n = len(ordered)
    return ordered[max(0, n // 10)], ordered[min(n - 1, (n * 9) // 10)]


@dataclass
class Row:
    """One contender of one framework: its overhead per case, in µs per request."""

    framework: str
    contender: str
    #: Where the data lives and what a write promises (compare rows at equal guarantees).
    stores: str
    #: ``"ours"``, ``"default"`` (the framework's own or usual session) or ``"peer"``.
    role: str
    overhead: dict[str, float]
    spreads: dict[str, tuple[float, float]]
    #: The bare app's median µs per request (for scale).
    bare_us: float
    #: For ``"ours"``: the contender (label) it is compared with, at equal guarantees if any.
    versus: str | None = None
    method: str = "in process"


@dataclass
class Contender:
    """What a framework script knows about one contender."""

    key: str
    label: str
    stores: str
    role: str
    #: For ``"ours"``: the key of the contender to compare with (its like-for-like peer).
    versus: str | None = None


def rows(framework: str, contenders: Iterable[Contender], pairs: list[Pair]) -> list[Row]:
    """The medians of ``pairs``, one row per contender."""
    found = []
    contenders = list(contenders)
    labels = {c.key: c.label for c in contenders}
    for c in contenders:
        mine = {p.case: p for p in pairs if p.contender == c.key}
        found.append(
            Row(
                framework=framework,
                contender=c.label,
                stores=c.stores,
                role=c.role,
                overhead={case: statistics.median(mine[case].overheads()) for case in CASES},
                spreads={case: spread(mine[case].overheads()) for case in CASES},
                bare_us=statistics.median(mine["read"].bare.samples),
                versus=labels[c.versus] if c.versus is not None else None,
            )
        )
    return found


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
        text = "".join(f"{ratio(ours, peer, c):>24}" for c in CASES)
        print(f"  ratio {ours.contender} / {peer.contender}")
        print(f"{'':44}{text}")
    print(f"bare app: {found[0].bare_us:.1f} µs per request; stores:")
    for row in found:
        print(f"  {row.contender}: {row.stores}")


def ratio(ours: Row, peer: Row, case: str) -> str:
    """``ours / peer`` for ``case`` as ``2.1x``; a difference in µs when the peer's overhead
    is within noise of zero (its p10 is not above zero), where a ratio would mean nothing."""
    mine, theirs = ours.overhead[case], peer.overhead[case]
    if peer.spreads[case][0] <= 0 or theirs <= 0:
        return f"{mine - theirs:+.0f} µs"
    return f"{mine / theirs:.2f}x"


def thread_hop_us(loop: asyncio.AbstractEventLoop, repeat: int = 15, number: int = 200) -> float:
    """Median µs of one ``await asyncio.to_thread(...)`` of a no-op on ``loop``.

    The db and file engines load and save in a worker thread under ASGI; this
    is the price of the hand-off alone on this machine at this moment.
    """

    async def hop() -> None:
        await asyncio.to_thread(int)

    runs = [time_batch(hop, number, loop) / number * 1e6 for _ in range(repeat)]
    return statistics.median(runs)


def load_average() -> str:
    """The 1-minute load average and the core count, e.g. ``6.8 on 2 cores``."""
    try:
        one = os.getloadavg()[0]
    except OSError:
        return "unknown"
    return f"{one:.1f} on {os.cpu_count()} cores"


# -- ASGI in process -------------------------------------------------------------------


def http_scope(path: str, cookie: str | None) -> dict[str, Any]:
    """A GET scope for ``path``; ``cookie`` is the whole ``Cookie`` header value."""
    headers: Headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"bench")]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def asgi_call(app: ASGIApp, scope: dict[str, Any]) -> Reply:
    """One request through ``app``: a fresh copy of ``scope``, the whole response collected."""
    status, headers, body = 0, [], bytearray()

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    request_scope = dict(scope)
    request_scope["headers"] = list(scope["headers"])
    request_scope["state"] = dict(scope["state"])
    await app(request_scope, _receive, send)
    return status, headers, bytes(body)


def set_cookie(headers: Headers, name: str) -> str | None:
    """The value a ``Set-Cookie`` for ``name`` carries, if the response has one."""
    prefix = name.encode() + b"="
    for key, value in headers:
        if key.lower() == b"set-cookie" and value.startswith(prefix):
            return value.split(b";", 1)[0][len(prefix) :].decode("latin-1")
    return None


class Lifespan:
    """Runs an ASGI app's lifespan protocol around the measurement (startup, then shutdown)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Lifespan:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._task = asyncio.ensure_future(self.app(scope, self._inbox.get, self._outbox.put))
        await self._inbox.put({"type": "lifespan.startup"})
        answer = await self._outbox.get()
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan startup failed: {answer}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._outbox.get()
        if self._task is not None:
            await self._task


def find_sessionware(app: object) -> Any:
    """The sessionware ASGI middleware inside a built middleware stack (following ``.app``)."""
    from sessionware.asgi import SessionMiddleware

    seen = 0
    while app is not None and seen < 50:
        if isinstance(app, SessionMiddleware):
            return app
        app, seen = getattr(app, "app", None), seen + 1
    return None
