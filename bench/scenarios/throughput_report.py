"""The throughput comparison's output: the main table, the ratios, the targets, the notes."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from typing import Any

from harness.results import Results, version

from scenarios.throughput_contenders import PAIRS, Server
from scenarios.throughput_servers import CONNECTIONS, WORKERS

PANEL = "Throughput, session write per request (req/s)"
COLUMNS = ["contender", "server", "workers", "req/s", "min-max", "p50 ms", "p99 ms"]
COLUMNS += ["server CPU ms/req", "errors", "writes read back"]
RATIO_COLUMNS = ["ours", "theirs", "req/s ratio", "per round", "CPU/req ratio", "comparison"]
#: The issue's targets: (ours, theirs, what), each >= 2x Django's req/s.
TARGETS = [
    ("ours-wsgi-db", "django-db", "plain WSGI + ours (db) vs Django (db), gunicorn"),
    ("flask-ours-db", "django-db", "Flask + ours (db) vs Django (db), gunicorn"),
]


@dataclass
class Run:
    """How the contenders were measured: what the notes say."""

    rounds: int
    seconds: int
    warm_first: int
    wrk: str | None
    why: str
    uvicorn_impl: str
    client_cpu: float = 0.0
    load_seconds: float = 0.0


def print_table(columns: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(x)) for x in [c] + [r[i] for r in rows]) for i, c in enumerate(columns)]
    for line in [columns, *rows]:
        cells = zip(line, widths, strict=True)
        print("  ".join(str(x).rjust(w) if isinstance(x, int | float) else str(x).ljust(w)
                        for x, w in cells))  # fmt: skip


def main_table(results: Results, run: Run, contenders: list[Server]) -> None:
    """One row per contender: req/s (median of the rounds), latency, CPU, errors, writes."""
    rows = []
    for c in contenders:
        rps = [x["rps"] for x in c.rounds]
        requests = sum(x["requests"] for x in c.rounds)
        cpu_ms = sum(x["server_cpu"] for x in c.rounds) / max(1, requests) * 1000
        run.client_cpu += sum(x["client_cpu"] for x in c.rounds)
        run.load_seconds += sum(x["seconds"] for x in c.rounds)
        rows.append([
            c.label, c.server, WORKERS, round(statistics.median(rps)),
            f"{min(rps):.0f}-{max(rps):.0f}",
            round(statistics.median(x["p50_ms"] for x in c.rounds), 2),
            round(statistics.median(x["p99_ms"] for x in c.rounds), 2),
            round(cpu_ms, 3), sum(x["socket_errors"] + x["non200"] for x in c.rounds),
            f"{sum(x['writes'] for x in c.rounds)} ({sum(x['lost'] for x in c.rounds)} lost)",
        ])  # fmt: skip
        c.rps_median, c.cpu_ms = statistics.median(rps), rows[-1][7]
        results.chart(PANEL, f"{c.label} ({c.server})", rows[-1][3], "req/s")
    print()
    print_table(COLUMNS, rows)
    title = "Throughput with a session write per request"
    results.table(title, COLUMNS, rows, note(run, results, contenders))


def note(run: Run, results: Results, contenders: list[Server]) -> str:
    loader = (
        f"wrk ({results.data['versions']['load generator']}), {CONNECTIONS} threads x 1 "
        "connection, Lua script apps/replay_cookie.lua"
        if run.wrk
        else f"{CONNECTIONS} Python processes with http.client ({run.why})"
    )
    cores = os.cpu_count()
    return (
        f"{run.rounds} round(s) of {run.seconds} s per contender after a {run.warm_first} s "
        "warm-up, contenders interleaved, order reversed each round; req/s is the median of "
        "the rounds, min-max their range; p50/p99 are medians of the rounds' percentiles. "
        f"Servers: gunicorn {version('gunicorn')} `--workers {WORKERS} --worker-class sync` "
        f"(a sync worker closes the connection after each response, so every request "
        f"reconnects), uvicorn {version('uvicorn')} `--workers {WORKERS}` with "
        f"{run.uvicorn_impl} (what is installed), no access log, started through "
        "`apps/uvicorn_nodelay.py`: uvicorn's own CLI with the listening socket marked "
        "`IPPROTO_TCP`, a workaround for uvicorn issue #3149 (with `--workers N` asyncio "
        "never sets `TCP_NODELAY` on accepted connections and each keep-alive response waits "
        "~40 ms for a delayed ACK; 44 ms per request measured here), applied to every ASGI "
        f"contender alike. Load: {loader}, on the same {cores}-core machine, so the load "
        f"generator competes with the {WORKERS} workers for CPU (it used "
        f"{run.client_cpu / max(run.load_seconds, 1e-9):.2f} of the {cores} cores on average"
        f"{'' if run.wrk else ', not counted for the Python generator'}): absolute numbers "
        "are lower than with a client on another machine. 'server CPU ms/req' is the user + "
        "system CPU time of all the server's processes during the measured runs divided by "
        "the requests served: less sensitive to other load on the machine than req/s. Each "
        "request loads the session (PAYLOAD: 5 keys + a counter) and writes it back with the "
        "counter incremented; 'writes read back' is the total growth of the counters, read "
        "over HTTP after each round, and 'lost' counts 200 responses whose write is missing "
        "plus non-200 answers. Configuration: "
        + "; ".join(f"**{c.label}**: {c.config}" for c in contenders)
        + "."
    )


def ratios(by_key: dict[str, Server], ours: str, theirs: str) -> list[float]:
    """req/s of ours / theirs, round by round (the two run back to back in each round)."""
    pairs = zip(by_key[ours].rounds, by_key[theirs].rounds, strict=True)
    return [a["rps"] / b["rps"] for a, b in pairs]


def ratio_table(results: Results, by_key: dict[str, Server]) -> None:
    rows = []
    for ours, theirs, what in PAIRS:
        if ours in by_key and theirs in by_key:
            each = ratios(by_key, ours, theirs)
            cpu_ratio = by_key[theirs].cpu_ms / by_key[ours].cpu_ms
            rows.append([
                by_key[ours].label, by_key[theirs].label, round(statistics.median(each), 2),
                ", ".join(f"{x:.2f}" for x in each), round(cpu_ratio, 2), what,
            ])  # fmt: skip
    print()
    print_table(RATIO_COLUMNS, rows)
    results.table(
        "Throughput ratios, same run",
        RATIO_COLUMNS,
        rows,
        "req/s ratio: the median over the rounds of ours / theirs, the two measured in the same "
        "round, seconds apart ('per round' lists them); CPU/req ratio: theirs / ours "
        "server CPU per request (above 1: ours uses less CPU per request).",
    )


def targets(results: Results, by_key: dict[str, Server]) -> None:
    """>= 2x Django's req/s (Django's defaults), with the tuned Django's ratio beside."""
    for ours, theirs, name in TARGETS:
        if ours not in by_key or theirs not in by_key:
            continue
        each = ratios(by_key, ours, theirs)
        ratio = statistics.median(each)
        tuned = (
            f"; against Django tuned to WAL + a persistent connection: "
            f"{statistics.median(ratios(by_key, ours, 'django-db-wal')):.2f}x"
            if "django-db-wal" in by_key
            else ""
        )
        a, b = by_key[ours], by_key[theirs]
        results.target(
            f"Throughput with a session write per request >= 2x Django's: {name}",
            ratio,
            2.0,
            f"median of the per-round ratios ({', '.join(f'{x:.2f}' for x in each)}); "
            f"{a.rps_median:.0f} vs {b.rps_median:.0f} req/s, server CPU {a.cpu_ms} vs "
            f"{b.cpu_ms} ms per request, {WORKERS} gunicorn sync workers each, {CONNECTIONS} "
            f"connections, Django with its defaults{tuned}",
            at_most=False,
        )
        print(f"target >= 2x: {name}: {ratio:.2f}x ({'met' if ratio >= 2.0 else 'NOT met'}){tuned}")
    if "django-db" in by_key and "django-db-wal" in by_key:
        default, wal = by_key["django-db"], by_key["django-db-wal"]
        p99 = statistics.median(x["p99_ms"] for x in default.rounds)
        results.note(
            "The target compares against Django's defaults, as the issue asks: on sqlite that "
            "is the rollback journal, SQLite's default synchronous=FULL and a new database "
            f"connection per request ({default.rps_median:.0f} req/s, p99 {p99:.0f} ms, "
            f"{default.cpu_ms} ms of server CPU per request here). The row "
            "'Django, db, WAL (tuned)' gives Django the storage settings of our db engine (WAL, "
            "synchronous=NORMAL) and a persistent connection "
            f"({wal.rps_median:.0f} req/s, {wal.cpu_ms} ms CPU per request): "
            "the ratios against it compare the two code paths on equal storage."
        )
