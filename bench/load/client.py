"""The load generator: sequential requests per session, as many sessions as asked, one process.

``python client.py --port P --keys FILE --seconds S`` reads one ``<key>,<counter>``
per line and plays one browser per key that never waits: send ``GET /`` with its
cookie, read the whole response, send the next. Non-blocking sockets on one
``selectors`` loop and HTTP/1.1 keep-alive (gunicorn's sync workers close after
each response; the browser reconnects): a few tens of microseconds of client CPU
per request, so the client is not what limits the server on a shared 2-core
machine. At the deadline each browser finishes the request it has in flight, so
when nothing failed every request sent was answered and the counters must match
exactly.

Per session it tracks what the server acknowledged. A 200 answers the new
counter: one more than the last acknowledged one, or more only when requests in
between failed at the connection level (a worker killed mid-request may or may
not have written). A counter that does not grow is a lost write. It prints one
JSON document: per-session tallies, every latency in µs (from the connect, or
the send on a kept-alive connection, to the last byte), and a few error samples.
"""

from __future__ import annotations

import argparse
import errno
import json
import selectors
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

COOKIE = "sessionid"
#: A request unanswered after this long is abandoned (and counted as a connection error).
TIMEOUT = 30.0
#: After a refused connection, wait this long before trying again.
RETRY = 0.01


@dataclass
class Tally:
    """What one session saw."""

    key: str
    #: The counter the session had when this run began (the server answered it).
    start: int
    sent: int = 0  # requests written to a connection
    ok: int = 0  # 200 answers
    status_5xx: int = 0
    status_other: int = 0  # any other status (410 lost, 4xx)
    lost: int = 0  # 410: the server could not load the session
    conn_errors: int = 0  # connection reset or closed mid-request, or timed out
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

    def note(self, text: str) -> None:
        if len(self.samples) < 5:
            self.samples.append(text[:200])

    def answered(self, status: int, body: bytes, cookie: str | None) -> None:
        """Account for one complete response."""
        if cookie is not None and cookie != self.key:
            self.key_changes += 1
            self.note(f"Set-Cookie replaced the session: {cookie[:12]}...")
        if status != 200:
            self.status_5xx += status >= 500
            self.status_other += status < 500
            self.lost += status == 410
            self.note(f"status {status}: {body[:80]!r}")
            return
        self.ok += 1
        counter = int(body)
        grown = counter - self.last
        if grown < 1:
            self.regressions += 1
            self.note(f"counter {counter} after {self.last}: a write was lost")
        elif grown - 1 > self.uncertain:
            self.jumps += 1
            self.note(f"counter {counter} after {self.last} with {self.uncertain} failures")
        else:
            self.applied_unacknowledged += grown - 1
        self.last = counter
        self.uncertain = 0


def parse(buffer: bytes) -> tuple[int, bytes, bool, str | None] | None:
    """A complete response in ``buffer``: status, body, whether the server closes, cookie."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buffer[:end].decode("latin-1").split("\r\n")
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
    if len(buffer) < end + 4 + length:
        return None
    return status, buffer[end + 4 : end + 4 + length], closes, cookie


class Browser:
    """One session's browser: a socket, and where it is in its current request."""

    def __init__(self, tally: Tally, port: int) -> None:
        self.tally = tally
        self.address = ("127.0.0.1", port)
        self.request = (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {COOKIE}={tally.key}\r\n"
            "User-Agent: sessionware-load\r\n\r\n"
        ).encode("ascii")
        self.sock: socket.socket | None = None
        self.connecting = False
        self.buffer = b""
        self.started = 0  # perf_counter_ns when this request began
        self.retry_at = 0.0  # monotonic time of the next connect, after a refusal


