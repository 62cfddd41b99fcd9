"""Load test: real servers at saturation with a session write on every request, then workers
SIGKILLed under load; afterwards every session must load and every counter must add up.

For each server (gunicorn for WSGI, uvicorn for ASGI, 2 worker processes each) and each
engine (db, file, redis) it starts the server on ``bench/load/app.py``, creates one
session per simulated browser, then runs two phases against the same sessions:

* **steady**: ``--seconds`` (60) at saturation, ``--sessions`` (16) browsers in
  ``--clients`` (2) load-generator processes, each browser sending its next request as
  soon as the last is answered. Every answer must be a 200 and, once the browsers have
  stopped, every session's stored counter must equal the last counter the server
  acknowledged to it: exact, since nothing failed.
* **kill**: ``--kill-seconds`` (20) more, during which a worker process is SIGKILLed
  ``--kills`` (4) times (the server respawns it). Requests in flight on a killed worker
  fail at the connection level and are counted apart from 5xx. Afterwards every session
  must load and decode, keep its payload, and hold a counter at least the last one
  acknowledged and at most that plus the requests that failed since.

It prints one table (requests, 5xx, connection errors, p50/p99 latency, the counter
check) and exits non-zero if any check failed.

    python bench/load/load_test.py [--seconds 60] [--kill-seconds 20] [--kills 4]
        [--servers gunicorn,uvicorn] [--engines db,file,redis] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

LOAD = Path(__file__).resolve().parent
BENCH = LOAD.parent
sys.path.insert(0, str(BENCH))

from harness import PAYLOAD  # noqa: E402
from harness.servers import (  # noqa: E402
    children,
    free_port,
    group_cpu,
    http_get,
    server_env,
    start_server,
    stop_server,
)
from harness.services import redis_available, redis_cleanup  # noqa: E402

import sessionware  # noqa: E402
from load.app import COOKIE, settings  # noqa: E402

PYCACHE = Path(tempfile.gettempdir()) / "sessionware-load-pycache"


@dataclass
class Run:
    """One server on one engine, and what its two phases measured."""

    server: str
    engine: str
    tmp: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)
    sessions: list[tuple[str, int]] = field(default_factory=list)  # (key, counter)
    phases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.server}/{self.engine}"


# -- servers ---------------------------------------------------------------------------------


def env_of(run: Run, redis_prefix: str) -> dict[str, str]:
    (run.tmp / "files").mkdir(exist_ok=True)
    return server_env(
        PYCACHE,
        LOAD_ENGINE=run.engine,
        LOAD_DB_PATH=str(run.tmp / "sessions.sqlite3"),
        LOAD_FILE_DIR=str(run.tmp / "files"),
        LOAD_REDIS_PREFIX=redis_prefix,
    )


def command(run: Run, workers: int, worker_class: str) -> list[str]:
    if run.server == "gunicorn":
        extra = ["--threads", "4"] if worker_class == "gthread" else []
        return [
            sys.executable, "-m", "gunicorn", "--workers", str(workers),
            "--worker-class", worker_class, *extra, "--bind", f"127.0.0.1:{run.port}",
            "--log-level", "warning", "--graceful-timeout", "5", "load.app:wsgi",
        ]  # fmt: skip
    # uvicorn's own CLI, with the TCP_NODELAY workaround the throughput benchmark uses
    return [
        sys.executable, "-m", "apps.uvicorn_nodelay", "load.app:asgi", "--workers",
        str(workers), "--host", "127.0.0.1", "--port", str(run.port), "--no-access-log",
        "--log-level", "warning", "--timeout-graceful-shutdown", "5",
    ]  # fmt: skip


def start(run: Run, workers: int, worker_class: str) -> None:
    run.port = free_port()
    run.proc = start_server(command(run, workers, worker_class), run.env, run.tmp / "server.log")


def server_log(run: Run) -> str:
    return (run.tmp / "server.log").read_text(errors="replace")[-3000:]


def get(port: int, path: str = "/", cookie: str | None = None) -> tuple[int, str, str | None]:
    """One request: status, body, and the session key of a Set-Cookie (if any)."""
    status, body, set_cookie = http_get(
        port, path, f"{COOKIE}={cookie}" if cookie else None, timeout=30
    )
    return status, body, set_cookie.removeprefix(f"{COOKIE}=") if set_cookie else None


def wait_ready(run: Run, workers: int, timeout: float = 60) -> None:
    """Until the server answers, and every worker is up."""
    assert run.proc is not None
    deadline = time.monotonic() + timeout
    while True:
        if run.proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{run.label}: the server did not come up:\n{server_log(run)}")
        try:
            if get(run.port, "/ping")[0] == 200 and len(worker_pids(run)) == workers:
                return
        except OSError:
            pass
        time.sleep(0.1)


def worker_pids(run: Run) -> list[int]:
    """The server's worker processes: the master's children, minus multiprocessing helpers."""
    assert run.proc is not None
    return children(run.proc.pid)


# -- sessions and clients --------------------------------------------------------------------


def create_sessions(run: Run, count: int) -> None:
    for _ in range(count):
        status, body, key = get(run.port)
        if status != 200 or body != "1" or not key:
            raise SystemExit(f"{run.label}: creating a session answered {status} {body!r}")
        run.sessions.append((key, 1))


def drive(run: Run, seconds: float, clients: int) -> dict[str, Any]:
    """Run the load generator processes; their merged results."""
    shares = [run.sessions[i::clients] for i in range(clients)]
    procs = []
    for index, share in enumerate(shares):
        keys = run.tmp / f"keys-{index}.txt"
        keys.write_text("".join(f"{k},{c}\n" for k, c in share))
        argv = [sys.executable, str(LOAD / "client.py"), "--port", str(run.port)]
        argv += ["--keys", str(keys), "--seconds", str(seconds)]
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(PYCACHE)}
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, env=env))
    return {"procs": procs}


def collect(job: dict[str, Any], seconds: float) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sessions: list[dict[str, Any]] = []
    latencies: list[int] = []
    timeline: list[int] = []
    elapsed = 0.0
    for proc in job["procs"]:
        out, _ = proc.communicate(timeout=seconds + 120)
        if proc.returncode != 0:
            raise SystemExit(f"a load generator failed (exit {proc.returncode})")
        part = json.loads(out)
        sessions += part["sessions"]
        latencies += part["latencies_us"]
        timeline = [a + b for a, b in zip_longest(timeline, part["timeline"], fillvalue=0)]
        elapsed = max(elapsed, part["elapsed"])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {
        "sessions": sessions,
        "latencies": sorted(latencies),
        "elapsed": elapsed,
        "client_cpu": cpu,
        "timeline": timeline,
    }


def kill_workers(run: Run, seconds: float, kills: int, workers: int) -> list[dict[str, Any]]:
    """SIGKILL a worker ``kills`` times, evenly over ``seconds``; each waits for the respawn."""
    done = []
    began = time.monotonic()
    for index in range(kills):
        time.sleep(max(0.0, began + seconds * (index + 1) / (kills + 1) - time.monotonic()))
        pids = worker_pids(run)
        if not pids:
            done.append({"at": time.monotonic() - began, "pid": None, "respawned_s": None})
            continue
        victim = random.choice(pids)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        respawned = None
        while time.monotonic() - killed_at < 15:
            alive = [p for p in worker_pids(run) if p != victim]
            if len(alive) >= workers:
                respawned = time.monotonic() - killed_at
                break
            time.sleep(0.02)
        done.append({"at": round(killed_at - began, 2), "pid": victim, "respawned_s": respawned})
    return done


# -- checking the store ----------------------------------------------------------------------


def check_store(run: Run, results: dict[str, Any], exact: bool) -> dict[str, Any]:
    """Load every session straight from the store and hold its counter against the client's."""
    options = settings(run.env)
    engine = sessionware.get_engine(options.pop("engine"), **options)
    serializer = sessionware.get_serializer("json")
    corrupt, mismatches = [], []
    try:
        for tally in results["sessions"]:
            key = tally["key"]
            raw = engine.load(key)
            if raw is None:
                corrupt.append(f"{key[:8]}: missing")
                continue
            try:
                data = serializer.loads(raw)
            except sessionware.SerializationError as exc:
                corrupt.append(f"{key[:8]}: does not decode: {exc}")
                continue
            counter = data.pop("counter", None)
            expected_payload = {k: v for k, v in PAYLOAD.items() if k != "counter"}
            if data != expected_payload or type(counter) is not int:
                corrupt.append(f"{key[:8]}: payload changed: {data!r:.120}")
                continue
            # Writes this phase: at least the 200s, at most the requests sent; and, tighter,
            # the last acknowledged counter plus at most the requests that failed since.
            writes = counter - tally["start"]
            low, high = tally["last"], tally["last"] + tally["uncertain"]
            if (
                not tally["ok"] <= writes <= tally["sent"]
                or not low <= counter <= high
                or (exact and (counter != tally["last"] or writes != tally["ok"]))
            ):
                mismatches.append(
                    f"{key[:8]}: stored {counter} ({writes} writes this phase), "
                    f"{tally['ok']} answered 200 of {tally['sent']} sent, last acknowledged "
                    f"{tally['last']}, {tally['uncertain']} failed since"
                )
    finally:
        engine.close()
    return {"checked": len(results["sessions"]), "corrupt": corrupt, "mismatches": mismatches}


