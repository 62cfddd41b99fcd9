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

The parts live in ``bench/scenarios/scale_{purge,workers,report,memory}.py``.

    .venv/bin/python bench/compare_scale.py [--quick] [--out DIR]
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from harness.results import Results, arguments
from scenarios.scale_memory import CACHE_SESSIONS, cache_memory_table
from scenarios.scale_purge import Purge, purge
from scenarios.scale_report import purge_table, purge_targets, workers_table


def main() -> None:
    args = arguments((__doc__ or "").splitlines()[0])
    rows = 100_000 if args.quick else 1_000_000
    title = "Scale: a large purge under load, cache memory"
    results = Results("bench/compare_scale.py", title, quick=args.quick)
    results.versions("sessionware", "sessionware-db", "sessionware-cache", "cachetools")
    with tempfile.TemporaryDirectory(prefix="sessionware-scale-") as tmp:
        free = shutil.disk_usage(tmp).free
        if free < rows * 800:
            raise SystemExit(f"{tmp}: {free / 1e6:.0f} MB free, need ~{rows * 800 / 1e6:.0f} MB")
        measured = Purge(rows, Path(tmp))
        purge(measured)
        purge_table(results, measured)
        during = workers_table(results, measured)
    purge_targets(results, measured, during)
    cache_memory_table(results, CACHE_SESSIONS)
    results.write(args.out)


if __name__ == "__main__":
    main()
