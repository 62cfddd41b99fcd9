"""The scale comparison's purge: 1,000,000 sessions (half expired) cleared under load.

The table is the engine's own schema (made by constructing ``DbEngine``), filled by
one prepared ``executemany`` in one transaction with realistic rows. While the engine
purges, a reader and a writer (``scale_workers.py``, each its own process and
``DbEngine`` on the same file) load and update random live sessions, paced.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import PAYLOAD
from harness.servers import BENCH

#: Seconds the workers run before the purge starts (their baseline) and after it ends.
BASELINE_SECONDS = 1.5
AFTER_SECONDS = 0.3
#: Keys each worker draws from (a random sample of the live sessions).
WORKER_KEYS = 20_000
ROLES = ("reader", "writer")


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


@dataclass
class Purge:
    """What one purge under load measured."""

    rows: int
    tmp: Path
    build_seconds: float = 0.0
    size_mb: float = 0.0
    live: int = 0
    removed: int = 0
    #: monotonic clock: the workers' baseline start, the purge's start and end.
    baseline_start: float = 0.0
    purge_start: float = 0.0
    purge_end: float = 0.0
    progress_calls: int = 0
    #: (rows, seconds the write lock was held, seconds of the checkpoint after), per batch.
    batches: list[tuple[int, float, float]] = field(default_factory=list)
    live_left: int = 0
    expired_left: int = 0
    wal_mb: float = 0.0
    #: Each worker's summary: its errors and the loads that found no session.
    summaries: dict[str, Any] = field(default_factory=dict)

    @property
    def expired(self) -> int:
        return self.rows - self.live

    @property
    def seconds(self) -> float:
        return self.purge_end - self.purge_start

    @property
    def intact(self) -> bool:
        return (
            self.removed == self.expired and self.live_left == self.live and not self.expired_left
        )


def start_workers(path: Path, tmp: Path, live: list[str]) -> dict[str, subprocess.Popen[str]]:
    """The reader and the writer, each on its own sample of live keys, ready to go."""
    sample = random.Random(7).sample(live, min(2 * WORKER_KEYS, len(live)))
    (tmp / "reader.keys").write_text("\n".join(sample[:WORKER_KEYS]))
    (tmp / "writer.keys").write_text("\n".join(sample[WORKER_KEYS:]))
    workers = {}
    for role in ROLES:
        files = [str(path), str(tmp / f"{role}.keys"), str(tmp / f"{role}.samples")]
        workers[role] = subprocess.Popen(
            [sys.executable, "-m", "scenarios.scale_workers", role, *files],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=BENCH,
        )
    for proc in workers.values():
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return workers


def purge(p: Purge) -> None:
    """Build the table, start the workers, clear_expired, stop them, count what is left."""
    from sessionware_db import DbEngine

    path, now = p.tmp / "sessions.sqlite3", time.time()
    p.build_seconds, live = build(path, p.rows, now)
    p.live, p.size_mb = len(live), path.stat().st_size / 1e6
    print(f"built {p.rows:,} sessions ({p.expired:,} expired, {p.size_mb:.0f} MB)", end="")
    print(f" in {p.build_seconds:.1f} s")
    workers = start_workers(path, p.tmp, live)
    del live
    engine, handler = DbEngine(path=path), BatchLog()
    db_logger = logging.getLogger("sessionware.db")
    db_logger.addHandler(handler)
    level = db_logger.level
    db_logger.setLevel(logging.DEBUG)

    def progress(removed: int) -> None:
        p.progress_calls += 1

    for proc in workers.values():
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    p.baseline_start = time.monotonic()
    time.sleep(BASELINE_SECONDS)
    p.purge_start = time.monotonic()
    p.removed = engine.clear_expired(progress=progress)
    p.purge_end = time.monotonic()
    time.sleep(AFTER_SECONDS)
    for role, proc in workers.items():
        out, _ = proc.communicate("stop\n", timeout=60)
        p.summaries[role] = json.loads(out.strip().splitlines()[-1])
    db_logger.removeHandler(handler)
    db_logger.setLevel(level)
    p.batches = handler.batches
    # What is left: every live row, no expired one.
    conn = sqlite3.connect(path)
    count = "SELECT count(*) FROM sessionware_session"
    total_left = conn.execute(count).fetchone()[0]
    p.expired_left = conn.execute(f"{count} WHERE expires_at <= ?", (now,)).fetchone()[0]
    p.live_left = conn.execute(f"{count} WHERE expires_at > ?", (now,)).fetchone()[0]
    conn.close()
    wal = Path(f"{path}-wal")
    p.wal_mb = wal.stat().st_size / 1e6 if wal.exists() else 0.0
    engine.close()
    print(f"WAL file after the purge: {p.wal_mb:.1f} MB")
    assert total_left == p.live_left