# -- one server on one engine ----------------------------------------------------------------


def percentile(ordered: list[int], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] / 1000


def summarize(
    run: Run, phase: str, results: dict[str, Any], check: dict[str, Any], cpu: float | None,
    kills: list[dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    tallies = results["sessions"]

    def total(name: str) -> int:
        return sum(int(t[name]) for t in tallies)

    summary = {
        "server": run.server,
        "engine": run.engine,
        "phase": phase,
        "seconds": round(results["elapsed"], 1),
        "sent": total("sent"),
        "ok": total("ok"),
        "status_5xx": total("status_5xx"),
        "status_other": total("status_other"),
        "lost": total("lost"),
        "conn_errors": total("conn_errors"),
        "connect_refused": total("connect_refused"),
        "applied_unacknowledged": total("applied_unacknowledged"),
        "regressions": total("regressions"),
        "jumps": total("jumps"),
        "key_changes": total("key_changes"),
        "rps": total("ok") / results["elapsed"] if results["elapsed"] else 0.0,
        "p50_ms": percentile(results["latencies"], 0.50),
        "p99_ms": percentile(results["latencies"], 0.99),
        "server_cores": cpu / results["elapsed"] if cpu is not None else None,
        "client_cores": results["client_cpu"] / results["elapsed"],
        "kills": kills,
        "timeline": results["timeline"],
        "checked": check["checked"],
        "corrupt": check["corrupt"],
        "mismatches": check["mismatches"],
        "samples": [s for t in tallies for s in t["samples"]][:10],
    }
    problems = []
    if summary["status_5xx"]:
        problems.append(f"{summary['status_5xx']} 5xx")
    for name in ("status_other", "regressions", "jumps", "key_changes"):
        if summary[name]:
            problems.append(f"{summary[name]} {name}")
    if phase == "steady" and (summary["conn_errors"] or summary["connect_refused"]):
        problems.append("connection errors without any kill")
    if check["corrupt"]:
        problems.append(f"{len(check['corrupt'])} corrupt sessions")
    if check["mismatches"]:
        problems.append(f"{len(check['mismatches'])} counter mismatches")
    if phase == "kill" and any(k["respawned_s"] is None for k in kills):
        problems.append("a killed worker was not replaced within 15 s")
    summary["problems"] = problems
    return summary


def run_one(run: Run, args: argparse.Namespace, redis_prefix: str) -> None:
    run.env = env_of(run, redis_prefix)
    start(run, args.workers, args.worker_class)
    try:
        wait_ready(run, args.workers)
        create_sessions(run, args.sessions)
        print(f"{run.label}: up on port {run.port}, {args.sessions} sessions", flush=True)

        if args.warmup:
            warm = collect(drive(run, args.warmup, args.clients), args.warmup)
            run.sessions = [(t["key"], t["last"]) for t in warm["sessions"]]
        cpu_before = group_cpu(run.proc.pid)
        job = drive(run, args.seconds, args.clients)
        results = collect(job, args.seconds)
        cpu = group_cpu(run.proc.pid) - cpu_before
        time.sleep(0.2)
        check = check_store(run, results, exact=True)
        run.phases.append(summarize(run, "steady", results, check, cpu, []))
        report_phase(run.phases[-1])
        run.sessions = [(t["key"], t["last"]) for t in results["sessions"]]

        if args.kills:
            job = drive(run, args.kill_seconds, args.clients)
            kills = kill_workers(run, args.kill_seconds, args.kills, args.workers)
            results = collect(job, args.kill_seconds)
            time.sleep(0.2)
            check = check_store(run, results, exact=False)
            run.phases.append(summarize(run, "kill", results, check, None, kills))
            report_phase(run.phases[-1])
    finally:
        stop_server(run.proc, timeout=20)


def report_phase(p: dict[str, Any]) -> None:
    cores = f", CPU: client {p['client_cores']:.2f} cores"
    if p["server_cores"] is not None:
        cores += f", server {p['server_cores']:.2f} cores"
    kills = f", {len(p['kills'])} workers killed" if p["kills"] else ""
    print(
        f"  {p['phase']:6s} {p['seconds']:5.1f} s  {p['ok']:7d} ok  {p['rps']:7.0f} req/s  "
        f"p50 {p['p50_ms']:.2f} ms  p99 {p['p99_ms']:.2f} ms  5xx {p['status_5xx']}  "
        f"conn errors {p['conn_errors']}{kills}{cores}  "
        f"{'OK' if not p['problems'] else 'PROBLEMS: ' + '; '.join(p['problems'])}",
        flush=True,
    )
    print(f"         responses per second: {' '.join(str(n) for n in p['timeline'])}")
    for line in (p["corrupt"] + p["mismatches"])[:10]:
        print(f"    {line}")
    if p["problems"]:
        for line in p["samples"]:
            print(f"    sample: {line}")


# -- the whole test --------------------------------------------------------------------------


def table(phases: list[dict[str, Any]]) -> str:
    columns = ["server", "engine", "phase", "s", "requests", "200", "5xx", "other", "conn err",
               "written unacked", "kills", "req/s", "p50 ms", "p99 ms", "sessions", "corrupt",
               "counters"]  # fmt: skip
    rows = []
    for p in phases:
        counters = "exact" if p["phase"] == "steady" else "in range"
        if p["mismatches"]:
            counters = f"{len(p['mismatches'])} MISMATCH"
        rows.append(
            [p["server"], p["engine"], p["phase"], f"{p['seconds']:.0f}", str(p["sent"]),
             str(p["ok"]), str(p["status_5xx"]), str(p["status_other"]),
             str(p["conn_errors"] + p["connect_refused"]), str(p["applied_unacknowledged"]),
             str(len(p["kills"])),
             f"{p['rps']:.0f}", f"{p['p50_ms']:.2f}", f"{p['p99_ms']:.2f}", str(p["checked"]),
             str(len(p["corrupt"])), counters]
        )  # fmt: skip
    widths = [max(len(r[i]) for r in [columns, *rows]) for i in range(len(columns))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    return "\n".join(lines)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="steady phase (default 60)")
    parser.add_argument("--warmup", type=float, default=5, help="unmeasured, first (5 s)")
    parser.add_argument("--kill-seconds", type=float, default=20, help="kill phase (default 20)")
    parser.add_argument("--kills", type=int, default=4, help="workers killed (0: no kill phase)")
    parser.add_argument("--sessions", type=int, default=16, help="concurrent browsers (16)")
    parser.add_argument("--clients", type=int, default=2, help="load generator processes (2)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"],
                        help="gunicorn worker class (sync)")  # fmt: skip
    parser.add_argument("--servers", default="gunicorn,uvicorn")
    parser.add_argument("--engines", default="db,file,redis")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    servers = [s for s in args.servers.split(",") if s]
    engines = [e for e in args.engines.split(",") if e]
    unknown = set(servers) - {"gunicorn", "uvicorn"} | set(engines) - {"db", "file", "redis"}
    if unknown:
        raise SystemExit(f"unknown server or engine: {', '.join(sorted(unknown))}")
    if "redis" in engines and not redis_available():
        raise SystemExit("no Redis at 127.0.0.1:6379: start one or pass --engines db,file")
    prefix = f"sessionware-load-{os.getpid()}-{secrets.token_hex(4)}:"
    began = time.monotonic()
    print(
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, python "
        f"{sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f} at start; "
        f"{args.workers} workers per server (gunicorn {args.worker_class}), {args.sessions} "
        f"browsers in {args.clients} client processes; steady {args.seconds:g} s, then "
        f"{args.kills} kills in {args.kill_seconds:g} s",
        flush=True,
    )
    runs: list[Run] = []
    try:
        for server in servers:
            for engine in engines:
                run = Run(server, engine, Path(tempfile.mkdtemp(prefix="sessionware-load-")))
                runs.append(run)
                try:
                    run_one(run, args, f"{prefix}{server}:")
                finally:
                    shutil.rmtree(run.tmp, ignore_errors=True)
    finally:
        if "redis" in engines:
            redis_cleanup(prefix)
    phases = [p for r in runs for p in r.phases]
    print()
    print(table(phases))
    print(
        f"\n{len(phases)} phases in {time.monotonic() - began:.0f} s; load average "
        f"{os.getloadavg()[0]:.2f} at the end"
    )
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "phases": phases}, indent=1, default=str))  # fmt: skip
    failed = [f"{p['server']}/{p['engine']}/{p['phase']}: {'; '.join(p['problems'])}"
              for p in phases if p["problems"]]  # fmt: skip
    if failed:
        print("\nFAILED:\n  " + "\n  ".join(failed))
        raise SystemExit(1)
    print("every check passed")


if __name__ == "__main__":
    main()
