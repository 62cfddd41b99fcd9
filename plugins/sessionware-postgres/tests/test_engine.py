"""The engine against a real server: its schema, purge, health, outages, fork and asyncio."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sessionware_postgres import SCHEMA_VERSION, PostgresEngine

import sessionware
from sessionware.testing import expired, expires_in

from ._pg import table_of

Make = Callable[..., PostgresEngine]


def new_key() -> str:
    return sessionware.new_session_key()


def relation(raw: psycopg.Connection[Any], engine: PostgresEngine, suffix: str = "") -> Any:
    return raw.execute(
        "SELECT relpersistence, obj_description(oid, 'pg_class') FROM pg_class "
        "WHERE oid = to_regclass(%s)",
        (f'"{engine.schema}"."{engine.table}{suffix}"',),
    ).fetchone()


# -- the schema ---------------------------------------------------------------------------


def test_first_use_creates_both_tables_logged_with_the_schema_version(
    engine: PostgresEngine, raw: psycopg.Connection[Any]
) -> None:
    assert relation(raw, engine) is None  # nothing before the first call
    assert engine.load(new_key()) is None
    persistence, comment = relation(raw, engine)
    assert persistence == "p" and f"schema {SCHEMA_VERSION}" in comment
    assert relation(raw, engine, "_locks")[0] == "p"
    indexes = raw.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
        (engine.schema, engine.table),
    ).fetchall()
    assert any("(expires_at)" in row[0] for row in indexes)


def test_unlogged_tables_on_request(make_engine: Make, raw: psycopg.Connection[Any]) -> None:
    engine = make_engine(unlogged=True)
    key = engine.save(new_key(), b"fast", expires_in(), must_create=True)
    assert engine.load(key) == b"fast"
    assert relation(raw, engine)[0] == "u"
    assert relation(raw, engine, "_locks")[0] == "u"


def test_a_table_without_the_version_column_is_upgraded_in_place(
    make_engine: Make, pg_schema: str, raw: psycopg.Connection[Any]
) -> None:
    table = f"t_{uuid.uuid4().hex[:16]}"
    raw.execute(f'CREATE SCHEMA IF NOT EXISTS "{pg_schema}"')
    raw.execute(
        f'CREATE TABLE "{pg_schema}"."{table}" (session_key text PRIMARY KEY, '
        "session_data bytea NOT NULL, expires_at double precision NOT NULL)"
    )
    key = new_key()
    raw.execute(
        sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(sql.Identifier(pg_schema, table)),
        (key, b"old", expires_in()),
    )
    engine = make_engine(table=table)
    assert engine.load_versioned(key) == (b"old", 0)
    assert engine.save_versioned(key, b"new", expires_in(), 0) == (key, 1)
    assert engine.acquire_lock(key, 5) is not None


def test_engines_starting_together_create_the_schema_once(make_engine: Make) -> None:
    first = make_engine()
    engines = [first] + [make_engine(table=first.table) for _ in range(5)]
    errors: list[BaseException] = []

    def use(engine: PostgresEngine) -> None:
        try:
            engine.save(new_key(), b"x", expires_in(), must_create=True)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=use, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors


@pytest.fixture
def app_role(raw: psycopg.Connection[Any], pg_url: str) -> Iterator[tuple[str, str]]:
    """A login role with no privilege on anything of ours (an app user without DDL)."""
    role = f"swtest_app_{uuid.uuid4().hex[:8]}"
    raw.execute(f'CREATE ROLE "{role}" LOGIN')
    info = psycopg.conninfo.conninfo_to_dict(pg_url)
    info["user"] = role
    yield role, psycopg.conninfo.make_conninfo(**info)
    raw.execute(f'DROP OWNED BY "{role}"')
    raw.execute(f'DROP ROLE "{role}"')


def test_an_app_user_without_ddl_rights_is_told_how_to_create_the_schema(
    make_engine: Make, app_role: tuple[str, str], raw: psycopg.Connection[Any], pg_schema: str
) -> None:
    role, url = app_role
    table = f"t_{uuid.uuid4().hex[:16]}"
    with pytest.raises(sessionware.ConfigurationError, match="create-schema") as caught:
        make_engine(url=url, table=table).load(new_key())
    assert f"--table {table} --grant-to ROLE" in str(caught.value)
    raw.execute(f'CREATE SCHEMA IF NOT EXISTS "{pg_schema}"')
    raw.execute(f'GRANT USAGE ON SCHEMA "{pg_schema}" TO "{role}"')
    # The schema can be read but the tables are missing, and may not be created here.
    with pytest.raises(sessionware.ConfigurationError, match="create-schema") as caught:
        make_engine(url=url, table=table, create=False).load(new_key())
    assert f"lacks the table {pg_schema}.{table}" in str(caught.value)
    with pytest.raises(sessionware.ConfigurationError, match="refused: permission denied"):
        make_engine(url=url, table=table, create=True).load(new_key())
    # The tables' owner makes them (what the CLI does); without grants, the app is told.
    make_engine(table=table).create_schema()
    with pytest.raises(sessionware.ConfigurationError, match="lacks privileges"):
        make_engine(url=url, table=table, create=False).load(new_key())


def test_create_schema_with_grants_lets_the_app_user_work_without_ddl(
    make_engine: Make, app_role: tuple[str, str], pg_schema: str
) -> None:
    role, url = app_role
    owner = make_engine()
    steps = owner.create_schema(grant_to=role)
    assert any(step.startswith("GRANT SELECT, INSERT, UPDATE, DELETE") for step in steps)
    app = make_engine(url=url, table=owner.table, create=False)
    key = app.save(new_key(), b"x", expires_in(), must_create=True)
    assert app.load_versioned(key) == (b"x", 1)
    assert app.acquire_lock(key, 5) is not None
    app.save(new_key(), b"old", expired(), must_create=True)
    assert app.clear_expired() == 1
    app.health()


def test_a_dropped_table_is_unavailable_then_created_again(
    engine: PostgresEngine, raw: psycopg.Connection[Any]
) -> None:
    key = engine.save(new_key(), b"x", expires_in(), must_create=True)
    raw.execute(f'DROP TABLE "{engine.schema}"."{engine.table}"')
    with pytest.raises(sessionware.EngineUnavailable, match="created again"):
        engine.load(key)
    assert engine.load(key) is None
    assert engine.save(key, b"y", expires_in(), must_create=True) == key


# -- clear_expired and count_expired -------------------------------------------------------


def fill(raw: psycopg.Connection[Any], engine: PostgresEngine, live: int, dead: int) -> None:
    engine.health()
    now = time.time()
    with raw.cursor().copy(
        f'COPY "{engine.schema}"."{engine.table}" (session_key, session_data, expires_at) '
        "FROM STDIN"
    ) as copy:
        for index in range(live + dead):
            copy.write_row((new_key(), b"x", now + 600 if index < live else now - 600))


def test_clear_expired_purges_in_batches_and_reports_progress(
    make_engine: Make, raw: psycopg.Connection[Any], rows: Callable[[], int]
) -> None:
    engine = make_engine(batch_size=100)
    fill(raw, engine, live=50, dead=450)
    assert engine.count_expired() == 450
    seen: list[int] = []
    assert engine.clear_expired(progress=seen.append) == 450
    assert seen == [100, 200, 300, 400, 450]
    assert engine.count_expired() == 0
    assert engine.clear_expired() == 0


def test_clear_expired_from_several_machines_at_once_deletes_each_row_once(
    make_engine: Make, raw: psycopg.Connection[Any]
) -> None:
    first = make_engine(batch_size=50)
    purgers = [first] + [make_engine(table=first.table, batch_size=50) for _ in range(3)]
    fill(raw, first, live=100, dead=2000)
    counts: list[int] = []
    threads = [
        threading.Thread(target=lambda e=e: counts.append(e.clear_expired())) for e in purgers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(counts) == 2000 and len(counts) == 4
    assert first.count_expired() == 0


def test_clear_expired_skips_a_row_a_request_holds_instead_of_waiting(
    make_engine: Make, pg_url: str
) -> None:
    engine = make_engine(statement_timeout=2.0)
    key = engine.save(new_key(), b"x", expired(), must_create=True)
    engine.save(new_key(), b"y", expired(), must_create=True)
    with psycopg.connect(pg_url) as holder:  # a transaction holding the row's lock
        holder.execute(
            sql.SQL("SELECT 1 FROM {} WHERE session_key = %s FOR UPDATE").format(table_of(engine)),
            (key,),
        )
        started = time.perf_counter()
        assert engine.clear_expired() == 1
        assert time.perf_counter() - started < 1.0
    assert engine.clear_expired() == 1


async def test_async_clear_expired_and_count(
    make_engine: Make, raw: psycopg.Connection[Any]
) -> None:
    engine = make_engine(batch_size=7)
    fill(raw, engine, live=3, dead=20)
    assert await engine.acount_expired() == 20
    seen: list[int] = []
    assert await engine.aclear_expired(progress=seen.append) == 20
    assert seen == [7, 14, 20]


# -- health --------------------------------------------------------------------------------


def test_health_passes_and_creates_nothing_but_the_tables(
    engine: PostgresEngine, rows: Callable[[], int]
) -> None:
    engine.health()
    assert rows() == 0


async def test_ahealth_passes(engine: PostgresEngine) -> None:
    await engine.ahealth()


def test_health_reports_a_read_only_server(make_engine: Make, pg_url: str) -> None:
    make_engine().health()
    read_only = make_engine(url=pg_url + "?options=-c%20default_transaction_read_only%3Don")
    with pytest.raises(sessionware.EngineUnavailable, match="read-only") as caught:
        read_only.health()
    assert caught.value.address == read_only.address


def test_health_reports_an_address_nothing_listens_on(make_engine: Make) -> None:
    engine = make_engine(url="postgresql://postgres@127.0.0.1:1/test")
    with pytest.raises(sessionware.EngineUnavailable, match=r"127\.0\.0\.1:1"):
        engine.health()


# -- outages: each becomes EngineUnavailable with the address, then recovers -------------------


def test_a_read_only_server_after_failover_is_unavailable_for_writes(
    make_engine: Make, pg_url: str
) -> None:
    engine = make_engine()
    engine.health()
    demoted = make_engine(
        url=pg_url + "?options=-c%20default_transaction_read_only%3Don", table=engine.table
    )
    key = new_key()
    with pytest.raises(sessionware.EngineUnavailable, match="25006") as caught:
        demoted.save(key, b"x", expires_in(), must_create=True)
    assert caught.value.address == demoted.address
    assert demoted.load(key) is None  # reads still work


def test_an_admin_shutdown_of_the_connections_is_unavailable_then_recovers(
    make_engine: Make, raw: psycopg.Connection[Any]
) -> None:
    name = f"swtest-{uuid.uuid4().hex[:8]}"
    engine = make_engine(application_name=name)
    key = engine.save(new_key(), b"x", expires_in(), must_create=True)
    engine.load(key)
    raw.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        (name,),
    )
    time.sleep(0.1)
    with pytest.raises(sessionware.EngineUnavailable) as caught:
        engine.load(key)
    assert caught.value.address == engine.address
    assert engine.load(key) == b"x"  # the pool was drained: fresh connections


def test_a_statement_past_statement_timeout_is_unavailable(make_engine: Make, pg_url: str) -> None:
    engine = make_engine(statement_timeout=0.2)
    key = engine.save(new_key(), b"x", expires_in(), must_create=True)
    with psycopg.connect(pg_url) as holder:
        holder.execute(
            sql.SQL("SELECT 1 FROM {} WHERE session_key = %s FOR UPDATE").format(table_of(engine)),
            (key,),
        )
        with pytest.raises(sessionware.EngineUnavailable, match="statement_timeout"):
            engine.save(key, b"y", expires_in())
    assert engine.save(key, b"y", expires_in()) == key


def test_an_exhausted_pool_is_unavailable_and_says_so(make_engine: Make) -> None:
    engine = make_engine(pool_size=1, pool_min_size=0, pool_timeout=0.3)
    engine.health()
    pool = engine._pool()
    held = pool.getconn()
    try:
        started = time.perf_counter()
        with pytest.raises(sessionware.EngineUnavailable, match="exhausted") as caught:
            engine.load(new_key())
        assert 0.25 < time.perf_counter() - started < 2.0
        assert caught.value.address == engine.address
    finally:
        pool.pool.putconn(held)
    assert engine.load(new_key()) is None


def test_refused_connections_fail_fast_and_never_show_the_password(make_engine: Make) -> None:
    engine = make_engine(url="postgresql://postgres:hunter2secret@127.0.0.1:1/test")
    for _ in range(3):
        started = time.perf_counter()
        with pytest.raises(sessionware.EngineUnavailable) as caught:
            engine.save(new_key(), b"x", expires_in(), must_create=True)
        assert time.perf_counter() - started < 1.0
        assert "hunter2secret" not in str(caught.value)
        assert caught.value.address == "postgresql://postgres@127.0.0.1:1/test"


def test_refused_credentials_are_unavailable_with_a_hint(make_engine: Make, pg_url: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(pg_url)
    info["user"] = "swtest_nobody"
    engine = make_engine(url=psycopg.conninfo.make_conninfo(**info))
    with pytest.raises(sessionware.EngineUnavailable, match="swtest_nobody"):
        engine.load(new_key())


# -- processes and event loops -------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_uses_pools_of_its_own_and_the_parent_keeps_working(
    engine: PostgresEngine,
) -> None:
    key = engine.save(new_key(), b"parent", expires_in(), must_create=True)
    parent_pool = engine._sync
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with the pool's threads
        pid = os.fork()
    if pid == 0:  # the child reports through its exit code
        code = 1
        try:
            ok = engine._sync is None and engine.load(key) == b"parent"
            engine.save(key, b"child", expires_in())
            code = 0 if ok and engine._sync is not parent_pool else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while not (done := os.waitpid(pid, os.WNOHANG))[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(done[1]) == 0
    assert engine._sync is parent_pool
    assert engine.load(key) == b"child"  # the parent's connections still work


def test_each_event_loop_gets_its_own_pool_without_threads(
    engine: PostgresEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = engine.save(new_key(), b"x", expires_in(), must_create=True)
    engine.close()
    started_threads: list[threading.Thread] = []
    original = threading.Thread.start

    def spy(self: threading.Thread) -> None:
        started_threads.append(self)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", spy)

    async def use() -> bytes | None:
        return await engine.aload(key)

    assert asyncio.run(use()) == b"x"
    assert asyncio.run(use()) == b"x"
    assert started_threads == []
    assert engine._sync is None
    assert len(engine._loops) <= 2  # closed loops' pools are dropped on the next attach


async def test_many_concurrent_tasks_share_the_loop_pool(make_engine: Make) -> None:
    engine = make_engine(pool_size=3)
    keys = [await engine.asave(new_key(), b"%d" % i, expires_in(), True) for i in range(30)]
    loaded = await asyncio.gather(*(engine.aload(k) for k in keys))
    assert loaded == [b"%d" % i for i in range(30)]
    await engine.aclose()


async def test_async_refused_connections_fail_fast(make_engine: Make) -> None:
    engine = make_engine(url="postgresql://postgres:pw@127.0.0.1:1/test")
    for _ in range(3):
        started = time.perf_counter()
        with pytest.raises(sessionware.EngineUnavailable):
            await engine.aload(new_key())
        assert time.perf_counter() - started < 1.0
