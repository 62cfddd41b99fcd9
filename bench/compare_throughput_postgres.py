"""Throughput over real HTTP with a session write per request, on PostgreSQL: sessionware's
WSGI middleware (engine="postgres") vs Django's SessionMiddleware (backends.db on
backends.postgresql), both under gunicorn. Issue 13's target: >= 2x Django's req/s.

The same method as ``bench/compare_throughput.py`` (its servers, load and read-back, from
``bench/scenarios/throughput_*.py``): every contender answers ``GET /`` by storing
``PAYLOAD`` in a new session once, then incrementing ``session["counter"]``, so every
request loads and saves its session. Each runs under gunicorn with the same number of sync
workers; one session is created per connection, then the load generator (wrk with
``apps/replay_cookie.lua`` if installed, else one Python process per connection) runs for a
fixed time, the contenders interleaved and the order reversed every round. After each round
every session's counter is read back over HTTP, so the writes really happened.

Contenders, all on one PostgreSQL (``SESSIONWARE_BENCH_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``), each in a schema of its own that is
dropped at the end:

- ours: ``apps/ours_wsgi_postgres.py``, ``WSGISessionMiddleware(engine="postgres", url=...,
  schema=...)``, the engine's defaults (a pool per worker, json, logged table);
- Django: ``apps/django_postgres.py``, Django's defaults (``CONN_MAX_AGE=0``: a new
  connection per request) -- the target's reference;
- Django, persistent: the same with ``CONN_MAX_AGE=None`` (not Django's default), shown
  beside so the ratio on equal connection handling is known too.

    .venv/bin/python bench/compare_throughput_postgres.py [--quick] [--out DIR]

``--out DIR`` writes ``DIR/compare_throughput_postgres.json``; without it nothing is written.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
from harness.results import Results, machine_line, parser
from harness.servers import BENCH, free_port, server_env, start_server, stop_server
from psycopg import sql
from scenarios.throughput_contenders import Server
from scenarios.throughput_load import measure_round, run_python, run_wrk
from scenarios.throughput_servers import CONNECTIONS, WORKERS, command, wait_ready

URL = os.environ.get("SESSIONWARE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
VERSIONS = ("sessionware", "sessionware-postgres", "django", "psycopg", "psycopg-pool", "gunicorn")
TARGET = 2.0


def contenders(tag: str) -> list[Server]:
    ours_schema, django_schema = f"swbench_tp_{tag}", f"swbench_tp_django_{tag}"
    django_env = {"BENCH_POSTGRES_SCHEMA": django_schema}
    return [
        Server(
            "django-pg", "Django, db on PostgreSQL", "gunicorn", "apps.django_postgres:application",
            "db", "Django's defaults: backends.db, CONN_MAX_AGE=0 (a connection per request)",
            ours=False, env=django_env,
        ),
        Server(
            "ours-wsgi-pg", "ours WSGI, postgres", "gunicorn", "apps.ours_wsgi_postgres:app",
            "postgres", "WSGISessionMiddleware(engine='postgres', url=..., schema=...), defaults",
            ours=True, env={"BENCH_POSTGRES_SCHEMA": ours_schema},
        ),
        Server(
            "django-pg-persistent", "Django, db on PostgreSQL, persistent conn",
            "gunicorn", "apps.django_postgres:application", "db",
            "NOT Django's default: CONN_MAX_AGE=None (one connection per worker)",
            ours=False, env={**django_env, "BENCH_DJANGO_PERSISTENT": "1"},
        ),
    ]  # fmt: skip


def env_of(c: Server, secret: str) -> dict[str, str]:
    return server_env(BENCH_POSTGRES_URL=URL, BENCH_SECRET=secret, **c.env)


def prepare(servers: list[Server], secret: str) -> None:
    """Create ours' schema + table and Django's schema + migrated sessions table."""
    ours = next(c for c in servers if c.ours).env["BENCH_POSTGRES_SCHEMA"]
    make = [sys.executable, "-m", "sessionware_postgres", "create-schema", "--url", URL]
    subprocess.run([*make, "--schema", ours], check=True, capture_output=True)
    django = next(c for c in servers if not c.ours)
    with psycopg.connect(URL, autocommit=True) as conn:
        schema = django.env["BENCH_POSTGRES_SCHEMA"]
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    migrate = [sys.executable, "-m", "apps.django_postgres", "migrate", "sessions"]
    subprocess.run(
        [*migrate, "--verbosity", "0"], env=env_of(django, secret), cwd=BENCH, check=True
    )


def drop(servers: list[Server]) -> int:
    schemas = sorted({c.env["BENCH_POSTGRES_SCHEMA"] for c in servers})
    with psycopg.connect(URL, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    return len(schemas)


def ratios(a: Server, b: Server) -> list[float]:
    return [x["rps"] / y["rps"] for x, y in zip(a.rounds, b.rounds, strict=True)]


def main() -> int:
    options = parser((__doc__ or "").split("\n\n")[0])
    options.set_defaults(out=None)  # no JSON unless --out is given
    args = options.parse_args()
    try:
        with psycopg.connect(URL, connect_timeout=3) as conn:
            server = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            sync = str(conn.execute("SHOW synchronous_commit").fetchone()[0])  # type: ignore[index]
    except psycopg.Error as exc:
        print(f"skipped: no PostgreSQL at {URL} ({exc})", file=sys.stderr)
        return 0
    wrk = shutil.which("wrk")
    rounds, seconds, warm = (1, 1, 0) if args.quick else (5, 5, 2)
    servers = contenders(uuid.uuid4().hex[:10])
    secret = "bench-" + secrets.token_hex(24)
    print(
        f"{machine_line()}; python {sys.version.split()[0]}; PostgreSQL {server} at {URL}, "
        f"synchronous_commit={sync}\n{WORKERS} gunicorn sync workers per server, {CONNECTIONS} "
        f"connections each with its own session, load generator: "
        f"{'wrk' if wrk else 'python processes (wrk was not found)'} on the same machine; "
        f"{rounds} round(s) x {seconds} s per contender after a {warm} s warm-up, interleaved"
    )
    tmp = Path(tempfile.mkdtemp(prefix="sessionware-throughput-pg-"))
    pool = None if wrk else ProcessPoolExecutor(max_workers=CONNECTIONS)

    def load(c: Server, s: int) -> dict[str, Any]:
        return run_wrk(c, s, tmp, wrk) if wrk else run_python(c, s, pool)  # type: ignore[arg-type]

    started = time.monotonic()
    try:
        prepare(servers, secret)
        for c in servers:
            c.port, c.log = free_port(), tmp / f"{c.key}.log"
            c.proc = start_server(command(c), env_of(c, secret), c.log)
        deadline = time.monotonic() + 60
        for c in servers:
            wait_ready(c, deadline)
        order = list(servers)
        for r in range(rounds):
            for c in order:
                res = measure_round(
                    c, warm if r == 0 else 0, seconds, load, 0.1 if args.quick else 0.3
                )
                c.rounds.append(res)
                print(
                    f"  round {r + 1}  {c.label:42s} {res['rps']:7.0f} req/s  p50 "
                    f"{res['p50_ms']:6.2f} ms  p99 {res['p99_ms']:6.2f} ms  errors "
                    f"{res['socket_errors'] + res['non200']}  lost writes {res['lost']}",
                    flush=True,
                )
            order.reverse()
    finally:
        for c in servers:
            stop_server(c.proc)
        if pool is not None:
            pool.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"servers stopped, dropped {drop(servers)} schemas, temp files removed")

    results = Results(
        "bench/compare_throughput_postgres.py", "Throughput on PostgreSQL", quick=args.quick
    )
    results.versions(*VERSIONS, sqlite=False)
    results.data["versions"]["postgresql"] = server
    results.data["versions"]["load generator"] = "wrk" if wrk else "python"
    columns = [
        "contender",
        "req/s",
        "min-max",
        "p50 ms",
        "p99 ms",
        "app CPU ms/req",
        "errors",
        "writes (lost)",
    ]
    rows = []
    for c in servers:
        rps = [x["rps"] for x in c.rounds]
        requests = sum(x["requests"] for x in c.rounds)
        c.rps_median = statistics.median(rps)
        c.cpu_ms = round(sum(x["server_cpu"] for x in c.rounds) / max(1, requests) * 1000, 3)
        rows.append([
            c.label, round(c.rps_median), f"{min(rps):.0f}-{max(rps):.0f}",
            round(statistics.median(x["p50_ms"] for x in c.rounds), 2),
            round(statistics.median(x["p99_ms"] for x in c.rounds), 2), c.cpu_ms,
            sum(x["socket_errors"] + x["non200"] for x in c.rounds),
            f"{sum(x['writes'] for x in c.rounds)} ({sum(x['lost'] for x in c.rounds)})",
        ])  # fmt: skip
    print()
    for row in [columns, *rows]:
        print("  ".join(f"{x!s:>14}" if i else f"{x!s:42}" for i, x in enumerate(row)))
    note = "; ".join(f"{c.label}: {c.config}" for c in servers)
    results.table("Throughput on PostgreSQL, session write per request", columns, rows, note)
    ours, django, persistent = servers[1], servers[0], servers[2]
    print()
    for theirs in (django, persistent):
        each = ratios(ours, theirs)
        ratio = statistics.median(each)
        per_round = ", ".join(f"{x:.2f}" for x in each)
        print(f"ours / {theirs.label}: {ratio:.2f}x (per round {per_round})")
        if theirs is django:
            results.target(
                "Throughput with a session write per request >= 2x Django's, PostgreSQL, gunicorn",
                ratio, TARGET,
                f"median of per-round ratios ({per_round}); {ours.rps_median:.0f} vs "
                f"{django.rps_median:.0f} req/s, {WORKERS} gunicorn sync workers, {CONNECTIONS} "
                "connections, Django's defaults",
                at_most=False,
            )  # fmt: skip
            met = "met" if ratio >= TARGET else "NOT met"
            print(f"target >= {TARGET:.0f}x Django (defaults): {ratio:.2f}x ({met})")
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    if args.out is not None:
        results.write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
