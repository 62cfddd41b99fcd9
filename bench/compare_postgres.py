"""Compare: the postgres engine against Django's db backend on the same PostgreSQL, and a raw floor.

One PostgreSQL server (``SESSIONWARE_BENCH_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``), one process, one run, every operation
interleaved (``harness.timing.run_group``):

- ours: ``sessionware.session_store(engine="postgres", serializer="json")`` in a schema
  of its own: create + save, load + read one key, load + modify one key + save (a
  versioned save: one ``UPDATE ... WHERE version = n``);
- Django: ``django.contrib.sessions.backends.db`` with ``ENGINE
  django.db.backends.postgresql`` (psycopg 3) in another schema of its own
  (``search_path``), the sessions app migrated; its connection stays open (no request
  cycle closes it), as ours stays in its pool;
- the floor: a ``psycopg_pool.ConnectionPool`` connection in autocommit, the engine's own
  table: one ``SELECT`` + ``json.loads`` + read one key; and one ``SELECT`` of data and
  version, ``json`` loads / modify / dumps, one ``UPDATE ... WHERE session_key = %s AND
  version = %s`` (what ``bench/bench_postgres.py`` calls the floor cycle).

Same durability on every side: logged tables, the server's own ``synchronous_commit``
(printed), every write a committed transaction. Targets (issue 13): load + modify + save
at most 0.5x Django, at most 1.3x the floor. Both schemas are dropped at the end.

    .venv/bin/python bench/compare_postgres.py [--quick] [--out DIR]

The purge under load is ``bench/bench_postgres_purge.py``.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from harness import SECRET
from harness.results import Results, banner, parser
from harness.sessions import seeded
from harness.timing import Op
from psycopg import sql
from psycopg_pool import ConnectionPool
from scenarios.store_ops import Context, chart, compare, django_ops, lms_target, ours_ops, ratio

import sessionware

URL = os.environ.get("SESSIONWARE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
VERSIONS = ("sessionware", "sessionware-postgres", "django", "psycopg", "psycopg-pool")
NOTE = (
    "Same PostgreSQL {server}, loopback, synchronous_commit={sync}, logged tables on both "
    "sides. Ours: sessionware-postgres, its defaults (pooled autocommit connection, prepared "
    "statements, versioned save), JSON serializer. Django: backends.db on "
    "django.db.backends.postgresql (psycopg {psycopg}), the sessions app migrated in a schema "
    "of its own, one persistent connection; each Django write runs in transaction.atomic "
    "(BEGIN, UPDATE, COMMIT) and Django stores the data signed (django.core.signing), ours "
    "plain JSON."
)
FLOOR_NOTE = (
    "Floor: a psycopg_pool connection in autocommit on the engine's own table; load = one "
    "SELECT + json.loads + read one key; load + modify + save = one SELECT of data and "
    "version, json loads/modify/dumps, one UPDATE ... WHERE session_key = %s AND version = %s."
)


def floor_ops(pool: ConnectionPool[Any], table: sql.Composable, key: str) -> tuple[Op, Op]:
    """The raw psycopg floor of a load and of a load + modify + save, on ``table``."""
    select = sql.SQL(
        "SELECT session_data, version FROM {} WHERE session_key = %s AND expires_at > %s"
    ).format(table)
    update = sql.SQL(
        "UPDATE {} SET session_data = %s, expires_at = %s, version = version + 1 "
        "WHERE session_key = %s AND version = %s AND expires_at > %s"
    ).format(table)
    select_text, update_text = select.as_string(None), update.as_string(None)
    counter = itertools.count()

    def load() -> object:
        with pool.connection() as conn:
            row = conn.execute(select_text, (key, time.time())).fetchone()
        assert row is not None
        return json.loads(row[0])["user_id"]

    def cycle() -> None:
        with pool.connection() as conn:
            now = time.time()
            row = conn.execute(select_text, (key, now)).fetchone()
            assert row is not None
            state = json.loads(row[0])
            state["counter"] = next(counter)
            data = json.dumps(state).encode()
            conn.execute(update_text, (data, now + 1209600, key, row[1], now))

    return (
        Op("floor: SELECT + json + read one key", load),
        Op("floor: SELECT, json, UPDATE with version", cycle),
    )


def setup_django(schema: str) -> None:
    """Django on the same server, its sessions table in ``schema`` (created here).

    Not ``harness.services.setup_django``: that one reads SQLite's PRAGMAs afterwards.
    """
    import django
    from django.conf import settings
    from django.core.management import call_command

    info = psycopg.conninfo.conninfo_to_dict(URL)
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    settings.configure(
        SECRET_KEY=SECRET,
        INSTALLED_APPS=["django.contrib.sessions"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": info.get("dbname", "postgres"),
                "USER": info.get("user", ""),
                "PASSWORD": info.get("password", ""),
                "HOST": info.get("host", ""),
                "PORT": info.get("port", ""),
                "OPTIONS": {"options": f"-c search_path={schema}"},
            }
        },
        USE_TZ=True,
    )
    django.setup()
    call_command("migrate", "sessions", verbosity=0)


def drop(*schemas: str) -> None:
    with psycopg.connect(URL, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def main() -> int:
    args = parser((__doc__ or "").splitlines()[0]).parse_args()
    try:
        with psycopg.connect(URL, connect_timeout=3) as conn:
            server = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            sync = str(conn.execute("SHOW synchronous_commit").fetchone()[0])  # type: ignore[index]
    except psycopg.Error as exc:
        print(f"skipped: no PostgreSQL at {URL} ({exc})", file=sys.stderr)
        return 0
    rounds, sample_s = (4, 0.03) if args.quick else (20, 0.2)
    results = Results("bench/compare_postgres.py", "PostgreSQL sessions", quick=args.quick)
    results.versions(*VERSIONS, sqlite=False)
    results.data["versions"]["postgresql"] = server
    results.data["versions"]["postgresql synchronous_commit"] = sync
    started = time.perf_counter()
    print(banner(rounds, sample_s, "µs per operation, median (p10-p90), xN = calls per sample"))
    tag = uuid.uuid4().hex[:10]
    ours_schema, django_schema = f"swbench_{tag}", f"swbench_django_{tag}"
    pool: ConnectionPool[Any] = ConnectionPool(
        URL, min_size=1, max_size=2, kwargs={"autocommit": True}, open=True
    )
    Store: Any = None
    try:
        setup_django(django_schema)
        Store = sessionware.session_store(
            engine="postgres", url=URL, schema=ours_schema, serializer="json"
        )
        ctx = Context(results, rounds, sample_s, Path(tempfile.gettempdir()))
        ours, theirs = ours_ops("postgres", Store), django_ops("postgres", "db")
        table = sql.Identifier(ours_schema, Store.engine.table)
        floor_load, floor_cycle = floor_ops(pool, table, seeded(Store))
        group = [*ours.values(), *theirs.values(), floor_load, floor_cycle]
        ctx.measure(f"postgres: sessionware postgres engine vs Django's db backend ({URL})", group)
        note = NOTE.format(server=server, sync=sync, psycopg=psycopg.__version__)
        compare(ctx, "postgres", "postgres engine vs Django's db backend on PostgreSQL", ours,
                theirs, f"{note} {FLOOR_NOTE}")  # fmt: skip
        load_floor, lms_floor = ratio(ours["load"], floor_load), ratio(ours["lms"], floor_cycle)
        print(f"  {'load / floor':30} {load_floor:27.2f}x")
        print(f"  {'load + modify + save / floor':30} {lms_floor:27.2f}x")
        rows = [
            ["load + read one key", ours["load"], floor_load, load_floor],
            ["load + modify one key + save", ours["lms"], floor_cycle, lms_floor],
        ]
        results.table(
            "postgres engine vs a raw psycopg floor",
            ["operation", "sessionware µs (p10-p90)", "floor µs (p10-p90)", "ratio"],
            [[label, a.cell(), b.cell(), f"{r:.2f}x"] for label, a, b, r in rows],
            FLOOR_NOTE,
        )
        name = "postgres engine load + modify + save vs Django's db backend on PostgreSQL"
        lms_target(ctx, name, ours["lms"], theirs["lms"], 0.5)
        name = "postgres engine load vs Django's db backend on PostgreSQL"
        lms_target(ctx, name, ours["load"], theirs["load"], 0.5)
        name = "postgres engine load + modify + save vs the raw psycopg floor"
        lms_target(ctx, name, ours["lms"], floor_cycle, 1.3)
        name = "postgres engine load vs the raw psycopg floor"
        lms_target(ctx, name, ours["load"], floor_load, 1.3)
        chart(ctx)
    finally:
        pool.close()
        if Store is not None:
            Store.engine.close()
        from django.db import connections

        connections.close_all()
        drop(ours_schema, django_schema)
    results.print_targets()
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    results.write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
