"""Scale: the db engine purging 1,000,000 sessions under load, and the cache engine's memory.

1. ``clear_expired`` on a table of 1,000,000 sessions (``--quick``: 100,000) of
   which half expired, expired and live rows interleaved at random through the
   table. The table is the engine's own schema (made by constructing
   ``DbEngine``), filled by one prepared ``executemany`` in one transaction with
   realistic rows: 32-character keys from the key generator's alphabet, the
   JSON of PAYLOAD with a distinct counter (~145 bytes), expiry up to 30 days in
   the past or 1 hour to 14 days in the future. While the engine purges, two
   other processes use the same file through their own ``DbEngine``: a reader
   loading random live sessions (paced at READS_PER_SECOND) and a writer
   updating random live sessions with a changed payload (WRITES_PER_SECOND).
   Reported: total purge time, batches, how long each batch held the write lock
   (the engine times its ``BEGIN IMMEDIATE`` ... ``COMMIT`` and logs it at DEBUG;
   the WAL checkpoint after each batch is timed apart, it runs without the
   lock), the reader's and writer's latencies before and during the purge, and
   a check that every live row remains and every expired row is gone.
2. The memory the cache engine takes to hold 100,000 sessions of PAYLOAD
   (maxsize 200,000, nothing evicted): tracemalloc and the RSS delta, each in a
   fresh process, per session.

No peer: Django, Starlette and Flask have no counterpart to either figure
under the same conditions, so this script measures ours against the issue's
targets only. Needs ~500 MB free in the temporary directory (deleted at the end).

    .venv/bin/python bench/compare_scale.py [--quick] [--out DIR]
"""

from __future__ import annotations

import base64
import gc
import json
import logging
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from array import array
from pathlib import Path
from typing import Any

from _results import Results, arguments
from _timing import PAYLOAD

SCRIPT = "bench/compare_scale.py"
#: The concurrent load during the purge.
READS_PER_SECOND = 2000
WRITES_PER_SECOND = 500
#: Seconds the workers run before the purge starts (their baseline) and after it ends.
BASELINE_SECONDS = 1.5
AFTER_SECONDS = 0.3
#: Keys each worker draws from (a random sample of the live sessions).
WORKER_KEYS = 20_000
CACHE_SESSIONS = 100_000
TARGET_PURGE_SECONDS = 10.0
TARGET_LOCK_MS = 100.0


# -- workers (child processes of this script) --------------------------------------------


def _wait_for_stop(stop: threading.Event) -> None:
    sys.stdin.readline()
    stop.set()


def worker(role: str, db_path: str, keys_path: str, samples_path: str) -> None:
    """Load (reader) or update (writer) random sessions until told to stop.

    Prints ``ready``, waits for a line on stdin, then runs paced until the next
    line; writes (start, seconds) pairs as doubles to ``samples_path`` and a
    JSON summary on stdout. ``time.monotonic`` is system-wide on Linux, so the
    parent can place the samples against the purge's start and end.
    """
    from sessionware_db import DbEngine

    import sessionware

    engine = DbEngine(path=db_path)
    keys = Path(keys_path).read_text().split()
    rng = random.Random(role)
    body = json.dumps(PAYLOAD, separators=(",", ":"))
    prefix = body[: body.rindex(":") + 1].encode()
    for key in keys[:100]:
        engine.load(key)
    interval = 1 / (READS_PER_SECOND if role == "reader" else WRITES_PER_SECOND)
    samples = array("d")
    errors: dict[str, int] = {}
    missing = 0
    print("ready", flush=True)
    sys.stdin.readline()
    stop = threading.Event()
    threading.Thread(target=_wait_for_stop, args=(stop,), daemon=True).start()
    clock = time.monotonic
    counter = 0
    due = clock()
    while not stop.is_set():
        key = rng.choice(keys)
        start = clock()
        try:
            if role == "reader":
                if engine.load(key) is None:
                    missing += 1
            else:
                counter += 1
                data = prefix + str(counter).encode() + b"}"
                engine.save(key, data, time.time() + 86400, must_create=False)
        except sessionware.SessionwareError as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
        end = clock()
        samples.append(start)
        samples.append(end - start)
        due += interval
        if due > end:
            time.sleep(due - end)
        else:
            due = end
    with open(samples_path, "wb") as out:
        samples.tofile(out)
    engine.close()
    print(json.dumps({"role": role, "errors": errors, "missing": missing}), flush=True)


