"""The throughput comparison's load: wrk (or Python processes) against one server, a round.

``wrk`` runs ``bench/apps/replay_cookie.lua``: one connection per thread, each
replaying its own session cookie and taking the new value of any ``Set-Cookie``.
Without wrk, ``CONNECTIONS`` Python processes do the same with ``http.client``.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from harness.servers import BENCH, group_cpu

from scenarios.throughput_contenders import Server
from scenarios.throughput_servers import CONNECTIONS, read_back

LUA = BENCH / "apps" / "replay_cookie.lua"
Load = Callable[[Server, int], dict[str, Any]]


def run_wrk(c: Server, seconds: int, tmp: Path, wrk: str) -> dict[str, Any]:
    """``seconds`` of wrk on ``c``; what it counted (requests, latency, errors, answers)."""
    cookie_file = tmp / f"{c.key}.cookies"
    cookie_file.write_text("\n".join(c.cookies) + "\n")
    n = str(CONNECTIONS)
    argv = [wrk, "-t", n, "-c", n, "-d", f"{seconds}s", "--timeout", "5s", "-s", str(LUA)]
    done = subprocess.run(
        [*argv, f"http://127.0.0.1:{c.port}/"],
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


def run_python(c: Server, seconds: int, pool: ProcessPoolExecutor) -> dict[str, Any]:
    """The fallback: one Python process per connection, the same counts as wrk's."""
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


def measure_round(c: Server, warm: int, seconds: int, load: Load, settle: float) -> dict[str, Any]:
    """One round of one contender: warm-up, counters read, load, counters read again."""
    assert c.proc is not None
    if warm:
        load(c, warm)
    before = read_back(c)
    cpu = group_cpu(c.proc.pid)
    client = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = load(c, seconds)
    cpu = group_cpu(c.proc.pid) - cpu
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
