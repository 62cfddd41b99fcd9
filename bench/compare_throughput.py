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

The contenders live in ``bench/scenarios/throughput_contenders.py``, the servers, the
load and the tables in ``bench/scenarios/throughput_{servers,load,report}.py``.

    python bench/compare_throughput.py [--quick]
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from harness.results import Results, arguments, machine_line, version
from harness.servers import stop_server
from harness.services import redis_available, redis_cleanup, redis_version
from scenarios.throughput_contenders import CONTENDERS, Server
from scenarios.throughput_load import measure_round, run_python, run_wrk
from scenarios.throughput_report import Run, main_table, ratio_table, targets
from scenarios.throughput_servers import CONNECTIONS, WORKERS, prime_bytecode, start_all, wait_ready

VERSIONS = (
    "sessionware", "sessionware-db", "sessionware-redis", "sessionware-signed-cookies",
    "sessionware-json", "django", "flask", "werkzeug", "starlette", "itsdangerous", "redis",
    "gunicorn", "uvicorn", "h11", "httptools", "uvloop",
)  # fmt: skip


def load_generator() -> tuple[str | None, str]:
    """wrk's path (None: the Python fallback) and why there is none."""
    wrk = shutil.which("wrk") or ("/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else None)
    if os.environ.get("BENCH_LOADGEN") == "python":  # development aid: test the fallback
        return None, "BENCH_LOADGEN=python"
    return wrk, "wrk was not found"


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    return (done.stdout + done.stderr).split("Copyright")[0].strip() or "?"


def measure(run: Run, contenders: list[Server], tmp: Path, prefix: str, quick: bool) -> None:
    """Start every server, then the rounds: every contender in turn, the order reversed."""
    pool = None if run.wrk else ProcessPoolExecutor(max_workers=CONNECTIONS)

    def load(c: Server, s: int) -> dict[str, Any]:
        return run_wrk(c, s, tmp, run.wrk) if run.wrk else run_python(c, s, pool)  # type: ignore[arg-type]

    began = time.monotonic()
    try:
        prime_bytecode(tmp)
        start_all(contenders, tmp, prefix)
        deadline = time.monotonic() + 60
        for c in contenders:
            wait_ready(c, deadline)
        print(f"{len(contenders)} servers up after {time.monotonic() - began:.1f} s", flush=True)
        order = list(contenders)
        for r in range(run.rounds):
            for c in order:
                warm = run.warm_first if r == 0 else 0
                res = measure_round(c, warm, run.seconds, load, 0.1 if quick else 0.3)
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
            stop_server(c.proc)
        if pool is not None:
            pool.shutdown()


def main() -> None:
    args = arguments((__doc__ or "").split("\n\n")[0])
    wrk, why = load_generator()
    uvicorn_impl = (
        f"{'httptools' if version('httptools') != 'not installed' else 'h11'} + "
        f"{'uvloop' if version('uvloop') != 'not installed' else 'asyncio'}"
    )
    rounds, seconds, warm = (1, 1, 0) if args.quick else (3, 3, 2)
    run = Run(rounds, seconds, warm, wrk, why, uvicorn_impl)
    title = "Throughput over HTTP with a session write on every request"
    results = Results("bench/compare_throughput.py", title, quick=args.quick)
    results.versions(*VERSIONS)
    results.data["versions"]["load generator"] = wrk_version(wrk) if wrk else "python"
    contenders = list(CONTENDERS)
    if only := os.environ.get("BENCH_ONLY"):  # development aid: BENCH_ONLY=key,key
        contenders = [c for c in contenders if c.key in only.split(",")]
    have_redis = redis_available()
    if not have_redis:
        contenders = [c for c in contenders if c.engine != "redis"]
    generator = "wrk" if wrk else f"python processes ({why})"
    print(
        f"{machine_line()}; python {sys.version.split()[0]}\n{WORKERS} worker processes per "
        f"server (gunicorn sync workers / uvicorn {uvicorn_impl}), {CONNECTIONS} connections "
        f"each with its own session, load generator: {generator} on the same machine; "
        f"{rounds} round(s) x {seconds} s per contender, interleaved"
    )
    tmp = Path(tempfile.mkdtemp(prefix="sessionware-throughput-"))
    prefix = f"sessionware-bench-throughput-{os.getpid()}-{secrets.token_hex(4)}:"
    try:
        measure(run, contenders, tmp, prefix, args.quick)
    finally:
        note = ""
        if have_redis:
            results.data["versions"]["redis server"] = redis_version()
            note = f"; deleted {redis_cleanup(prefix)} redis keys"
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"servers stopped, temp files removed{note}")
    main_table(results, run, contenders)
    by_key = {c.key: c for c in contenders}
    ratio_table(results, by_key)
    targets(results, by_key)
    if not have_redis:
        results.note("Redis was not reachable at 127.0.0.1:6379: the redis rows were skipped.")
    results.write(args.out)


if __name__ == "__main__":
    main()