def cache_memory(sessions: int, mode: str) -> None:
    """Print the bytes a cache engine holding ``sessions`` sessions takes (one mode per process).

    ``rss``: the resident set size before and after saving them, keys and
    serialized payloads made on the way (allocator overhead included).
    ``tracemalloc``: keys and payloads are made first (tracing every allocation
    is slow) and counted with ``sys.getsizeof``; the traced part is what the
    engine adds: expiry, entries and cachetools' bookkeeping.
    """
    import sessionware

    serializer = sessionware.get_serializer("json")
    engine = sessionware.get_engine("cache", maxsize=sessions * 2)
    # Warm every lazy import and code path before measuring.
    warm = sessionware.new_session_key()
    engine.save(warm, serializer.dumps(dict(PAYLOAD)), time.time() + 60, must_create=True)
    engine.delete(warm)
    expires_at = time.time() + 3600
    page = os.sysconf("SC_PAGE_SIZE")

    def rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * page

    if mode == "rss":
        gc.collect()
        before = rss()
        for i in range(sessions):
            data = serializer.dumps(dict(PAYLOAD, counter=i))
            engine.save(sessionware.new_session_key(), data, expires_at, must_create=True)
        gc.collect()
        used = rss() - before
    else:
        rows = [
            (sessionware.new_session_key(), serializer.dumps(dict(PAYLOAD, counter=i)))
            for i in range(sessions)
        ]
        held = sum(sys.getsizeof(key) + sys.getsizeof(data) for key, data in rows)
        gc.collect()
        tracemalloc.start()
        for key, data in rows:
            engine.save(key, data, expires_at, must_create=True)
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] + held
        tracemalloc.stop()
    assert engine.size == sessions and engine.evictions == 0
    sample = serializer.dumps(dict(PAYLOAD, counter=sessions - 1))
    print(
        json.dumps(
            {
                "bytes": used,
                "serialized": len(sample),
                "data_object": sys.getsizeof(sample),
                "key_object": sys.getsizeof(sessionware.new_session_key()),
            }
        )
    )


# -- the table ---------------------------------------------------------------------------


