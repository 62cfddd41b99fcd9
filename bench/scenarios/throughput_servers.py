"""The throughput comparison's servers: start each contender, create its sessions, read back.

Every server runs ``WORKERS`` worker processes (gunicorn sync workers, uvicorn through
``apps/uvicorn_nodelay.py``) in its own process group (``harness.servers``).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from pathlib import Path

from harness.servers import BENCH, free_port, http_get, server_env, start_server

from scenarios.throughput_contenders import Server

WORKERS = 2  # server worker processes, the same for every contender
CONNECTIONS = 8  # concurrent connections, one session (and one load thread) each
APP_MODULES = ["ours_wsgi", "ours_asgi", "flask_ours", "flask_default", "starlette_ours"]
APP_MODULES += ["starlette_default", "django_app", "uvicorn_nodelay"]
SERVER_MODULES = ["gunicorn.app.wsgiapp", "gunicorn.arbiter", "gunicorn.workers.sync"]
SERVER_MODULES += ["uvicorn.protocols.http.h11_impl", "uvicorn.lifespan.on", "redis.asyncio"]


def prime_bytecode(tmp: Path) -> None:
    """Import every app and server module once, so the servers start from cached bytecode."""
    env = server_env(BENCH_ENGINE="db", BENCH_DB_PATH=str(tmp / "prime.sqlite3"))
    modules = [f"apps.{m}" for m in APP_MODULES] + SERVER_MODULES
    subprocess.run([sys.executable, "-c", f"import {', '.join(modules)}"], env=env, cwd=BENCH)


def env_of(c: Server, tmp: Path, prefix: str) -> dict[str, str]:
    return server_env(
        BENCH_ENGINE=c.engine,
        BENCH_DB_PATH=str(tmp / f"{c.key}.sqlite3"),
        BENCH_REDIS_PREFIX=f"{prefix}{c.key}:",
        BENCH_SECRET="bench-" + secrets.token_hex(24),
        **c.env,
    )


def command(c: Server) -> list[str]:
    if c.server == "gunicorn":
        return [
            sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--worker-class",
            "sync", "--bind", f"127.0.0.1:{c.port}", "--log-level", "warning", c.target,
        ]  # fmt: skip
    return [
        sys.executable, "-m", "apps.uvicorn_nodelay",  # uvicorn's CLI, the socket marked TCP
        c.target, "--workers", str(WORKERS), "--host", "127.0.0.1", "--port", str(c.port),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def migrate(c: Server, tmp: Path, prefix: str) -> subprocess.Popen[bytes] | None:
    """Start ``migrate sessions`` for a Django db contender (its table in its sqlite file)."""
    if not c.key.startswith("django-db"):
        return None
    argv = [sys.executable, "-m", "apps.django_app", "migrate", "sessions", "--verbosity", "0"]
    return subprocess.Popen(argv, env=env_of(c, tmp, prefix), cwd=BENCH)


def start_all(contenders: list[Server], tmp: Path, prefix: str) -> None:
    """Migrate the Django databases (in parallel with starting the others), start every server."""
    migrations = {c.key: migrate(c, tmp, prefix) for c in contenders}
    for c in sorted(contenders, key=lambda c: migrations[c.key] is not None):
        if (job := migrations[c.key]) is not None and job.wait() != 0:
            raise SystemExit(f"{c.label}: manage.py migrate failed")
        c.port = free_port()
        c.log = tmp / f"{c.key}.log"
        c.proc = start_server(command(c), env_of(c, tmp, prefix), c.log)


def wait_ready(c: Server, deadline: float) -> None:
    """Wait until every worker answers; then create one session per connection."""
    assert c.proc is not None and c.log is not None
    answered = 0
    while answered < 2 * WORKERS:
        if c.proc.poll() is not None or time.monotonic() > deadline:
            tail = c.log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"{c.label}: the server did not come up:\n{tail}")
        try:
            status, body, _ = http_get(c.port)
        except OSError:
            time.sleep(0.1)
            continue
        if status != 200:
            raise SystemExit(f"{c.label}: GET / answered {status}: {body[:300]}")
        answered += 1
    c.cookies, c.counters = [], []
    for _ in range(CONNECTIONS):
        status, body, cookie = http_get(c.port)
        if status != 200 or not cookie or body != "1":
            raise SystemExit(f"{c.label}: creating a session gave {status} {body!r} {cookie!r}")
        c.cookies.append(cookie)
        c.counters.append(1)


def read_back(c: Server) -> list[int]:
    """Each session's counter, by one more request with its cookie (which adds one)."""
    values = []
    for i, cookie in enumerate(c.cookies):
        status, body, new = http_get(c.port, cookie=cookie)
        if status != 200 or not body.isdigit():
            raise SystemExit(f"{c.label}: read-back answered {status} {body[:200]!r}")
        c.cookies[i] = new or cookie
        values.append(int(body))
    return values
