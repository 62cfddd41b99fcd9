"""Settings of the benchmark apps, from environment variables set by compare_throughput.py.

``BENCH_ENGINE``: ``db``, ``redis`` or ``signed_cookies`` (for Django: ``db`` or
``signed_cookies``); ``BENCH_DB_PATH``: the sqlite file; ``BENCH_REDIS_PREFIX``: the key
prefix; ``BENCH_SECRET``: the signing secret; ``BENCH_DJANGO_TUNED=1``: Django's sqlite in
WAL mode with ``synchronous=NORMAL`` and persistent connections (not Django's defaults).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/, for the harness

from harness import PAYLOAD

ENGINE = os.environ.get("BENCH_ENGINE", "db")
DB_PATH = os.environ.get("BENCH_DB_PATH", "sessions.sqlite3")
REDIS_PREFIX = os.environ.get("BENCH_REDIS_PREFIX", "sessionware-bench:")
SECRET = os.environ.get("BENCH_SECRET", "bench-secret-not-for-production-0123456789-abcdefghij")
DJANGO_TUNED = os.environ.get("BENCH_DJANGO_TUNED") == "1"

__all__ = ["DB_PATH", "DJANGO_TUNED", "ENGINE", "PAYLOAD", "SECRET", "ours", "touch"]


def ours() -> dict[str, Any]:
    """Keyword settings for sessionware's SessionMiddleware, for ``BENCH_ENGINE``."""
    if ENGINE == "db":
        return {"engine": "db", "path": DB_PATH}
    if ENGINE == "redis":
        return {"engine": "redis", "host": "127.0.0.1", "port": 6379, "prefix": REDIS_PREFIX}
    if ENGINE == "signed_cookies":
        return {"engine": "signed_cookies", "secret_key": SECRET}
    raise SystemExit(f"BENCH_ENGINE={ENGINE!r}: expected db, redis or signed_cookies")


def touch(session: Any) -> int:
    """The benchmark's work on a session: fill PAYLOAD once, then count; return the count."""
    if "user_id" not in session:
        session.update(PAYLOAD)
    counter = session["counter"] + 1
    session["counter"] = counter
    return int(counter)
