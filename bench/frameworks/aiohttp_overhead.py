"""Compare: per-request overhead of a session read and a session write in aiohttp.

Contenders, each an aiohttp app served by aiohttp's own server on a loopback port:

- sessionware.aiohttp, engine ``db`` (SQLite file in a temp dir, engine defaults: WAL,
  synchronous=NORMAL), engine ``redis`` (the Redis on 127.0.0.1:6379) and engine
  ``signed_cookies`` with ``encrypt=True`` (AES-256-GCM: the data lives in the cookie,
  unreadable by the browser — the like-for-like peer of the next one);
- aiohttp-session's ``EncryptedCookieStorage`` (Fernet: AES-128-CBC + HMAC-SHA256,
  the data in the cookie), and its ``RedisStorage`` (same Redis) when Redis is there;
- the baseline: the same app without sessions, whose routes touch no session.

Two requests, with a session of ``PAYLOAD`` made by a first request and its cookie
replayed: ``read`` (one key read, nothing saved) and ``write`` (the counter gets a value
never stored before, so the session is saved and a Set-Cookie goes out). Durability is
each store's default: sessionware db commits to a WAL without fsync; Redis keeps what its
server config says (the same server for both Redis rows); the cookie rows store nothing.

Method: the client (aiohttp, one keep-alive connection per contender) and every server
run on one event loop in one process, so a request's time includes the client's and the
HTTP stack's; the overhead is the contender's time per request minus the baseline's, in
the same round, both in wall-clock time and in this process's CPU time (which a busy
machine inflates far less; it leaves out the Redis server's own work, the wall time
does not). Each round takes one sample (a batch of requests) of every (contender,
request) pair, in an order rotated every round, so drift on a shared VM hits all alike.
Medians and p10-p90 are over rounds, in µs per request (``harness.timing.run_group``,
``number`` requests per sample). The apps live in ``aiohttp_apps.py``.

``measure()`` is what ``summary.py`` runs instead: ours and EncryptedCookieStorage next
to the baseline, per case, as every framework (``harness.overhead``).

    .venv/bin/python bench/frameworks/aiohttp_overhead.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp_apps import (
    Served,
    aiohttp_session_app,
    app,
    encrypted_cookie_storage,
    every_contender,
    sessionware_app,
)
from harness import SECRET
from harness.overhead import CASES, Contender, Row, rows
from harness.results import version
from harness.timing import Op, Pair, cell, diffs, median, run_group, run_pairs

OPS = ("read", "write")
CONTENDERS = [
    Contender(
        "aiohttp-session",
        "aiohttp-session EncryptedCookieStorage",
        "in the cookie, Fernet (AES-128-CBC + HMAC-SHA256)",
        "peer",
    ),
    Contender(
        "db",
        "sessionware.aiohttp, db",
        "server-side, SQLite WAL, synchronous=NORMAL (no fsync)",
        "ours",
        versus="aiohttp-session",
    ),
    Contender(
        "signed_cookies",
        "sessionware.aiohttp, signed_cookies (encrypt)",
        "in the cookie, AES-256-GCM, expiry inside",
        "ours",
        versus="aiohttp-session",
    ),
]


def serving(served: list[Served], measure: Callable[[asyncio.AbstractEventLoop], None]) -> None:
    """Start every server, run ``measure(loop)``, stop them, on one new event loop."""
    loop = asyncio.new_event_loop()

    async def each(method: str) -> None:
        for server in served:
            await getattr(server, method)()

    loop.run_until_complete(each("start"))
    try:
        measure(loop)
    finally:
        loop.run_until_complete(each("stop"))
        loop.close()


def measure(rounds: int, sample_s: float) -> list[Row]:
    """Per case, each contender next to the baseline, the baseline sent the same cookie."""
    with tempfile.TemporaryDirectory(prefix="summary-aiohttp-") as tmpdir:
        apps = {
            "aiohttp-session": aiohttp_session_app(encrypted_cookie_storage()),
            "db": sessionware_app(engine="db", path=str(Path(tmpdir) / "sessions.db")),
            "signed_cookies": sessionware_app(
                engine="signed_cookies", secret_key=SECRET, encrypt=True
            ),
        }
        bare = Served("baseline (no session)", app(None), "-")
        served = {c.key: Served(c.label, apps[c.key], c.stores) for c in CONTENDERS}
        pairs = []

        def run(loop: asyncio.AbstractEventLoop) -> None:
            for c in CONTENDERS:
                mine = served[c.key]
                for case in CASES:
                    base = Op("bare", bare.request(case, mine.cookie), is_async=True)
                    pairs.append(
                        Pair(c.key, case, base, Op(c.label, mine.request(case), is_async=True))
                    )
            run_pairs(pairs, rounds, sample_s, loop)

        serving([bare, *served.values()], run)
    found = rows("aiohttp", CONTENDERS, pairs)
    for row in found:
        row.method = "loopback HTTP, client and server on one loop"
    return found


def detailed(rounds: int, number: int) -> None:
    """Every contender's read and write, wall and CPU time, over the baseline's."""
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        served = every_contender(Path(tmp), notes)
        ops: dict[tuple[str, str], Op] = {}

        def run(loop: asyncio.AbstractEventLoop) -> None:
            for s in served:  # warm up: connections, caches, lazy imports
                for op in OPS:
                    ops[s.name, op] = Op(
                        f"{s.name} {op}",
                        s.request(op),
                        is_async=True,
                        number=number,
                        warmup=max(number // 4, 10),
                    )
            run_group(list(ops.values()), rounds, 0.0, loop)

        serving(served, run)
    print(
        f"\naiohttp {version('aiohttp')}, aiohttp-session {version('aiohttp-session')}, "
        f"sessionware {version('sessionware')}, Python {sys.version.split()[0]}; "
        f"{rounds} rounds x {number} requests per sample; µs per request, median (p10-p90)"
    )
    base = served[0].name
    for op in OPS:
        baseline = ops[base, op]
        print(
            f"\n{op}: baseline (no session) {baseline.median:.0f} µs wall, "
            f"{median(baseline.cpu):.0f} µs CPU per request"
        )
        print(f"{'overhead over the baseline':40} {'wall':>20} {'CPU':>20}  stores")
        for s in served[1:]:
            mine = ops[s.name, op]
            wall = cell(diffs(mine.samples, baseline.samples))
            cpu = cell(diffs(mine.cpu, baseline.cpu))
            print(f"{s.name:40} {wall:>20} {cpu:>20}  {s.guarantee}")
    for note in notes:
        print(f"note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke test")
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--number", type=int, default=150, help="requests per sample")
    args = parser.parse_args()
    detailed(*((3, 30) if args.quick else (args.rounds, args.number)))


if __name__ == "__main__":
    main()
