"""Compare: session store operations, sessionware's engines against Django's backends.

Per engine, in one run, ours and theirs interleaved: create + save, load + read
one key, and load + modify one key + save, through
``sessionware.session_store(engine=..., serializer="json")`` and through the
matching ``django.contrib.sessions`` ``SessionStore`` (Django configured with
its defaults: db on a SQLite file, file in a temporary directory, cache on the
default locmem cache, signed_cookies). The redis engine is compared with raw
redis-py on the same server, blocking and asyncio. Then the floor: the raw
primitives an operation cannot avoid (SQLite select + upsert, json, msgpack,
HMAC, AES-GCM, a file write + rename, a cachetools get + set).

Method (``harness.timing.run_group``): every group (one engine and its peer, or the
floor) runs in rounds; each round times every operation of the group once, in an
order rotated every round, so drift on a shared VM hits all of them alike. One
sample is a batch of calls sized to last about the same time for every operation
(calibrated after a warm-up). Medians and p10-p90 are over the rounds, in µs per
operation; ratios are of medians measured in the same run. Created sessions are
deleted between samples, outside the timing. Every write changes the payload (a
counter), so SQLite really writes. Needs Redis on 127.0.0.1:6379 for the redis
groups (skipped with a note otherwise; keys under a unique prefix, deleted at the end).

The groups live in ``bench/scenarios/store_*.py``.

    .venv/bin/python bench/compare_store.py [--quick] [--out DIR] [--only file,floor]

``--only`` runs some groups (db, file, cache, signed_cookies, floor, redis) and
prints them without writing the JSON.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.results import Results, banner, parser
from harness.services import setup_django
from scenarios import store_engines, store_floor, store_redis
from scenarios.store_ops import Context, chart

VERSIONS = (
    "sessionware", "sessionware-db", "sessionware-file", "sessionware-cache",
    "sessionware-signed-cookies", "sessionware-redis", "sessionware-json", "django", "redis",
    "cachetools", "msgpack", "cryptography",
)  # fmt: skip
GROUPS: dict[str, Callable[[Context], None]] = {
    "db": store_engines.db,
    "file": store_engines.file,
    "cache": store_engines.cache,
    "signed_cookies": store_engines.signed_cookies,
    "floor": store_floor.floor,
    "redis": store_redis.redis,
}


def main() -> None:
    flags = parser((__doc__ or "").splitlines()[0])
    flags.add_argument("--only", default=",".join(GROUPS), help="comma-separated groups")
    args = flags.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    if not only or only - set(GROUPS):
        raise SystemExit(f"--only {args.only!r}: choose one or more of {', '.join(GROUPS)}")
    rounds, sample_s = (4, 0.006) if args.quick else (20, 0.05)
    results = Results("bench/compare_store.py", "Session store operations", quick=args.quick)
    results.versions(*VERSIONS)
    started = time.perf_counter()
    print(banner(rounds, sample_s, "µs per operation, median (p10-p90), xN = calls per sample"))
    with tempfile.TemporaryDirectory(prefix="compare-store-") as tmpdir:
        ctx = Context(results, rounds, sample_s, Path(tmpdir))
        ctx.django_db = setup_django(ctx.tmp)
        journal = f"{ctx.django_db['journal_mode']}, synchronous={ctx.django_db['synchronous']}"
        results.data["versions"]["django sqlite journal"] = journal
        for name, group in GROUPS.items():
            if name in only:
                group(ctx)
    chart(ctx)
    results.print_targets()
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if only == set(GROUPS):
        results.write(args.out)
    else:  # a partial run would replace the whole run's results that report.py reads
        print(f"--only {','.join(sorted(only))}: results not written")


if __name__ == "__main__":
    main()
