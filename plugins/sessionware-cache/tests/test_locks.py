"""Session locks (issue 12): (token, deadline) leases in a dict under the engine's lock."""

from __future__ import annotations

import os
import signal
import time
import warnings
from typing import Any

import pytest
from sessionware_cache import CacheEngine

import sessionware
from sessionware.testing import count_lost_updates


def new_key() -> str:
    return sessionware.new_session_key()


def test_acquire_returns_a_fresh_random_token(engine: CacheEngine) -> None:
    first = engine.acquire_lock(new_key(), 5)
    second = engine.acquire_lock(new_key(), 5)
    assert first is not None and second is not None
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


def test_release_frees_the_lock(engine: CacheEngine) -> None:
    key = new_key()
    token = engine.acquire_lock(key, 5)
    assert token is not None
    engine.release_lock(key, token)
    assert engine._leases == {}
    assert engine.acquire_lock(key, 5) is not None


def test_release_of_a_lock_never_taken_is_silent(engine: CacheEngine) -> None:
    engine.release_lock(new_key(), "0" * 32)
    engine.release_lock("../../etc/passwd", "0" * 32)


def test_a_run_out_lease_can_be_taken(engine: CacheEngine, clock: Any) -> None:
    key = new_key()
    assert engine.acquire_lock(key, 10) is not None
    clock.advance(9.9)
    assert engine.acquire_lock(key, 10) is None
    clock.advance(0.1)
    assert engine.acquire_lock(key, 10) is not None


def test_a_holder_whose_lease_was_taken_over_cannot_release_the_new_holder(
    engine: CacheEngine, clock: Any
) -> None:
    key = new_key()
    old = engine.acquire_lock(key, 1)
    clock.advance(2)
    new = engine.acquire_lock(key, 30)
    assert old is not None and new is not None
    engine.release_lock(key, old)
    assert engine.acquire_lock(key, 30) is None
    engine.release_lock(key, new)
    assert engine.acquire_lock(key, 30) is not None


def test_a_lock_neither_needs_nor_creates_a_session(engine: CacheEngine) -> None:
    key = new_key()
    assert engine.acquire_lock(key, 5) is not None
    assert engine.size == 0
    assert engine.load(key) is None


def test_acquire_of_an_invalid_key_raises_invalid_session_key(engine: CacheEngine) -> None:
    with pytest.raises(sessionware.InvalidSessionKey):
        engine.acquire_lock("../../etc/passwd", 5)
    assert engine._leases == {}


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), "5", True, None])
def test_a_ttl_that_is_not_a_positive_number_of_seconds_is_refused(
    engine: CacheEngine, ttl: Any
) -> None:
    with pytest.raises(ValueError, match="ttl"):
        engine.acquire_lock(new_key(), ttl)


def test_clear_expired_drops_run_out_leases_and_keeps_live_ones(
    engine: CacheEngine, clock: Any
) -> None:
    dead, live = new_key(), new_key()
    engine.acquire_lock(dead, 1)
    live_token = engine.acquire_lock(live, 60)
    engine.save(new_key(), b"x", clock.time + 1, must_create=True)
    clock.advance(2)
    assert engine.clear_expired() == 1  # sessions only; leases are not counted
    assert engine._leases == {live: (live_token, clock.time - 2 + 60)}


def test_close_drops_the_leases(engine: CacheEngine) -> None:
    key = new_key()
    engine.acquire_lock(key, 60)
    engine.close()
    assert engine.acquire_lock(key, 60) is not None


async def test_async_twins_follow_the_same_rules(engine: CacheEngine) -> None:
    a, b = new_key(), new_key()
    token = await engine.aacquire_lock(a, 5)
    assert token is not None
    assert await engine.aacquire_lock(a, 5) is None
    assert await engine.aacquire_lock(b, 5) is not None
    await engine.arelease_lock(a, "0" * 32)
    assert await engine.aacquire_lock(a, 5) is None
    await engine.arelease_lock(a, token)
    assert await engine.aacquire_lock(a, 5) is not None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_inherit_the_parents_locks_as_held(engine: CacheEngine) -> None:
    key = new_key()
    token = engine.acquire_lock(key, 60)
    assert token is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            code = 0 if engine.acquire_lock(key, 60) is not None else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 10
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's holder still holds it.
    assert engine.acquire_lock(key, 60) is None


def test_two_threads_incrementing_one_key_under_the_lock_lose_nothing(
    engine: CacheEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    cycles = 2000
    result = count_lost_updates(
        engine, mode="locked", cycles=cycles, processes=False, same_key=True
    )
    assert result.final == {"n": 2 * cycles}
    with capsys.disabled():
        print(f"\n  cache, {result}")