def build(path: Path, rows: int, now: float) -> tuple[float, list[str]]:
    """Fill the engine's table with ``rows`` sessions, half expired; return seconds and live keys.

    Keys are made the way the key generator makes them (base32 of random bytes,
    lower case), in one call for speed. The build connection is ours, not the
    engine's: a large page cache and ``synchronous=OFF`` only make setup faster.
    """
    from sessionware_db import DbEngine

    started = time.perf_counter()
    DbEngine(path=path).close()  # the engine's own schema
    rng = random.Random(5)
    alphabet = base64.b32encode(os.urandom(20 * rows)).decode("ascii").lower()
    expired = bytearray(rows // 2) + bytearray(b"\x01") * (rows - rows // 2)
    rng.shuffle(expired)
    body = json.dumps(PAYLOAD, separators=(",", ":"))
    prefix = body[: body.rindex(":") + 1].encode()
    uniform = rng.uniform
    live: list[str] = []

    def generate() -> Any:
        for i in range(rows):
            key = alphabet[32 * i : 32 * i + 32]
            if expired[i]:
                expires_at = now - uniform(1, 30 * 86400)
            else:
                expires_at = now + uniform(3600, 14 * 86400)
                live.append(key)
            yield key, prefix + str(i).encode() + b"}", expires_at

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO sessionware_session VALUES (?, ?, ?)", generate())
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    # The table existed long before the purge: none of it waits for writeback.
    os.sync()
    return time.perf_counter() - started, live


# -- statistics --------------------------------------------------------------------------


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


class BatchLog(logging.Handler):
    """Collects the engine's per-batch DEBUG records of ``clear_expired``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        #: (rows, seconds its transaction held the write lock, seconds of the checkpoint
        #: after it, which holds no lock).
        self.batches: list[tuple[int, float, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = ("rows", "lock_seconds", "checkpoint_seconds")
        if all(hasattr(record, name) for name in fields):
            rows, lock, checkpoint = (getattr(record, name) for name in fields)
            self.batches.append((rows, lock, checkpoint))


# -- the purge under load ----------------------------------------------------------------


def purge_under_load(results: Results, rows: int, tmp: Path) -> None:
    from sessionware_db import DbEngine

    path = tmp / "sessions.sqlite3"
    now = time.time()
    build_seconds, live = build(path, rows, now)
    expired_rows = rows - len(live)
    size_mb = path.stat().st_size / 1e6
    print(f"built {rows:,} sessions ({expired_rows:,} expired, {size_mb:.0f} MB)", end="")
    print(f" in {build_seconds:.1f} s")

    rng = random.Random(7)
    sample = rng.sample(live, min(2 * WORKER_KEYS, len(live)))
    (tmp / "reader.keys").write_text("\n".join(sample[:WORKER_KEYS]))
    (tmp / "writer.keys").write_text("\n".join(sample[WORKER_KEYS:]))
    del sample

    workers = {
        role: subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                role,
                str(path),
                str(tmp / f"{role}.keys"),
                str(tmp / f"{role}.samples"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for role in ("reader", "writer")
    }
    for proc in workers.values():
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

    engine = DbEngine(path=path)
    handler = BatchLog()
    db_logger = logging.getLogger("sessionware.db")
    db_logger.addHandler(handler)
    level = db_logger.level
    db_logger.setLevel(logging.DEBUG)
    progress_calls = 0

    def progress(removed: int) -> None:
        nonlocal progress_calls
        progress_calls += 1

    for proc in workers.values():
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    baseline_start = time.monotonic()
    time.sleep(BASELINE_SECONDS)
    purge_start = time.monotonic()
    removed = engine.clear_expired(progress=progress)
    purge_end = time.monotonic()
    time.sleep(AFTER_SECONDS)
    summaries = {}
    for role, proc in workers.items():
        out, _ = proc.communicate("stop\n", timeout=60)
        summaries[role] = json.loads(out.strip().splitlines()[-1])
    db_logger.removeHandler(handler)
    db_logger.setLevel(level)
    purge_seconds = purge_end - purge_start

    # What is left: every live row, no expired one.
    conn = sqlite3.connect(path)
    total_left = conn.execute("SELECT count(*) FROM sessionware_session").fetchone()[0]
    expired_left = conn.execute(
        "SELECT count(*) FROM sessionware_session WHERE expires_at <= ?", (now,)
    ).fetchone()[0]
    live_left = conn.execute(
        "SELECT count(*) FROM sessionware_session WHERE expires_at > ?", (now,)
    ).fetchone()[0]
    conn.close()
    wal = Path(f"{path}-wal")
    wal_mb = wal.stat().st_size / 1e6 if wal.exists() else 0.0
    engine.close()
    print(f"WAL file after the purge: {wal_mb:.1f} MB")
    intact = removed == expired_rows and live_left == len(live) and expired_left == 0
    assert total_left == live_left

    batches = handler.batches
    batch_rows = [batch[0] for batch in batches]
    locks = [batch[1] for batch in batches]
    checkpoints = [batch[2] for batch in batches]
    lock_max = max(locks)
    print(
        f"clear_expired: {removed:,} rows in {purge_seconds:.2f} s, {len(batches)} batches; "
        f"write lock held median {ms(statistics.median(locks))} ms, max {ms(lock_max)} ms; "
        f"checkpoint after each median {ms(statistics.median(checkpoints))} ms"
    )
    results.table(
        f"db: clear_expired of {expired_rows:,} expired among {rows:,} sessions, under load",
        ["measure", "value"],
        [
            ["build (executemany, one transaction)", f"{build_seconds:.1f} s, {size_mb:.0f} MB"],
            ["purge total", f"{purge_seconds:.2f} s"],
            ["rows removed / per second", f"{removed:,} / {removed / purge_seconds:,.0f}"],
            ["batches (rows each)", f"{len(batches)} ({min(batch_rows)}-{max(batch_rows)})"],
            ["progress callbacks", progress_calls],
            [
                "write lock held per batch: median / p90 / max (ms)",
                f"{ms(statistics.median(locks))} / {ms(quantile(locks, 0.9))} / {ms(lock_max)}",
            ],
            ["write lock held in total", f"{sum(locks):.2f} s"],
            [
                "checkpoint after each batch, no lock: median / p90 / max (ms)",
                f"{ms(statistics.median(checkpoints))} / {ms(quantile(checkpoints, 0.9))} / "
                f"{ms(max(checkpoints))}",
            ],
            ["checkpoints in total", f"{sum(checkpoints):.2f} s"],
            ["live rows left / expected", f"{live_left:,} / {len(live):,}"],
            ["expired rows left", expired_left],
            ["WAL file after", f"{wal_mb:.1f} MB"],
        ],
        note=(
            "Lock time is the engine's own timing of each batch (DEBUG records of the "
            "sessionware.db logger): from BEGIN IMMEDIATE returning to COMMIT returning. The "
            "checkpoint after each batch (PASSIVE, plus short pauses when the WAL has grown "
            "past 8192 pages, until it starts over) holds no lock. WAL, synchronous=NORMAL, "
            "engine defaults (batch_size 2000). 'WAL file after' is the largest the WAL grew "
            "(SQLite does not shrink the file)."
        ),
    )

    rows_out = []
    for role in ("reader", "writer"):
        samples = read_samples(str(tmp / f"{role}.samples"))
        before = [lat for start, lat in samples if baseline_start <= start < purge_start]
        during = [lat for start, lat in samples if purge_start <= start < purge_end]
        name = "reader: load" if role == "reader" else "writer: save (update)"
        rows_out.append(latency_row(name, "before", before, purge_start - baseline_start))
        rows_out.append(latency_row(name, "during purge", during, purge_seconds))
        summary = summaries[role]
        if summary["errors"] or summary["missing"]:
            results.note(
                f"{role}: errors {summary['errors']}, loads that found no session "
                f"{summary['missing']}."
            )
        if role == "reader":
            reader_during = during
        else:
            writer_during = during
    results.table(
        "db: requests in other processes during the purge",
        ["operation", "phase", "ops", "ops/s", "median ms", "p99 ms", "max ms"],
        rows_out,
        note=(
            f"Reader and writer are separate processes, each with its own DbEngine on the "
            f"same file, paced at {READS_PER_SECOND} loads/s and {WRITES_PER_SECOND} saves/s "
            f"on random live sessions ({WORKER_KEYS:,} keys each); 'before' is the "
            f"{BASELINE_SECONDS:g} s before the purge. A save's latency includes its wait "
            "for the write lock (the busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ms...)."
        ),
    )
    for row in rows_out:
        print("  ".join(str(cell) for cell in row))

    label = f"{rows:,}"
    results.target(
        f"db clear_expired of {label} sessions (half expired), s",
        purge_seconds,
        TARGET_PURGE_SECONDS,
        f"{removed:,} rows in {len(batches)} batches while a reader and a writer ran",
    )
    results.target(
        "db clear_expired: longest write lock held by one batch, ms",
        lock_max * 1e3,
        TARGET_LOCK_MS,
        f"median {ms(statistics.median(locks))} ms over {len(batches)} batches; writer's "
        f"longest save during the purge {ms(max(writer_during, default=0.0))} ms, "
        f"reader's p99 {ms(quantile(reader_during, 0.99))} ms",
    )
    results.target(
        "db clear_expired: live rows kept and expired rows gone (1 = yes)",
        1.0 if intact else 0.0,
        1.0,
        f"{live_left:,} of {len(live):,} live rows left, {expired_left} expired left",
        at_most=False,
    )


# -- the cache's memory ------------------------------------------------------------------


def cache_memory_table(results: Results, sessions: int) -> None:
    measured = {}
    for mode in ("tracemalloc", "rss"):
        out = subprocess.run(
            [sys.executable, __file__, "--cache-memory", str(sessions), mode],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        measured[mode] = json.loads(out.strip().splitlines()[-1])
    traced = measured["tracemalloc"]
    rss = measured["rss"]
    per_traced = traced["bytes"] / sessions
    per_rss = rss["bytes"] / sessions
    objects = traced["data_object"] + traced["key_object"]
    results.table(
        f"cache: memory of {sessions:,} sessions",
        ["measure", "total MiB", "bytes per session"],
        [
            [
                "tracemalloc (Python allocations)",
                round(traced["bytes"] / 2**20, 1),
                round(per_traced),
            ],
            [
                "RSS delta (allocator overhead included)",
                round(rss["bytes"] / 2**20, 1),
                round(per_rss),
            ],
            [
                f"of which the data bytes object ({traced['serialized']} B serialized) + key str",
                round(objects * sessions / 2**20, 1),
                objects,
            ],
        ],
        note=(
            "Each figure from a fresh process (tracemalloc: the engine's allocations traced, "
            "keys and payloads made beforehand and added with sys.getsizeof): sessions of "
            "PAYLOAD (JSON, distinct counter) "
            f"saved through get_engine('cache', maxsize={2 * sessions:,}), nothing evicted. "
            "The rest per session is the expiry, the cache entry and cachetools' bookkeeping."
        ),
    )
    print(
        f"cache: {sessions:,} sessions: tracemalloc {per_traced:.0f} B/session, "
        f"RSS delta {per_rss:.0f} B/session"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:6])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--cache-memory":
        cache_memory(int(sys.argv[2]), sys.argv[3])
        return
    args = arguments(__doc__.splitlines()[0])
    rows = 100_000 if args.quick else 1_000_000
    results = Results(SCRIPT, "Scale: a large purge under load, cache memory", quick=args.quick)
    results.versions("sessionware", "sessionware-db", "sessionware-cache", "cachetools")
    results.data["versions"]["sqlite"] = sqlite3.sqlite_version

    with tempfile.TemporaryDirectory(prefix="sessionware-scale-") as tmp:
        free = shutil.disk_usage(tmp).free
        if free < rows * 800:
            raise SystemExit(f"{tmp}: {free / 1e6:.0f} MB free, need ~{rows * 800 / 1e6:.0f} MB")
        purge_under_load(results, rows, Path(tmp))
    cache_memory_table(results, CACHE_SESSIONS)
    results.write(args.out)


if __name__ == "__main__":
    main()
