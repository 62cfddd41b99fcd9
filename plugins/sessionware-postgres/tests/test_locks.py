"""Session locks: lease rows timed by the database's clock, never waited for inside the engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sessionware_postgres import PostgresEngine

import sessionware
from sessionware.testing import ReferenceSerializer, expires_in

from ._pg import table_of

Make = Callable[..., PostgresEngine]


def new_key() -> str:
    return sessionware.new_session_key()


def leases(raw: psycopg.Connection[Any], engine: PostgresEngine) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in raw.execute(
            sql.SQL("SELECT session_key, token FROM {}").format(table_of(engine, "_locks"))
        ).fetchall()
    ]


def test_a_lease_is_one_row_in_the_locks_table_and_release_deletes_it(
    engine: PostgresEngine, raw: psycopg.Connection[Any]
) -> None:
    key = new_key()
    token = engine.acquire_lock(key, 30)
    assert token is not None and len(token) == 32
    assert leases(raw, engine) == [(key, token)]
    engine.release_lock(key, token)
    assert leases(raw, engine) == []


def test_a_lease_runs_out_by_the_database_clock_not_the_apps(
    engine: PostgresEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    assert engine.acquire_lock(key, 30) is not None
    # An app server whose clock runs an hour ahead still sees the lease held.
    monkeypatch.setattr(engine, "now", lambda: time.time() + 3600)
    assert engine.acquire_lock(key, 30) is None


def test_a_second_engine_cannot_take_a_held_lock_nor_release_it(make_engine: Make) -> None:
    first = make_engine()
    second = make_engine(table=first.table)
    key = new_key()
    token = first.acquire_lock(key, 30)
    assert token is not None
    assert second.acquire_lock(key, 30) is None
    second.release_lock(key, "0" * 32)
    assert second.acquire_lock(key, 30) is None
    second.release_lock(key, token)  # the holder's token, from anywhere, releases it
    assert second.acquire_lock(key, 30) is not None


def test_acquire_answers_at_once_while_another_engine_holds_the_lock(make_engine: Make) -> None:
    first = make_engine()
    second = make_engine(table=first.table)
    key = new_key()
    assert first.acquire_lock(key, 30) is not None
    second.acquire_lock(key, 30)  # warm the pool and the prepared statement
    started = time.perf_counter()
    for _ in range(20):
        assert second.acquire_lock(key, 30) is None
    assert time.perf_counter() - started < 1.0


def test_clear_expired_removes_leases_that_ran_out_and_keeps_live_ones(
    engine: PostgresEngine, raw: psycopg.Connection[Any]
) -> None:
    old, live = new_key(), new_key()
    assert engine.acquire_lock(old, 0.05) is not None
    live_token = engine.acquire_lock(live, 60)
    time.sleep(0.1)
    engine.save(new_key(), b"x", expires_in(), must_create=True)
    assert engine.clear_expired() == 0  # leases are not sessions: not counted
    assert leases(raw, engine) == [(live, live_token)]


def test_a_lock_on_an_invalid_key_is_refused_before_any_sql(engine: PostgresEngine) -> None:
    with pytest.raises(sessionware.InvalidSessionKey):
        engine.acquire_lock("x'; DROP TABLE sessions; --", 5)
    engine.release_lock("x'; DROP TABLE sessions; --", "t")


async def test_async_acquires_from_many_tasks_have_exactly_one_winner(
    engine: PostgresEngine,
) -> None:
    key = new_key()
    tokens = await asyncio.gather(*(engine.aacquire_lock(key, 30) for _ in range(8)))
    winners = [t for t in tokens if t is not None]
    assert len(winners) == 1
    await engine.arelease_lock(key, winners[0])
    assert await engine.aacquire_lock(key, 30) is not None


def test_session_lock_serializes_read_modify_write_across_engines(make_engine: Make) -> None:
    Store = sessionware.session_store(
        engine_instance=make_engine(), serializer_instance=ReferenceSerializer()
    )
    session = Store()
    session["n"] = 0
    session.save()
    other = sessionware.session_store(
        engine_instance=make_engine(table=Store.engine.table),  # type: ignore[attr-defined]
        serializer_instance=ReferenceSerializer(),
    )(session.session_key)
    with session.lock(timeout=5):
        session["n"] = session["n"] + 1
    with other.lock(timeout=5):
        other["n"] = other["n"] + 1
    assert Store(session.session_key)["n"] == 2
