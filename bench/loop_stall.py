"""The event loop while another process holds the store's lock (db and file engines, ASGI).

A uvicorn server (one worker) serves sessionware's ASGI middleware on the db or the file
engine. A second process takes the store's write lock and holds it for ``--hold`` seconds
(sqlite ``BEGIN IMMEDIATE`` on the database; ``flock(LOCK_EX)`` on the session's file).
Meanwhile a client keeps sending session writes (which must wait for the lock) and
``/ping`` requests that never touch the session. The server measures its own loop: a task
sleeps 5 ms at a time and records how late it wakes. Printed: the worst loop stall, and
``/ping`` latency (median and worst) while the lock is held.

    python bench/loop_stall.py [--engine db|file] [--hold 5]

Before local engines ran off the event loop, a held sqlite lock stalled the loop for the
whole busy timeout (5.5 s on ``/ping`` in the review that found it).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from harness.servers import free_port

APP = textwrap.dedent(
    """
    import asyncio, json, os, time
    from sessionware.http.asgi import ASGISessionMiddleware

    worst = 0.0

    async def watch():
        global worst
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - start - 0.005)

    started = False

    async def app(scope, receive, send):
        global started, worst
        if scope["type"] != "http":
            return
        if not started:
            started = True
            asyncio.get_running_loop().create_task(watch())
        path = scope["path"]
        if path == "/write":
            session = scope["session"]
            session["n"] = session.get("n", 0) + 1
            body = str(session["n"]).encode()
        elif path == "/stall":
            body = json.dumps({"worst": worst}).encode()
        elif path == "/reset":
            worst = 0.0
            body = b"reset"
        else:
            body = b"pong"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    options = json.loads(os.environ["STALL_OPTIONS"])
    app = ASGISessionMiddleware(app, engine=os.environ["STALL_ENGINE"], **options)
    """
)


def hold_lock(engine: str, target: str, seconds: float, ready: threading.Event) -> None:
    """Hold the store's write lock from this process for ``seconds``."""
    if engine == "db":
        conn = sqlite3.connect(target, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()
    else:
        with open(target, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            ready.set()
            time.sleep(seconds)
            fcntl.flock(handle, fcntl.LOCK_UN)


def serve(engine: str, hold: float) -> tuple[subprocess.Popen[bytes], str, dict[str, Any]]:
    """The server on ``engine`` in a temp dir: its process, its URL, its engine options."""
    workdir = Path(tempfile.mkdtemp(prefix="sessionware-stall-"))
    (workdir / "stall_app.py").write_text(APP)
    if engine == "db":
        options = {"path": str(workdir / "sessions.sqlite3"), "timeout": hold + 5}
    else:
        (workdir / "files").mkdir()
        options = {"path": str(workdir / "files")}
    port = free_port()
    env = {
        **os.environ,
        "STALL_ENGINE": engine,
        "STALL_OPTIONS": json.dumps(options),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(workdir), os.environ.get("PYTHONPATH")])),
    }
    argv = [sys.executable, "-m", "uvicorn", "stall_app:app", "--port", str(port)]
    argv += ["--log-level", "warning", "--lifespan", "off"]
    server = subprocess.Popen(argv, env=env, cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(base + "/ping", timeout=1)
            return server, base, options
        except httpx.TransportError:
            if time.monotonic() > deadline:
                server.terminate()
                raise SystemExit("the server did not start") from None
            time.sleep(0.05)


def stall(base: str, engine: str, options: dict[str, Any], hold: float) -> None:
    """Hold the lock from another process while writes wait and /ping is timed; print."""
    writer = httpx.Client(base_url=base, timeout=hold + 30)
    writer.get("/write")  # a stored session (and its file) to contend on
    key = writer.cookies["sessionid"]
    target = options["path"] if engine == "db" else f"{options['path']}/sessionware-{key}"
    httpx.get(base + "/reset")
    ready = threading.Event()
    holder = threading.Thread(target=hold_lock, args=(engine, target, hold, ready))
    holder.start()
    ready.wait()
    writes = [threading.Thread(target=writer.get, args=("/write",)) for _ in range(3)]
    for thread in writes:  # session writes that must wait for the lock, each in its thread
        thread.start()
    pings: list[float] = []
    with httpx.Client(base_url=base, timeout=hold + 30) as client:
        end = time.monotonic() + hold
        while time.monotonic() < end:
            start = time.perf_counter()
            client.get("/ping")
            pings.append((time.perf_counter() - start) * 1000)
            time.sleep(0.02)
        holder.join()
        for thread in writes:
            thread.join()
        worst = json.loads(client.get("/stall").text)["worst"] * 1000
        final = writer.get("/write").text
    print(f"engine {engine}: lock held {hold:.1f} s by another process")
    print(f"  worst event-loop stall: {worst:.1f} ms")
    print(
        f"  /ping while the lock was held: {len(pings)} requests, "
        f"median {statistics.median(pings):.1f} ms, worst {max(pings):.1f} ms"
    )
    print(f"  the waiting writes completed; session counter afterwards: {final}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=["db", "file"], default="db")
    parser.add_argument("--hold", type=float, default=5.0)
    args = parser.parse_args()
    server, base, options = serve(args.engine, args.hold)
    try:
        stall(base, args.engine, options, args.hold)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
