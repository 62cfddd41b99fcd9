"""The load generator: sequential requests per session, as many sessions as asked, one process.

``python client.py --port P --keys FILE --seconds S`` reads one session key per
line and runs one asyncio task per key, each a browser that never waits: send
``GET /`` with its cookie, read the whole response, send the next. Raw
sockets and HTTP/1.1 keep-alive (gunicorn's sync workers close after each
response; the client reconnects). At the deadline each task finishes the
request it has in flight, so when nothing failed every request sent was
answered and the counters must match exactly.

Per session it tracks what the server acknowledged. A 200 answers the new
counter: one more than the last acknowledged one, or more only when requests
in between failed at the connection level (a worker killed mid-request may
or may not have written). A counter that does not grow is a lost write. It
prints one JSON document: per-session tallies, every latency in µs, and a
few error samples.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

COOKIE = "sessionid"
#: A request that takes longer than this is abandoned (and counted as a connection error).
TIMEOUT = 30.0


@dataclass
class Tally:
    """What one session saw."""

    key: str
    #: The counter the session was created with (the server answered it).
    start: int
    sent: int = 0  # requests written to a connection
    ok: int = 0  # 200 answers
    status_5xx: int = 0
    status_other: int = 0  # any other status (410 lost, 4xx)
    lost: int = 0  # 410: the server could not load the session
    conn_errors: int = 0  # connection reset/closed/refused mid-request, or timed out
    connect_refused: int = 0  # no connection at all (nothing sent)
    #: The last counter acknowledged by a 200, and the requests that failed since then
    #: (each may or may not have been written).
    last: int = 0
    uncertain: int = 0
    regressions: int = 0  # a 200 whose counter did not grow: an acknowledged write was lost
    jumps: int = 0  # a 200 that skipped more values than requests failed since the last one
    applied_unacknowledged: int = 0  # failed requests whose write happened all the same
    key_changes: int = 0  # a Set-Cookie with another session key: the session was replaced
    samples: list[str] = field(default_factory=list)


def _request(key: str) -> bytes:
    return (
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {COOKIE}={key}\r\n"
        "User-Agent: sessionware-load\r\n\r\n"
    ).encode("ascii")


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes, bool, str | None]:
    """Send one request; the status, body, whether the server closes, and any Set-Cookie key."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, closes, cookie = 0, False, None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            closes = value.lower() == "close"
        elif name == "set-cookie" and value.startswith(f"{COOKIE}="):
            cookie = value.split(";", 1)[0].removeprefix(f"{COOKIE}=")
    body = await reader.readexactly(length)
    return status, body, closes, cookie


async def _browse(port: int, tally: Tally, deadline: float, latencies: list[int]) -> None:
    request = _request(tally.key)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    def note(text: str) -> None:
        if len(tally.samples) < 5:
            tally.samples.append(text[:200])

    while time.monotonic() < deadline:
        if writer is None:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port), TIMEOUT
                )
            except (OSError, TimeoutError) as exc:
                tally.connect_refused += 1
                note(f"connect: {type(exc).__name__}: {exc}")
                await asyncio.sleep(0.01)
                continue
        assert reader is not None and writer is not None
        started = time.perf_counter_ns()
        tally.sent += 1
        try:
            status, body, closes, cookie = await asyncio.wait_for(
                _exchange(reader, writer, request), TIMEOUT
            )
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.conn_errors += 1
            tally.uncertain += 1
            note(f"request: {type(exc).__name__}: {exc}")
            writer.close()
            writer = None
            continue
        latencies.append((time.perf_counter_ns() - started) // 1000)
        if cookie is not None and cookie != tally.key:
            tally.key_changes += 1
            note(f"Set-Cookie replaced the session: {cookie[:12]}...")
        if status == 200:
            tally.ok += 1
            counter = int(body)
            grown = counter - tally.last
            if grown < 1:
                tally.regressions += 1
                note(f"counter {counter} after {tally.last}: a write was lost")
            elif grown - 1 > tally.uncertain:
                tally.jumps += 1
                note(f"counter {counter} after {tally.last} with {tally.uncertain} failures")
            else:
                tally.applied_unacknowledged += grown - 1
            tally.last = counter
            tally.uncertain = 0
        else:
            tally.status_5xx += status >= 500
            tally.status_other += status < 500
            tally.lost += status == 410
            note(f"status {status}: {body[:80]!r}")
        if closes:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def run(port: int, keys: list[tuple[str, int]], seconds: float) -> dict[str, Any]:
    """Drive every session for ``seconds``; the tallies and latencies."""
    tallies = [Tally(key=k, start=c, last=c) for k, c in keys]
    latencies: list[int] = []
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(_browse(port, t, deadline, latencies) for t in tallies))
    return {
        "elapsed": time.monotonic() - started,
        "sessions": [asdict(t) for t in tallies],
        "latencies_us": latencies,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keys", type=Path, required=True, help="one '<key>,<counter>' a line")
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    keys = []
    for line in args.keys.read_text().split():
        key, _, counter = line.partition(",")
        keys.append((key, int(counter)))
    result = asyncio.run(run(args.port, keys, args.seconds))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
