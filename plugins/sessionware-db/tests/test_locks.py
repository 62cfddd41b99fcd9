"""Session locks (issue 12): one lease row per locked key, taken in one statement, never awaited."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sessionware_db import DbEngine

import sessionware
from sessionware.testing import count_lost_updates, expires_in


def new_key() -> str:
    return sessionware.new_session_key()


class Clock:
    """``engine.now()`` returns ``self.time`` until moved."""

    def __init__(self, start: float) -> None:
        self.time = start

    def __call__(self) -> float:
        return self.time


@pytest.fixture
def clock(engine: DbEngine, monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(engine.now())
    monkeypatch.setattr(engine, "now", clock)
    return clock


def leases(raw: sqlite3.Connection) -> list[tuple[str, str, float]]:
    return raw.execute("SELECT * FROM sessionware_session_locks ORDER BY session_key").fetchall()


def test_acquire_returns_a_fresh_random_token(engine: DbEngine) -> None:
    first = engine.acquire_lock(new_key(), 5)
    second = engine.acquire_lock(new_key(), 5)
    assert first is not None and second is not None
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


def test_a_lock_held_through_another_connection_is_refused_at_once(
    engine: DbEngine, make_engine: Callable[..., DbEngine]
) -> None:
    key = new_key()
    other = make_engine()
    assert other.acquire_lock(key, 30) is not None
    started = time.perf_counter()
    assert engine.acquire_lock(key, 30) is None
    # Tries once, never waits for the holder.
    assert time.perf_counter() - started < 0.5


def test_release_frees_the_lock(engine: DbEngine, raw: sqlite3.Connection) -> None:
    key = new_key()
    token = engine.acquire_lock(key, 5)
    assert token is not None
    engine.release_lock(key, token)
    assert leases(raw) == []
    assert engine.acquire_lock(key, 5) is not None


def test_release_of_a_lock_never_taken_is_silent(engine: DbEngine) -> None:
    engine.release_lock(new_key(), "0" * 32)


def test_a_run_out_lease_can_be_taken(engine: DbEngine, clock: Clock) -> None:
    key = new_key()
    assert engine.acquire_lock(key, 10) is not None
    clock.time += 9.9
    assert engine.acquire_lock(key, 10) is None
    clock.time += 0.1
    assert engine.acquire_lock(key, 10) is not None


def test_a_holder_whose_lease_was_taken_over_cannot_release_the_new_holder(
    engine: DbEngine, clock: Clock
) -> None:
    key = new_key()
    old = engine.acquire_lock(key, 1)
    clock.time += 2
    new = engine.acquire_lock(key, 30)
    assert old is not None and new is not None
    engine.release_lock(key, old)
    assert engine.acquire_lock(key, 30) is None
    engine.release_lock(key, new)
    assert engine.acquire_lock(key, 30) is not None


def test_a_lock_neither_needs_nor_creates_a_session(
    engine: DbEngine, rows: Callable[[], int]
) -> None:
    key = new_key()
    assert engine.acquire_lock(key, 5) is not None
    assert rows() == 0
    assert engine.load(key) is None


def test_a_lock_does_not_stop_saves_of_its_session(engine: DbEngine) -> None:
    # The lock is advisory: it serializes lock holders, it does not fence writers.
    key = new_key()
    engine.save(key, b"a", expires_in(), must_create=True)
    assert engine.acquire_lock(key, 5) is not None
    engine.save(key, b"b", expires_in())
    assert engine.load(key) == b"b"


def test_the_lease_records_its_expiry(
    engine: DbEngine, clock: Clock, raw: sqlite3.Connection
) -> None:
    key = new_key()
    token = engine.acquire_lock(key, 7.5)
    assert leases(raw) == [(key, token, clock.time + 7.5)]


def test_acquire_of_an_invalid_key_raises_invalid_session_key(
    engine: DbEngine, raw: sqlite3.Connection
) -> None:
    with pytest.raises(sessionware.InvalidSessionKey):
        engine.acquire_lock("../../etc/passwd", 5)
    assert leases(raw) == []


def test_release_of_an_invalid_key_is_silent(engine: DbEngine) -> None:
    engine.release_lock("../../etc/passwd", "0" * 32)


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), "5", True, None])
def test_a_ttl_that_is_not_a_positive_number_of_seconds_is_refused(
    engine: DbEngine, ttl: Any
) -> None:
    with pytest.raises(ValueError, match="ttl"):
        engine.acquire_lock(new_key(), ttl)


def test_clear_expired_drops_run_out_leases_and_keeps_live_ones(
    engine: DbEngine, clock: Clock, raw: sqlite3.Connection
) -> None:
    dead, live = new_key(), new_key()
    engine.acquire_lock(dead, 1)
    live_token = engine.acquire_lock(live, 60)
    engine.save(new_key(), b"x", clock.time + 1, must_create=True)
    clock.time += 2
    assert engine.clear_expired() == 1  # sessions only; leases are not counted
    assert leases(raw) == [(live, live_token, clock.time - 2 + 60)]


def test_the_busy_timeout_bounds_the_wait_for_sqlites_write_lock(
    make_engine: Callable[..., DbEngine], db_path: Path
) -> None:
    engine = make_engine(timeout=0.2)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.perf_counter()
        with pytest.raises(sessionware.EngineUnavailable) as info:
            engine.acquire_lock(new_key(), 5)
        assert time.perf_counter() - started < 2
        assert info.value.address == engine.path
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_an_unusable_database_raises_engine_unavailable_naming_the_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "volume").mkdir()
    engine = DbEngine(path=tmp_path / "volume" / "s.sqlite3")
    shutil.rmtree(tmp_path / "volume")
    try:
        for call in (
            lambda: engine.acquire_lock(new_key(), 5),
            lambda: engine.release_lock(new_key(), "0" * 32),
        ):
            with pytest.raises(sessionware.EngineUnavailable) as info:
                call()
            assert info.value.address == engine.path
    finally:
        engine.close()


async def test_async_twins_follow_the_same_rules(engine: DbEngine) -> None:
    a, b = new_key(), new_key()
    token = await engine.aacquire_lock(a, 5)
    assert token is not None
    assert await engine.aacquire_lock(a, 5) is None
    assert await engine.aacquire_lock(b, 5) is not None
    await engine.arelease_lock(a, "0" * 32)
    assert await engine.aacquire_lock(a, 5) is None
    await engine.arelease_lock(a, token)
    assert await engine.aacquire_lock(a, 5) is not None


# -- other processes ---------------------------------------------------------------

# argv = path, key, ttl: take the lock, print the token (or "None"), exit without releasing.
TAKER = r"""
import sys
from sessionware_db import DbEngine
engine = DbEngine(path=sys.argv[1])
print(engine.acquire_lock(sys.argv[2], float(sys.argv[3])))
engine.close()
"""


def take_in_another_process(engine: DbEngine, key: str, ttl: float) -> str:
    done = subprocess.run(
        [sys.executable, "-c", TAKER, engine.path, key, str(ttl)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_a_lock_is_shared_by_every_process_and_outlives_a_dead_holder_only_until_its_ttl(
    engine: DbEngine, clock: Clock
) -> None:
    key = new_key()
    # The holder exits without releasing, as a crashed one would.
    assert take_in_another_process(engine, key, 30) != "None"
    assert engine.acquire_lock(key, 5) is None
    clock.time = time.time() + 31  # the other process took it on the real clock
    mine = engine.acquire_lock(key, 3600)
    assert mine is not None
    assert take_in_another_process(engine, key, 30) == "None"


def test_two_processes_incrementing_one_key_under_the_lock_lose_nothing(
    engine: DbEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    cycles = 2000
    result = count_lost_updates(
        DbEngine, {"path": engine.path}, mode="locked", cycles=cycles, same_key=True
    )
    assert result.overlapped
    assert result.final == {"n": 2 * cycles}
    with capsys.disabled():
        print(f"\n  db, {result}")
