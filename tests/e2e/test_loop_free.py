"""A lock held by another process never stalls the event loop (db and file engines, ASGI).

A real uvicorn server runs sessionware's ASGI middleware on the db or file engine. Another
process takes the store's write lock (sqlite ``BEGIN IMMEDIATE`` on the database, ``flock``
on the session's file) and keeps it until told to let go. A session write sent meanwhile must
wait for the lock; a ``/ping`` that never touches the session must still be answered **while
the write is waiting**. The test checks that order, not a time: before local engines ran off
the loop, the waiting write held the loop and ``/ping`` was answered only after the lock was
released (here: never, until its timeout). ``bench/loop_stall.py`` measures the stall.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from sessionware.http.asgi import ASGISessionMiddleware

from ..first_party import require
from ..servers import serve_uvicorn

#: Holds the lock in its own process: prints "held", waits for a line on stdin, lets go.
HOLDER = textwrap.dedent(
    """
    import fcntl, sqlite3, sys
    engine, target = sys.argv[1], sys.argv[2]
    if engine == "db":
        conn = sqlite3.connect(target, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
    else:
        handle = open(target, "rb")
        fcntl.flock(handle, fcntl.LOCK_EX)
    print("held", flush=True)
    sys.stdin.readline()
    """
)


async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    if scope["path"] == "/write":
        session = scope["session"]
        session["n"] = session.get("n", 0) + 1
        body = str(session["n"]).encode()
    else:
        body = b"pong"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def lock_held_by_another_process(engine: str, target: str) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, engine, target],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(30)
        holder.stdout.close()


@pytest.mark.parametrize("engine", ["db", "file"])
def test_a_lock_held_by_another_process_never_stalls_the_loop(engine: str, tmp_path: Path) -> None:
    require(engine, f"sessionware-{engine}")
    if engine == "db":
        # A busy timeout longer than the test's patience: the write waits, it does not fail.
        options: dict[str, Any] = {"path": str(tmp_path / "sessions.sqlite3"), "timeout": 60}
    else:
        options = {"path": str(tmp_path)}
    with serve_uvicorn(ASGISessionMiddleware(app, engine=engine, **options)) as url:
        writer = httpx.Client(base_url=url, timeout=60)
        assert writer.get("/write").text == "1"
        key = writer.cookies["sessionid"]
        target = options["path"] if engine == "db" else f"{tmp_path}/sessionware-{key}"
        answers: list[httpx.Response] = []
        waiting = threading.Thread(target=lambda: answers.append(writer.get("/write")))
        with lock_held_by_another_process(engine, target):
            waiting.start()
            waiting.join(0.5)  # give the write time to reach the lock
            assert waiting.is_alive(), "the write did not wait for the lock: the test is void"
            # Served while the write waits; with the engine on the loop this timed out.
            with httpx.Client(base_url=url, timeout=15) as pinger:
                for _ in range(3):
                    assert pinger.get("/ping").text == "pong"
            assert waiting.is_alive(), "the lock was let go before the pings were answered"
        waiting.join(60)
        writer.close()
    assert [(r.status_code, r.text) for r in answers] == [(200, "2")]