class Loop:
    """Every browser of this process on one selector."""

    def __init__(self, browsers: list[Browser], deadline: float) -> None:
        self.selector = selectors.DefaultSelector()
        self.browsers = browsers
        self.deadline = deadline
        self.latencies: list[int] = []
        #: Responses per whole second since the start: shows a dip when a worker dies.
        self.timeline: list[int] = [0] * (int(deadline - time.monotonic()) + 2)
        self.began = time.monotonic()
        self.active = len(browsers)
        self.waiting: list[Browser] = []  # refused: reconnect at retry_at

    def begin(self, b: Browser) -> None:
        """Start the next request, or retire the browser past the deadline."""
        if time.monotonic() >= self.deadline:
            self.close(b)
            self.active -= 1
            return
        b.started = time.perf_counter_ns()
        b.buffer = b""
        if b.sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code = sock.connect_ex(b.address)
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                self.refused(b, f"connect: {errno.errorcode.get(code, code)}")
                return
            b.sock, b.connecting = sock, True
            self.selector.register(sock, selectors.EVENT_WRITE, b)
            return
        self.send(b)

    def refused(self, b: Browser, why: str) -> None:
        b.tally.connect_refused += 1
        b.tally.note(why)
        b.retry_at = time.monotonic() + RETRY
        self.waiting.append(b)

    def send(self, b: Browser) -> None:
        assert b.sock is not None
        b.tally.sent += 1
        try:
            sent = b.sock.send(b.request)
        except OSError as exc:
            return self.failed(b, f"send: {exc}")
        if sent != len(b.request):  # a ~150-byte request into an empty socket buffer
            return self.failed(b, f"send: only {sent} bytes went out")
        self.selector.modify(b.sock, selectors.EVENT_READ, b)

    def failed(self, b: Browser, why: str) -> None:
        """The request was sent (perhaps partly) and no answer came: it may have been applied."""
        b.tally.conn_errors += 1
        b.tally.uncertain += 1
        b.tally.note(why)
        self.close(b)
        self.begin(b)

    def close(self, b: Browser) -> None:
        if b.sock is not None:
            self.selector.unregister(b.sock)
            b.sock.close()
            b.sock = None

    def ready(self, b: Browser) -> None:
        assert b.sock is not None
        if b.connecting:
            b.connecting = False
            code = b.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self.close(b)
                return self.refused(b, f"connect: {errno.errorcode.get(code, code)}")
            return self.send(b)
        try:
            data = b.sock.recv(65536)
        except OSError as exc:
            return self.failed(b, f"recv: {exc}")
        if not data:
            return self.failed(b, "the server closed the connection mid-request")
        b.buffer += data
        try:
            response = parse(b.buffer)
        except ValueError as exc:
            return self.failed(b, f"unparsable response: {exc}")
        if response is None:
            return
        status, body, closes, cookie = response
        self.latencies.append((time.perf_counter_ns() - b.started) // 1000)
        second = min(int(time.monotonic() - self.began), len(self.timeline) - 1)
        self.timeline[second] += 1
        b.tally.answered(status, body, cookie)
        if closes:
            self.close(b)
        self.begin(b)

    def run(self) -> None:
        for b in self.browsers:
            self.begin(b)
        next_sweep = time.monotonic() + 1
        while self.active:
            for key, _ in self.selector.select(timeout=RETRY):
                self.ready(key.data)
            now = time.monotonic()
            if self.waiting:
                due = [b for b in self.waiting if b.retry_at <= now]
                self.waiting = [b for b in self.waiting if b.retry_at > now]
                for b in due:
                    self.begin(b)
            if now >= next_sweep:  # abandon requests stuck past TIMEOUT
                next_sweep = now + 1
                limit = time.perf_counter_ns() - int(TIMEOUT * 1e9)
                for b in self.browsers:
                    if b.sock is not None and b.started < limit:
                        self.failed(b, f"no answer within {TIMEOUT:g} s")


def run(port: int, keys: list[tuple[str, int]], seconds: float) -> dict[str, Any]:
    """Drive every session for ``seconds``; the tallies and latencies."""
    tallies = [Tally(key=k, start=c, last=c) for k, c in keys]
    started = time.monotonic()
    loop = Loop([Browser(t, port) for t in tallies], started + seconds)
    loop.run()
    return {
        "elapsed": time.monotonic() - started,
        "sessions": [asdict(t) for t in tallies],
        "latencies_us": loop.latencies,
        "timeline": loop.timeline,
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
    json.dump(run(args.port, keys, args.seconds), sys.stdout)


if __name__ == "__main__":
    main()
