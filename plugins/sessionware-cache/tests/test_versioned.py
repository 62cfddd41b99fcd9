"""Versioned saves (issue 12): load_versioned, save_versioned, and a race of two threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sessionware_cache import CacheEngine

import sessionware
from sessionware.testing import count_lost_updates, expired, expires_in


def new_key() -> str:
    return sessionware.new_session_key()


@pytest.fixture
def saved(engine: CacheEngine) -> tuple[str, int]:
    """A live session created through save_versioned: its key and version."""
    key = new_key()
    _, version = engine.save_versioned(key, b"first", expires_in(), None)
    assert isinstance(version, int)
    return key, version


# -- load_versioned ----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "../x", "A" * 32, "a" * 31 + "/"])
def test_load_versioned_of_an_invalid_key_is_none(engine: CacheEngine, bad: str) -> None:
    assert engine.load_versioned(bad) is None


def test_load_versioned_of_a_missing_key_is_none_and_creates_nothing(engine: CacheEngine) -> None:
    assert engine.load_versioned(new_key()) is None
    assert engine.size == 0


def test_load_versioned_of_an_expired_session_is_none(engine: CacheEngine, clock: Any) -> None:
    key = new_key()
    engine.save_versioned(key, b"x", clock.time + 10, None)
    clock.advance(10)
    assert engine.load_versioned(key) is None


# -- save_versioned: create ----------------------------------------------------------


def test_create_over_an_expired_session_succeeds_with_a_new_version(
    engine: CacheEngine, clock: Any
) -> None:
    key = new_key()
    _, old = engine.save_versioned(key, b"old", clock.time + 1, None)
    clock.advance(2)
    _, new = engine.save_versioned(key, b"new", clock.time + 60, None)
    assert new != old
    assert engine.load_versioned(key) == (b"new", new)


def test_a_key_deleted_and_created_again_never_gets_a_version_handed_out_before(
    engine: CacheEngine, saved: tuple[str, int]
) -> None:
    key, version = saved
    engine.delete(key)
    _, again = engine.save_versioned(key, b"again", expires_in(), None)
    assert again != version
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"stale", expires_in(), version)


def test_saving_already_expired_stores_nothing(engine: CacheEngine) -> None:
    key = new_key()
    engine.save_versioned(key, b"x", expired(), None)
    assert engine.load_versioned(key) is None


# -- save_versioned: compare-and-set -------------------------------------------------


def test_stale_save_raises_version_conflict_and_writes_nothing(
    engine: CacheEngine, saved: tuple[str, int], clock: Any
) -> None:
    key, version = saved
    _, current = engine.save_versioned(key, b"theirs", clock.time + 600, version)
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"mine", clock.time + 60, version)
    assert engine.load_versioned(key) == (b"theirs", current)
    clock.advance(300)  # the expiry of the refused save was not written either
    assert engine.load(key) == b"theirs"


def test_rewriting_the_same_bytes_still_changes_the_version(
    engine: CacheEngine, saved: tuple[str, int]
) -> None:
    key, version = saved
    _, new = engine.save_versioned(key, b"first", expires_in(), version)
    assert new != version
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"first", expires_in(), version)


def test_versioned_update_of_an_expired_session_raises_update_error(
    engine: CacheEngine, clock: Any
) -> None:
    key = new_key()
    _, version = engine.save_versioned(key, b"x", clock.time + 10, None)
    clock.advance(11)
    with pytest.raises(sessionware.UpdateError):
        engine.save_versioned(key, b"late", clock.time + 60, version)
    assert engine.exists(key) is False


def test_versioned_update_of_an_evicted_session_raises_update_error(
    make_engine: Callable[..., CacheEngine],
) -> None:
    engine = make_engine(maxsize=1)
    key = new_key()
    _, version = engine.save_versioned(key, b"x", expires_in(), None)
    engine.save_versioned(new_key(), b"y", expires_in(), None)
    with pytest.raises(sessionware.UpdateError):
        engine.save_versioned(key, b"z", expires_in(), version)


@pytest.mark.parametrize("version", [None, 1])
def test_save_versioned_of_an_invalid_key_raises_invalid_session_key(
    engine: CacheEngine, version: int | None
) -> None:
    with pytest.raises(sessionware.InvalidSessionKey):
        engine.save_versioned("../../etc/passwd", b"x", expires_in(), version)
    assert engine.size == 0


@pytest.mark.parametrize("version", ["1", b"1", 1.0, True, 0, -1])
def test_a_version_this_engine_never_gives_is_a_type_error(
    engine: CacheEngine, saved: tuple[str, int], version: Any
) -> None:
    with pytest.raises(TypeError, match="not a version of the cache engine"):
        engine.save_versioned(saved[0], b"x", expires_in(), version)
    assert engine.load(saved[0]) == b"first"


# -- async twins -------------------------------------------------------------------


async def test_async_twins_follow_the_same_rules(engine: CacheEngine) -> None:
    key = new_key()
    assert await engine.aload_versioned(key) is None
    _, v1 = await engine.asave_versioned(key, b"a", expires_in(), None)
    with pytest.raises(sessionware.CreateError):
        await engine.asave_versioned(key, b"b", expires_in(), None)
    assert await engine.aload_versioned(key) == (b"a", v1)
    _, v2 = await engine.asave_versioned(key, b"b", expires_in(), v1)
    assert v2 != v1
    with pytest.raises(sessionware.VersionConflict):
        await engine.asave_versioned(key, b"stale", expires_in(), v1)
    engine.save(key, b"plain", expires_in())
    with pytest.raises(sessionware.VersionConflict):
        await engine.asave_versioned(key, b"stale", expires_in(), v2)
    engine.delete(key)
    with pytest.raises(sessionware.UpdateError):
        await engine.asave_versioned(key, b"gone", expires_in(), v2)


async def test_async_twins_run_inline_on_the_loop_thread(
    engine: CacheEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[threading.Thread] = []
    load = engine.load_versioned

    def spy(key: str) -> Any:
        seen.append(threading.current_thread())
        return load(key)

    monkeypatch.setattr(engine, "load_versioned", spy)
    await engine.aload_versioned(new_key())
    await asyncio.sleep(0)
    assert seen == [threading.current_thread()]


# -- a real race between two threads -------------------------------------------------


def test_two_threads_racing_versioned_cycles_lose_nothing(
    engine: CacheEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    cycles = 2000
    result = count_lost_updates(engine, mode="versioned", cycles=cycles, processes=False)
    assert result.final == {"w0": cycles, "w1": cycles}
    plain = count_lost_updates(engine, mode="plain", cycles=cycles, processes=False)
    with capsys.disabled():
        print(f"\n  cache, {result}\n  cache, {plain}")
