"""The engine operations: load, save, exists, delete, clear_expired, close, per-session expiry."""

from __future__ import annotations

from typing import Any

import pytest
from sessionware_cache import CacheEngine

import sessionware
from sessionware.testing import expired, expires_in


def new_key() -> str:
    return sessionware.new_session_key()


def test_load_returns_the_saved_bytes(engine: CacheEngine) -> None:
    key = new_key()
    engine.save(key, b"payload", expires_in(), must_create=True)
    assert engine.load(key) == b"payload"


def test_save_returns_the_key(engine: CacheEngine) -> None:
    key = new_key()
    assert engine.save(key, b"x", expires_in(), must_create=True) == key
    assert engine.save(key, b"y", expires_in()) == key


@pytest.mark.parametrize("wrap", [bytearray, memoryview])
def test_bytes_like_data_is_stored_as_an_independent_copy(engine: CacheEngine, wrap: Any) -> None:
    key = new_key()
    buffer = bytearray(b"abc")
    engine.save(key, wrap(buffer), expires_in(), must_create=True)
    buffer[0:3] = b"XYZ"
    loaded = engine.load(key)
    assert loaded == b"abc" and type(loaded) is bytes


def test_load_of_a_missing_key_is_none_and_stores_nothing(engine: CacheEngine) -> None:
    assert engine.load(new_key()) is None
    assert engine.size == 0


def test_must_create_on_a_live_key_raises_and_keeps_the_original(engine: CacheEngine) -> None:
    key = new_key()
    engine.save(key, b"first", expires_in(), must_create=True)
    with pytest.raises(sessionware.CreateError, match="already exists"):
        engine.save(key, b"second", expires_in(), must_create=True)
    assert engine.load(key) == b"first"


def test_update_of_a_missing_key_raises_and_creates_nothing(engine: CacheEngine) -> None:
    key = new_key()
    with pytest.raises(sessionware.UpdateError, match="not recreated"):
        engine.save(key, b"ghost", expires_in())
    assert engine.exists(key) is False
    assert engine.size == 0


def test_hostile_key_is_refused_before_the_cache_is_touched(engine: CacheEngine) -> None:
    with pytest.raises(sessionware.InvalidSessionKey):
        engine.save("../../etc/passwd", b"x", expires_in(), must_create=True)
    assert engine.load("../../etc/passwd") is None
    assert engine.exists("*") is False
    engine.delete("' OR 1=1 --")
    assert engine.size == 0


def test_delete_removes_the_session(engine: CacheEngine) -> None:
    key = new_key()
    engine.save(key, b"x", expires_in(), must_create=True)
    engine.delete(key)
    assert engine.load(key) is None
    assert engine.size == 0


def test_delete_twice_and_of_a_missing_key_is_silent(engine: CacheEngine) -> None:
    key = new_key()
    engine.delete(key)
    engine.save(key, b"x", expires_in(), must_create=True)
    engine.delete(key)
    engine.delete(key)


# -- expiry, one time per session ----------------------------------------------------


def test_each_session_expires_at_its_own_time(engine: CacheEngine, clock: Any) -> None:
    keys = {10: new_key(), 20: new_key(), 30: new_key()}
    for seconds, key in keys.items():
        engine.save(key, str(seconds).encode(), clock.time + seconds, must_create=True)
    clock.advance(15)
    assert [engine.load(k) for k in keys.values()] == [None, b"20", b"30"]
    clock.advance(10)
    assert [engine.exists(k) for k in keys.values()] == [False, False, True]
    clock.advance(10)
    assert [engine.load(k) for k in keys.values()] == [None, None, None]


def test_a_session_is_expired_at_exactly_its_expires_at(engine: CacheEngine, clock: Any) -> None:
    key = new_key()
    engine.save(key, b"x", clock.time + 60, must_create=True)
    clock.advance(60)
    assert engine.load(key) is None
    assert engine.exists(key) is False


def test_expiry_follows_the_engine_clock_not_the_cache_default(
    engine: CacheEngine, clock: Any
) -> None:
    # cachetools' default timer is time.monotonic; a session must follow now() (POSIX time).
    key = new_key()
    engine.save(key, b"x", clock.time + 3600, must_create=True)
    assert engine.load(key) == b"x"
    clock.advance(3601)
    assert engine.load(key) is None


