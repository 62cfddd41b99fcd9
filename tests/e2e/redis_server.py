"""A Redis server for the cross-plugin tests: the running one, or one started here.

Order, as the repository rules ask: the server already listening on
127.0.0.1:6379; else a ``redis-server`` started on a free loopback port for
this test session; else skip with the reason — except under CI (``CI`` set),
where a missing Redis fails the run instead of silently skipping it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

DEFAULT = ("127.0.0.1", 6379)


def ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a Redis server answers PING at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail under CI where Redis tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the Redis tests (install redis-server)")
    pytest.skip(reason)


@contextmanager
def redis_url() -> Iterator[str]:
    """The URL of a reachable Redis for the duration of the block."""
    if ping(*DEFAULT):
        yield "redis://127.0.0.1:6379/0"
        return
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("no Redis on 127.0.0.1:6379 and no redis-server binary to start one")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not ping("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                unavailable(f"redis-server on port {port} did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
