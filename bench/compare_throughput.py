"""Throughput over real HTTP with a session write on every request: sessionware vs Django,
Flask and Starlette, each behind a production server, loaded by wrk in another process.

Every contender is a minimal app in ``bench/apps/`` answering ``GET /``: it stores
``PAYLOAD`` in a new session once, then increments ``session["counter"]`` on every request
and answers the counter, so every request loads and saves the session. WSGI apps run under
gunicorn (sync workers), ASGI apps under uvicorn, all with the same number of worker
processes. Before measuring, one session is created over HTTP per connection; the load
generator (``wrk`` with ``bench/apps/replay_cookie.lua``: one connection per thread, each
replaying its own session cookie and taking the new value of any ``Set-Cookie``) then runs
for a fixed time. Each contender is measured in rounds, the contenders interleaved and the
order reversed every round, so drift hits everyone. After each round every session's
counter is read back over HTTP: it must have grown by the number of 200 responses wrk saw,
so the writes really happened.

    python bench/compare_throughput.py [--quick]
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _results import Results, arguments, version  # noqa: E402

WORKERS = 2  # server worker processes, the same for every contender
CONNECTIONS = 8  # concurrent connections, one session (and one wrk thread) each
PANEL = "Throughput, session write per request (req/s)"
LUA = BENCH / "apps" / "replay_cookie.lua"
REDIS = ("127.0.0.1", 6379)
PYCACHE = Path(tempfile.gettempdir()) / "sessionware-bench-pycache"
APP_MODULES = ["ours_wsgi", "ours_asgi", "flask_ours", "flask_default", "starlette_ours"]
APP_MODULES += ["starlette_default", "django_app", "uvicorn_nodelay"]
SERVER_MODULES = ["gunicorn.app.wsgiapp", "gunicorn.arbiter", "gunicorn.workers.sync"]
SERVER_MODULES += ["uvicorn.protocols.http.h11_impl", "uvicorn.lifespan.on", "redis.asyncio"]


@dataclass
class Contender:
    key: str
    label: str
    server: str  # "gunicorn" or "uvicorn"
    target: str  # module:attribute under bench/
    engine: str  # BENCH_ENGINE for the app
    config: str  # how it is configured, for the table note
    ours: bool
    env: dict[str, str] = field(default_factory=dict)
    # filled while running
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    cookies: list[str] = field(default_factory=list)
    counters: list[int] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)


CONTENDERS = [
    Contender(
        "django-db",
        "Django, db",
        "gunicorn",
        "apps.django_app:application",
        "db",
        "Django defaults: `backends.db` on a sqlite file (rollback journal, SQLite's default "
        "`synchronous`, `CONN_MAX_AGE=0` so a new connection per request), JSONSerializer; "
        "only the sessions app and its SessionMiddleware",
        ours=False,
    ),
    Contender(
        "ours-wsgi-db",
        "ours WSGI, db",
        "gunicorn",
        "apps.ours_wsgi:app",
        "db",
        "a plain WSGI callable in `sessionware.wsgi.SessionMiddleware(engine='db', path=...)`: "
        "defaults (WAL, `synchronous=NORMAL`), json serializer",
        ours=True,
    ),
    Contender(
        "django-db-wal",
        "Django, db, WAL (tuned)",
        "gunicorn",
        "apps.django_app:application",
        "db",
        "NOT Django's defaults, tuned up to match our engine's storage settings: "
        "`OPTIONS={'init_command': 'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL'}`, "
        "`CONN_MAX_AGE=None` (persistent connection)",
        ours=False,
        env={"BENCH_DJANGO_TUNED": "1"},
    ),
    Contender(
        "flask-ours-db",
        "Flask + ours, db",
        "gunicorn",
        "apps.flask_ours:app",
        "db",
        "Flask with `app.wsgi_app = SessionMiddleware(app.wsgi_app, engine='db', path=...)`",
        ours=True,
    ),
    Contender(
        "django-signed",
        "Django, signed_cookies",
        "gunicorn",
        "apps.django_app:application",
        "signed_cookies",
        "`SESSION_ENGINE='django.contrib.sessions.backends.signed_cookies'`, otherwise as "
        "Django, db (JSONSerializer, zlib compression when it pays: Django's defaults)",
        ours=False,
    ),
    Contender(
        "ours-wsgi-redis",
        "ours WSGI, redis",
        "gunicorn",
        "apps.ours_wsgi:app",
        "redis",
        "the plain WSGI app with `engine='redis'` at 127.0.0.1:6379, a unique key prefix, "
        "blocking redis-py",
        ours=True,
    ),
    Contender(
        "flask-default",
        "Flask, default cookie",
        "gunicorn",
        "apps.flask_default:app",
        "signed_cookies",
        "Flask's default `SecureCookieSessionInterface` (itsdangerous HMAC-SHA1, tagged JSON), "
        "only `secret_key` set",
        ours=False,
    ),
    Contender(
        "flask-ours-signed",
        "Flask + ours, signed_cookies",
        "gunicorn",
        "apps.flask_ours:app",
        "signed_cookies",
        "Flask with `SessionMiddleware(app.wsgi_app, engine='signed_cookies', secret_key=...)`:"
        " HMAC-SHA256, json, not encrypted",
        ours=True,
    ),
    Contender(
        "starlette-default",
        "Starlette, its SessionMiddleware",
        "uvicorn",
        "apps.starlette_default:app",
        "signed_cookies",
        "`starlette.middleware.sessions.SessionMiddleware(secret_key=...)`, defaults "
        "(itsdangerous TimestampSigner, JSON, base64)",
        ours=False,
    ),
    Contender(
        "ours-asgi-db",
        "ours ASGI, db",
        "uvicorn",
        "apps.ours_asgi:app",
        "db",
        "a plain ASGI callable in `sessionware.asgi.SessionMiddleware(engine='db', path=...)` "
        "(sqlite called inline on the event loop)",
        ours=True,
    ),
    Contender(
        "starlette-ours-signed",
        "Starlette + ours, signed_cookies",
        "uvicorn",
        "apps.starlette_ours:app",
        "signed_cookies",
        "Starlette wrapped in `sessionware.asgi.SessionMiddleware(engine='signed_cookies', "
        "secret_key=...)`",
        ours=True,
    ),
    Contender(
        "ours-asgi-redis",
        "ours ASGI, redis",
        "uvicorn",
        "apps.ours_asgi:app",
        "redis",
        "the plain ASGI app with `engine='redis'`: redis-py asyncio, the session loaded "
        "before the app runs",
        ours=True,
    ),
]

# (ours, theirs, what the ratio says)
PAIRS = [
    ("ours-wsgi-db", "django-db", "like-for-like: a session store in sqlite, gunicorn"),
    ("flask-ours-db", "django-db", "a framework with ours vs Django, sqlite"),
    ("ours-wsgi-db", "django-db-wal", "vs Django tuned to WAL + persistent connection"),
    ("flask-ours-db", "django-db-wal", "Flask + ours vs Django tuned"),
    ("flask-ours-signed", "django-signed", "cookie sessions, gunicorn"),
    ("flask-ours-signed", "flask-default", "cookie sessions, same framework"),
    ("starlette-ours-signed", "starlette-default", "cookie sessions, same framework, uvicorn"),
]


# -- HTTP helpers ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get(port: int, cookie: str | None) -> tuple[int, str, str | None]:
    """``GET /`` with ``cookie``: status, body, and the cookie to send next."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/", headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        body = response.read().decode("latin-1")
        set_cookie = response.getheader("Set-Cookie")
    finally:
        conn.close()
    return response.status, body, set_cookie.split(";", 1)[0].strip() if set_cookie else cookie