def test_update_after_expiry_raises_update_error(engine: CacheEngine, clock: Any) -> None:
    key = new_key()
    engine.save(key, b"v1", clock.time + 60, must_create=True)
    clock.advance(61)
    with pytest.raises(sessionware.UpdateError):
        engine.save(key, b"v2", clock.time + 3600)
    assert engine.load(key) is None


def test_update_moves_the_expiry_later(engine: CacheEngine, clock: Any) -> None:
    key = new_key()
    engine.save(key, b"v1", clock.time + 60, must_create=True)
    engine.save(key, b"v2", clock.time + 600)
    clock.advance(120)
    assert engine.load(key) == b"v2"


def test_update_moves_the_expiry_earlier(engine: CacheEngine, clock: Any) -> None:
    key = new_key()
    engine.save(key, b"v1", clock.time + 600, must_create=True)
    engine.save(key, b"v2", clock.time + 60)
    clock.advance(120)
    assert engine.load(key) is None


def test_create_over_an_expired_session_takes_the_key(engine: CacheEngine, clock: Any) -> None:
    key = new_key()
    engine.save(key, b"old", clock.time + 60, must_create=True)
    clock.advance(61)
    engine.save(key, b"new", clock.time + 60, must_create=True)
    assert engine.load(key) == b"new"


def test_update_with_a_past_expiry_removes_the_session(engine: CacheEngine) -> None:
    key = new_key()
    engine.save(key, b"v1", expires_in(), must_create=True)
    engine.save(key, b"v2", expired())
    assert engine.load(key) is None
    assert engine.size == 0
    with pytest.raises(sessionware.UpdateError):
        engine.save(key, b"v3", expires_in())


def test_delete_of_an_expired_session_drops_it(engine: CacheEngine, clock: Any) -> None:
    key = new_key()
    engine.save(key, b"x", clock.time + 60, must_create=True)
    clock.advance(61)
    engine.delete(key)
    assert engine.size == 0
    assert engine.clear_expired() == 0


# -- clear_expired -------------------------------------------------------------------


def test_clear_expired_removes_expired_entries_and_keeps_live_ones(
    engine: CacheEngine, clock: Any
) -> None:
    short = [new_key() for _ in range(4)]
    long = [new_key() for _ in range(2)]
    for key in short:
        engine.save(key, b"short", clock.time + 10, must_create=True)
    for key in long:
        engine.save(key, b"long", clock.time + 100, must_create=True)
    assert engine.size == 6
    clock.advance(11)
    assert engine.clear_expired() == 4
    assert engine.size == 2
    assert all(engine.load(k) == b"long" for k in long)
    assert engine.clear_expired() == 0


def test_clear_expired_counts_entries_the_cache_dropped_on_a_write(
    engine: CacheEngine, clock: Any
) -> None:
    engine.save(new_key(), b"short", clock.time + 10, must_create=True)
    clock.advance(11)
    # cachetools drops expired entries on every write, before clear_expired runs.
    engine.save(new_key(), b"live", clock.time + 10, must_create=True)
    assert engine.size == 1
    assert engine.clear_expired() == 1
    assert engine.clear_expired() == 0


def test_clear_expired_counts_sessions_saved_already_expired(engine: CacheEngine) -> None:
    for _ in range(3):
        engine.save(new_key(), b"stale", expired(), must_create=True)
    assert engine.size == 0
    assert engine.clear_expired() == 3


async def test_aclear_expired_counts_like_clear_expired(engine: CacheEngine, clock: Any) -> None:
    await engine.asave(new_key(), b"x", clock.time + 10, True)
    live = await engine.asave(new_key(), b"y", clock.time + 100, True)
    clock.advance(11)
    assert await engine.aclear_expired() == 1
    assert await engine.aload(live) == b"y"


# -- close -----------------------------------------------------------------------------


def test_close_drops_every_session_and_the_engine_stays_usable(engine: CacheEngine) -> None:
    key = new_key()
    engine.save(key, b"x", expires_in(), must_create=True)
    engine.close()
    engine.close()
    assert engine.load(key) is None
    assert engine.size == 0
    engine.save(key, b"again", expires_in(), must_create=True)
    assert engine.load(key) == b"again"


def test_repr_names_the_engine_and_maxsize(make_engine: Any) -> None:
    assert repr(make_engine(maxsize=5)) == "<CacheEngine 'cache' maxsize=5>"
