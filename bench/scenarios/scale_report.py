"""The scale comparison's purge tables: the purge itself, the other processes, the targets."""

from __future__ import annotations

import statistics
from array import array
from typing import Any

from harness.results import Results

from scenarios.scale_purge import BASELINE_SECONDS, ROLES, WORKER_KEYS, Purge
from scenarios.scale_workers import READS_PER_SECOND, WRITES_PER_SECOND

TARGET_PURGE_SECONDS = 10.0
TARGET_LOCK_MS = 100.0
PURGE_NOTE = (
    "Lock time is the engine's own timing of each batch (DEBUG records of the "
    "sessionware.db logger): from BEGIN IMMEDIATE returning to COMMIT returning. The "
    "checkpoint after each batch (PASSIVE, plus short pauses when the WAL has grown "
    "past 8192 pages, until it starts over) holds no lock. WAL, synchronous=NORMAL, "
    "engine defaults (batch_size 2000). 'WAL file after' is the largest the WAL grew "
    "(SQLite does not shrink the file)."
)
WORKERS_NOTE = (
    f"Reader and writer are separate processes, each with its own DbEngine on the "
    f"same file, paced at {READS_PER_SECOND} loads/s and {WRITES_PER_SECOND} saves/s "
    f"on random live sessions ({WORKER_KEYS:,} keys each); 'before' is the "
    f"{BASELINE_SECONDS:g} s before the purge. A save's latency includes its wait "
    "for the write lock (the busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ms...)."
)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def ms(seconds: float) -> float:
    return round(seconds * 1e3, 2)


def read_samples(path: str) -> list[tuple[float, float]]:
    samples = array("d")
    with open(path, "rb") as source:
        samples.frombytes(source.read())
    return list(zip(samples[0::2], samples[1::2], strict=True))


def latency_row(name: str, phase: str, latencies: list[float], seconds: float) -> list[Any]:
    return [
        name,
        phase,
        len(latencies),
        round(len(latencies) / seconds) if seconds else 0,
        ms(statistics.median(latencies)) if latencies else "-",
        ms(quantile(latencies, 0.99)) if latencies else "-",
        ms(max(latencies)) if latencies else "-",
    ]


def purge_table(results: Results, p: Purge) -> None:
    """The purge: build, total, rows per second, batches, lock and checkpoint times."""
    batch_rows = [batch[0] for batch in p.batches]
    locks = [batch[1] for batch in p.batches]
    points = [batch[2] for batch in p.batches]
    print(
        f"clear_expired: {p.removed:,} rows in {p.seconds:.2f} s, {len(p.batches)} batches; "
        f"write lock held median {ms(statistics.median(locks))} ms, max {ms(max(locks))} ms; "
        f"checkpoint after each median {ms(statistics.median(points))} ms"
    )
    spread = "median / p90 / max (ms)"
    rows = [
        ["build (executemany, one transaction)", f"{p.build_seconds:.1f} s, {p.size_mb:.0f} MB"],
        ["purge total", f"{p.seconds:.2f} s"],
        ["rows removed / per second", f"{p.removed:,} / {p.removed / p.seconds:,.0f}"],
        ["batches (rows each)", f"{len(p.batches)} ({min(batch_rows)}-{max(batch_rows)})"],
        ["progress callbacks", p.progress_calls],
        [f"write lock held per batch: {spread}", " / ".join(quantiles_ms(locks))],
        ["write lock held in total", f"{sum(locks):.2f} s"],
        [f"checkpoint after each batch, no lock: {spread}", " / ".join(quantiles_ms(points))],
        ["checkpoints in total", f"{sum(points):.2f} s"],
        ["live rows left / expected", f"{p.live_left:,} / {p.live:,}"],
        ["expired rows left", p.expired_left],
        ["WAL file after", f"{p.wal_mb:.1f} MB"],
    ]
    title = f"db: clear_expired of {p.expired:,} expired among {p.rows:,} sessions, under load"
    results.table(title, ["measure", "value"], rows, note=PURGE_NOTE)


def quantiles_ms(values: list[float]) -> list[str]:
    """Median, p90 and max of ``values`` (seconds), in ms."""
    return [
        str(ms(statistics.median(values))),
        str(ms(quantile(values, 0.9))),
        str(ms(max(values))),
    ]


def workers_table(results: Results, p: Purge) -> dict[str, list[float]]:
    """The reader's and writer's latencies before and during the purge; those during it."""
    rows, during_purge = [], {}
    for role in ROLES:
        samples = read_samples(str(p.tmp / f"{role}.samples"))
        before = [lat for start, lat in samples if p.baseline_start <= start < p.purge_start]
        during = [lat for start, lat in samples if p.purge_start <= start < p.purge_end]
        name = "reader: load" if role == "reader" else "writer: save (update)"
        rows.append(latency_row(name, "before", before, p.purge_start - p.baseline_start))
        rows.append(latency_row(name, "during purge", during, p.seconds))
        summary = p.summaries[role]
        if summary["errors"] or summary["missing"]:
            results.note(
                f"{role}: errors {summary['errors']}, loads that found no session "
                f"{summary['missing']}."
            )
        during_purge[role] = during
    columns = ["operation", "phase", "ops", "ops/s", "median ms", "p99 ms", "max ms"]
    title = "db: requests in other processes during the purge"
    results.table(title, columns, rows, note=WORKERS_NOTE)
    for row in rows:
        print("  ".join(str(cell) for cell in row))
    return during_purge


def purge_targets(results: Results, p: Purge, during: dict[str, list[float]]) -> None:
    """Under 10 s for the purge, under 100 ms per batch's lock, every live row kept."""
    locks = [batch[1] for batch in p.batches]
    results.target(
        f"db clear_expired of {p.rows:,} sessions (half expired), s",
        p.seconds,
        TARGET_PURGE_SECONDS,
        f"{p.removed:,} rows in {len(p.batches)} batches while a reader and a writer ran",
    )
    results.target(
        "db clear_expired: longest write lock held by one batch, ms",
        max(locks) * 1e3,
        TARGET_LOCK_MS,
        f"median {ms(statistics.median(locks))} ms over {len(p.batches)} batches; writer's "
        f"longest save during the purge {ms(max(during['writer'], default=0.0))} ms, "
        f"reader's p99 {ms(quantile(during['reader'], 0.99))} ms",
    )
    results.target(
        "db clear_expired: live rows kept and expired rows gone (1 = yes)",
        1.0 if p.intact else 0.0,
        1.0,
        f"{p.live_left:,} of {p.live:,} live rows left, {p.expired_left} expired left",
        at_most=False,
    )