# -- servers -----------------------------------------------------------------------------


def base_env() -> dict[str, str]:
    """The servers' environment: bytecode cached outside the repository (a server process
    that compiles every module it imports spends seconds of CPU starting up)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(BENCH), "PYTHONPYCACHEPREFIX": str(PYCACHE)}


def prime_bytecode(tmp: Path) -> None:
    """Import every app and server module once, so the servers start from cached bytecode."""
    env = {**base_env(), "BENCH_ENGINE": "db", "BENCH_DB_PATH": str(tmp / "prime.sqlite3")}
    modules = [f"apps.{m}" for m in APP_MODULES] + SERVER_MODULES
    subprocess.run([sys.executable, "-c", f"import {', '.join(modules)}"], env=env, cwd=BENCH)


def server_env(c: Contender, tmp: Path, prefix: str) -> dict[str, str]:
    return {
        **base_env(),
        "BENCH_ENGINE": c.engine,
        "BENCH_DB_PATH": str(tmp / f"{c.key}.sqlite3"),
        "BENCH_REDIS_PREFIX": f"{prefix}{c.key}:",
        "BENCH_SECRET": "bench-" + secrets.token_hex(24),
        **c.env,
    }


def command(c: Contender) -> list[str]:
    if c.server == "gunicorn":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{c.port}",
            "--log-level",
            "warning",
            c.target,
        ]
    return [
        sys.executable,
        "-m",
        "apps.uvicorn_nodelay",  # uvicorn's CLI, with the listening socket marked TCP
        c.target,
        "--workers",
        str(WORKERS),
        "--host",
        "127.0.0.1",
        "--port",
        str(c.port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def migrate(c: Contender, tmp: Path, prefix: str) -> subprocess.Popen[bytes] | None:
    """Start ``migrate sessions`` for a Django db contender (its table in its sqlite file)."""
    if not c.key.startswith("django-db"):
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "apps.django_app", "migrate", "sessions", "--verbosity", "0"],
        env=server_env(c, tmp, prefix),
        cwd=BENCH,
    )


def start(c: Contender, tmp: Path, prefix: str) -> None:
    c.port = free_port()
    c.log = tmp / f"{c.key}.log"
    with c.log.open("wb") as log:
        c.proc = subprocess.Popen(
            command(c), env=server_env(c, tmp, prefix), cwd=BENCH, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def wait_ready(c: Contender, deadline: float) -> None:
    """Wait until every worker answers; then create one session per connection."""
    assert c.proc is not None and c.log is not None
    answered = 0
    while answered < 2 * WORKERS:
        if c.proc.poll() is not None or time.monotonic() > deadline:
            tail = c.log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"{c.label}: the server did not come up:\n{tail}")
        try:
            status, body, _ = get(c.port, None)
        except OSError:
            time.sleep(0.1)
            continue
        if status != 200:
            raise SystemExit(f"{c.label}: GET / answered {status}: {body[:300]}")
        answered += 1
    c.cookies, c.counters = [], []
    for _ in range(CONNECTIONS):
        status, body, cookie = get(c.port, None)
        if status != 200 or not cookie or body != "1":
            raise SystemExit(f"{c.label}: creating a session gave {status} {body!r} {cookie!r}")
        c.cookies.append(cookie)
        c.counters.append(1)


def stop(c: Contender) -> None:
    if c.proc is None or c.proc.poll() is not None:
        return
    os.killpg(c.proc.pid, signal.SIGTERM)  # the group this script created for the server
    try:
        c.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(c.proc.pid, signal.SIGKILL)
        c.proc.wait()


def server_cpu(c: Contender) -> float:
    """CPU seconds used so far by the server's processes (its process group); NaN off Linux."""
    assert c.proc is not None
    ticks = 0
    try:
        entries = [d for d in Path("/proc").iterdir() if d.name.isdigit()]
    except OSError:
        return float("nan")
    for d in entries:
        try:
            stat = (d / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # from field 3 (state) on
        if int(fields[2]) == c.proc.pid:  # pgrp; then utime, stime are fields 14, 15
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


# -- load generators ---------------------------------------------------------------------


def run_wrk(c: Contender, seconds: int, tmp: Path, wrk: str) -> dict[str, Any]:
    cookie_file = tmp / f"{c.key}.cookies"
    cookie_file.write_text("\n".join(c.cookies) + "\n")
    n = str(CONNECTIONS)
    done = subprocess.run(
        [
            wrk,
            "-t",
            n,
            "-c",
            n,
            "-d",
            f"{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(LUA),
            f"http://127.0.0.1:{c.port}/",
        ],
        env={**os.environ, "BENCH_COOKIES": str(cookie_file)},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    line = next((s for s in done.stdout.splitlines() if s.startswith("WRK-JSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"{c.label}: wrk failed:\n{done.stdout}\n{done.stderr}")
    data: dict[str, Any] = json.loads(line.removeprefix("WRK-JSON "))
    threads = sorted(data["threads"], key=lambda t: t["id"])
    c.cookies = [t["cookie"] for t in threads]
    return {
        "requests": data["requests"],
        "seconds": data["duration_us"] / 1e6,
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "socket_errors": sum(v for k, v in data["errors"].items() if k != "status"),
        "non200": sum(t["non200"] for t in threads),
        "responses": [t["responses"] for t in threads],
    }


def _python_client(
    port: int, cookie: str, seconds: float
) -> tuple[int, int, int, list[float], str]:
    """One connection of the fallback generator: responses, non-200, errors, latencies µs."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    latencies: list[float] = []
    responses = non200 = errors = 0
    end = time.perf_counter() + seconds
    while (now := time.perf_counter()) < end:
        try:
            conn.request("GET", "/", headers={"Cookie": cookie})
            response = conn.getresponse()
            response.read()
        except OSError:
            errors += 1
            conn.close()
            continue
        latencies.append((time.perf_counter() - now) * 1e6)
        responses += 1
        non200 += response.status != 200
        set_cookie = response.getheader("Set-Cookie")
        if set_cookie:
            cookie = set_cookie.split(";", 1)[0].strip()
        if response.will_close:
            conn.close()
    conn.close()
    return responses, non200, errors, latencies, cookie


def run_python(c: Contender, seconds: int, pool: ProcessPoolExecutor) -> dict[str, Any]:
    started = time.perf_counter()
    futures = [pool.submit(_python_client, c.port, ck, seconds) for ck in c.cookies]
    parts = [f.result() for f in futures]
    elapsed = time.perf_counter() - started
    latencies = sorted(x for p in parts for x in p[3])
    c.cookies = [p[4] for p in parts]

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * q))] / 1000

    return {
        "requests": sum(p[0] for p in parts),
        "seconds": elapsed,
        "p50_ms": pct(0.50) if latencies else 0.0,
        "p99_ms": pct(0.99) if latencies else 0.0,
        "socket_errors": sum(p[2] for p in parts),
        "non200": sum(p[1] for p in parts),
        "responses": [p[0] for p in parts],
    }


# -- measuring ---------------------------------------------------------------------------


def read_back(c: Contender) -> list[int]:
    """Each session's counter, by one more request with its cookie (which adds one)."""
    values = []
    for i, cookie in enumerate(c.cookies):
        status, body, new = get(c.port, cookie)
        if status != 200 or not body.isdigit():
            raise SystemExit(f"{c.label}: read-back answered {status} {body[:200]!r}")
        c.cookies[i] = new or cookie
        values.append(int(body))
    return values


def measure_round(
    c: Contender, warm: int, seconds: int, load: Any, settle: float
) -> dict[str, Any]:
    if warm:
        load(c, warm)
    before = read_back(c)
    cpu = server_cpu(c)
    client = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = load(c, seconds)
    cpu = server_cpu(c) - cpu
    after_client = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (after_client.ru_utime + after_client.ru_stime) - (
        client.ru_utime + client.ru_stime
    )
    time.sleep(settle)  # let a request that was in flight when the load stopped finish
    after = read_back(c)
    writes = [a - b - 1 for a, b in zip(after, before, strict=True)]
    # A write per 200 response; a server-side store may also have saved the one request
    # that was in flight when the load generator stopped (at most one per connection).
    lost = sum(max(0, r - w) for r, w in zip(result["responses"], writes, strict=True))
    result.update(
        rps=result["requests"] / result["seconds"],
        server_cpu=cpu,
        client_cpu=client_cpu,
        writes=sum(writes),
        lost=lost + result["non200"],
    )
    return dict(result)


def redis_available() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


def redis_cleanup(prefix: str) -> tuple[int, str]:
    import redis

    client = redis.Redis(*REDIS)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        server_version = str(client.info("server").get("redis_version", "?"))
    finally:
        client.close()
    return len(keys), server_version


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({model})"


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    return (done.stdout + done.stderr).split("Copyright")[0].strip() or "?"


def main() -> None:
    args = arguments(__doc__.split("\n\n")[0])
    rounds, warm_first, warm_again, seconds = (1, 0, 0, 1) if args.quick else (3, 2, 0, 3)
    wrk = shutil.which("wrk") or ("/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else None)
    why = "wrk was not found"
    if os.environ.get("BENCH_LOADGEN") == "python":  # development aid: test the fallback
        wrk, why = None, "BENCH_LOADGEN=python"
    results = Results(
        "bench/compare_throughput.py",
        "Throughput over HTTP with a session write on every request",
        quick=args.quick,
    )
    results.versions(
        "sessionware", "sessionware-db", "sessionware-redis", "sessionware-signed-cookies",
        "sessionware-json", "django", "flask", "werkzeug", "starlette", "itsdangerous",
        "redis", "gunicorn", "uvicorn", "h11", "httptools", "uvloop",
    )  # fmt: skip
    results.data["versions"]["sqlite"] = sqlite3.sqlite_version
    results.data["versions"]["load generator"] = wrk_version(wrk) if wrk else "python"
    uvicorn_impl = (
        f"{'httptools' if version('httptools') != 'not installed' else 'h11'} + "
        f"{'uvloop' if version('uvloop') != 'not installed' else 'asyncio'}"
    )

    contenders = list(CONTENDERS)
    if only := os.environ.get("BENCH_ONLY"):  # development aid: BENCH_ONLY=key,key
        contenders = [c for c in contenders if c.key in only.split(",")]
    have_redis = redis_available()
    if not have_redis:
        contenders = [c for c in contenders if c.engine != "redis"]
    tmp = Path(tempfile.mkdtemp(prefix="sessionware-throughput-"))
    prefix = f"sessionware-bench-throughput-{os.getpid()}-{secrets.token_hex(4)}:"
    pool = None if wrk else ProcessPoolExecutor(max_workers=CONNECTIONS)

    def load(c: Contender, s: int) -> dict[str, Any]:
        return run_wrk(c, s, tmp, wrk) if wrk else run_python(c, s, pool)  # type: ignore[arg-type]

    print(
        f"{machine()}; python {sys.version.split()[0]}\n"
        f"{WORKERS} worker processes per server (gunicorn sync workers / uvicorn {uvicorn_impl}),"
        f" {CONNECTIONS} connections each with its own session, load generator: "
        f"{'wrk' if wrk else f'python processes ({why})'} on the same machine; "
        f"{rounds} round(s) x {seconds} s per contender, interleaved"
    )
    began = time.monotonic()
    try:
        prime_bytecode(tmp)
        migrations = {c.key: migrate(c, tmp, prefix) for c in contenders}
        for c in sorted(contenders, key=lambda c: migrations[c.key] is not None):
            if (job := migrations[c.key]) is not None and job.wait() != 0:
                raise SystemExit(f"{c.label}: manage.py migrate failed")
            start(c, tmp, prefix)
        deadline = time.monotonic() + 60
        for c in contenders:
            wait_ready(c, deadline)
        print(f"{len(contenders)} servers up after {time.monotonic() - began:.1f} s", flush=True)
        order = list(contenders)
        for r in range(rounds):
            for c in order:
                warm = warm_first if r == 0 else warm_again
                res = measure_round(c, warm, seconds, load, 0.1 if args.quick else 0.3)
                c.rounds.append(res)
                print(
                    f"  round {r + 1}  {c.label:34s} {res['rps']:8.0f} req/s  "
                    f"p50 {res['p50_ms']:6.2f} ms  p99 {res['p99_ms']:6.2f} ms  "
                    f"errors {res['socket_errors'] + res['non200']}  lost writes {res['lost']}",
                    flush=True,
                )
            order.reverse()
    finally:
        for c in contenders:
            stop(c)
        if pool is not None:
            pool.shutdown()
        redis_note = ""
        if have_redis:
            deleted, server_version = redis_cleanup(prefix)
            results.data["versions"]["redis server"] = server_version
            redis_note = f"; deleted {deleted} redis keys"
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"servers stopped, temp files removed{redis_note}")

    rows, summary = [], {}
    client_cpu = load_seconds = 0.0
    for c in contenders:
        rps = [x["rps"] for x in c.rounds]
        med = statistics.median(rps)
        summary[c.key] = med
        errors = sum(x["socket_errors"] + x["non200"] for x in c.rounds)
        lost = sum(x["lost"] for x in c.rounds)
        writes = sum(x["writes"] for x in c.rounds)
        requests = sum(x["requests"] for x in c.rounds)
        cpu_ms = sum(x["server_cpu"] for x in c.rounds) / max(1, requests) * 1000
        client_cpu += sum(x["client_cpu"] for x in c.rounds)
        load_seconds += sum(x["seconds"] for x in c.rounds)
        rows.append(
            [
                c.label,
                c.server,
                WORKERS,
                round(med),
                f"{min(rps):.0f}-{max(rps):.0f}",
                round(statistics.median(x["p50_ms"] for x in c.rounds), 2),
                round(statistics.median(x["p99_ms"] for x in c.rounds), 2),
                round(cpu_ms, 3),
                errors,
                f"{writes} ({lost} lost)",
            ]
        )
        results.chart(PANEL, f"{c.label} ({c.server})", round(med), "req/s")
    columns = ["contender", "server", "workers", "req/s", "min-max", "p50 ms", "p99 ms"]
    columns += ["server CPU ms/req", "errors", "writes read back"]
    loader = (
        f"wrk ({results.data['versions']['load generator']}), {CONNECTIONS} threads x 1 "
        "connection, Lua script apps/replay_cookie.lua"
        if wrk
        else f"{CONNECTIONS} Python processes with http.client ({why})"
    )
    note = (
        f"{rounds} round(s) of {seconds} s per contender after a {warm_first} s warm-up, "
        f"contenders interleaved, order reversed each round; req/s is the median of the "
        f"rounds, min-max their range; p50/p99 are medians of the rounds' percentiles. "
        f"Servers: gunicorn {version('gunicorn')} `--workers {WORKERS} --worker-class sync` "
        f"(a sync worker closes the connection after each response, so every request "
        f"reconnects), uvicorn {version('uvicorn')} `--workers {WORKERS}` with {uvicorn_impl} "
        f"(what is installed), no access log, started through `apps/uvicorn_nodelay.py`: "
        "uvicorn's own CLI with the listening socket marked `IPPROTO_TCP`, a workaround for "
        "uvicorn issue #3149 (with `--workers N` asyncio never sets `TCP_NODELAY` on accepted "
        "connections and each keep-alive response waits ~40 ms for a delayed ACK; 44 ms per "
        "request measured here), applied to every ASGI contender alike. "
        f"Load: {loader}, on the same "
        f"{os.cpu_count()}-core machine, so the load generator competes with the "
        f"{WORKERS} workers for CPU (it used {client_cpu / max(load_seconds, 1e-9):.2f} of the "
        f"{os.cpu_count()} cores on average"
        f"{'' if wrk else ', not counted for the Python generator'}): absolute numbers are "
        "lower than with a client on another machine. 'server CPU ms/req' is the user + "
        "system CPU time of all the server's processes during the measured runs divided by "
        "the requests served: less sensitive to other load on the machine than req/s. "
        "Each request loads the session (PAYLOAD: 5 keys + a counter) and writes it back with "
        "the counter incremented; 'writes read back' is the total growth of the counters, "
        "read over HTTP after each round, and 'lost' counts 200 responses whose write is "
        "missing plus non-200 answers. Configuration: "
        + "; ".join(f"**{c.label}**: {c.config}" for c in contenders)
        + "."
    )
    print()
    print_table(columns, rows)
    results.table("Throughput with a session write per request", columns, rows, note)

    by_key = {c.key: c for c in contenders}
    cpu_per_request = {c.key: row[7] for c, row in zip(contenders, rows, strict=True)}

    def ratios(ours: str, theirs: str) -> list[float]:
        """req/s of ours / theirs, round by round (the two run back to back in each round)."""
        pairs = zip(by_key[ours].rounds, by_key[theirs].rounds, strict=True)
        return [a["rps"] / b["rps"] for a, b in pairs]

    ratio_columns = ["ours", "theirs", "req/s ratio", "per round", "CPU/req ratio", "comparison"]
    ratio_rows = []
    for ours, theirs, what in PAIRS:
        if ours in by_key and theirs in by_key:
            each = ratios(ours, theirs)
            cpu_ratio = cpu_per_request[theirs] / cpu_per_request[ours]
            ratio_rows.append(
                [
                    by_key[ours].label,
                    by_key[theirs].label,
                    round(statistics.median(each), 2),
                    ", ".join(f"{x:.2f}" for x in each),
                    round(cpu_ratio, 2),
                    what,
                ]
            )
    print()
    print_table(ratio_columns, ratio_rows)
    results.table(
        "Throughput ratios, same run",
        ratio_columns,
        ratio_rows,
        "req/s ratio: the median over the rounds of ours / theirs, the two measured in the same "
        "round, seconds apart ('per round' lists them); CPU/req ratio: theirs / ours "
        "server CPU per request (above 1: ours uses less CPU per request).",
    )

    for ours, theirs, name in [
        ("ours-wsgi-db", "django-db", "plain WSGI + ours (db) vs Django (db), gunicorn"),
        ("flask-ours-db", "django-db", "Flask + ours (db) vs Django (db), gunicorn"),
    ]:
        if ours not in by_key or theirs not in by_key:
            continue
        each = ratios(ours, theirs)
        ratio = statistics.median(each)
        tuned = (
            f"; against Django tuned to WAL + a persistent connection: "
            f"{statistics.median(ratios(ours, 'django-db-wal')):.2f}x"
            if "django-db-wal" in by_key
            else ""
        )
        results.target(
            f"Throughput with a session write per request >= 2x Django's: {name}",
            ratio,
            2.0,
            f"median of the per-round ratios ({', '.join(f'{x:.2f}' for x in each)}); "
            f"{summary[ours]:.0f} vs {summary[theirs]:.0f} req/s, server CPU "
            f"{cpu_per_request[ours]} vs {cpu_per_request[theirs]} ms per request, "
            f"{WORKERS} gunicorn sync workers each, {CONNECTIONS} connections, Django with its "
            f"defaults{tuned}",
            at_most=False,
        )
        met = "met" if ratio >= 2.0 else "NOT met"
        print(f"target >= 2x: {name}: {ratio:.2f}x ({met}){tuned}")
    if "django-db" in by_key and "django-db-wal" in by_key:
        default, wal = by_key["django-db"], by_key["django-db-wal"]
        p99 = statistics.median(x["p99_ms"] for x in default.rounds)
        results.note(
            "The target compares against Django's defaults, as the issue asks: on sqlite that "
            "is the rollback journal, SQLite's default synchronous=FULL and a new database "
            f"connection per request ({summary[default.key]:.0f} req/s, p99 {p99:.0f} ms, "
            f"{cpu_per_request[default.key]} ms of server CPU per request here). The row "
            "'Django, db, WAL (tuned)' gives Django the storage settings of our db engine (WAL, "
            "synchronous=NORMAL) and a persistent connection "
            f"({summary[wal.key]:.0f} req/s, {cpu_per_request[wal.key]} ms CPU per request): "
            "the ratios against it compare the two code paths on equal storage."
        )
    if not have_redis:
        results.note("Redis was not reachable at 127.0.0.1:6379: the redis rows were skipped.")
    results.write(args.out)


def print_table(columns: list[str], rows: list[list[Any]]) -> None:
    widths = [
        max(len(str(x)) for x in [col] + [r[i] for r in rows]) for i, col in enumerate(columns)
    ]
    for line in [columns, *rows]:
        print("  ".join(str(x).rjust(w) if isinstance(x, (int, float)) else str(x).ljust(w)
                        for x, w in zip(line, widths, strict=True)))  # fmt: skip


if __name__ == "__main__":
    main()
