"""SessionStore on the cache engine, selected by name: expiry per session, no resurrection."""

from __future__ import annotations

import pytest

import sessionware
from sessionware import SessionStore

StoreClass = type[SessionStore]


def saved(Store: StoreClass, age: int) -> SessionStore:
    session = Store()
    session.set_expiry(age)
    session["age"] = age
    session.save()
    return session


def test_store_uses_the_cache_engine_selected_by_name(Store: StoreClass) -> None:
    assert Store.engine.name == "cache"
    assert type(Store.engine).__module__.startswith("sessionware_cache")


def test_sessions_with_different_expiry_expire_one_by_one(
    Store: StoreClass, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = Store.engine.now()
    monkeypatch.setattr(Store.engine, "now", lambda: start)
    short, long = saved(Store, 60), saved(Store, 600)
    monkeypatch.setattr(Store.engine, "now", lambda: start + 61)
    assert dict(Store(short.session_key).items()) == {}
    assert Store(long.session_key)["age"] == 600
    assert Store.clear_expired() == 1


def test_a_deleted_session_saved_from_a_stale_copy_raises_update_error(
    Store: StoreClass,
) -> None:
    session = saved(Store, 600)
    stale = Store(session.session_key)
    stale.load()
    session.delete()
    stale["age"] = 1
    with pytest.raises(sessionware.UpdateError):
        stale.save()
    assert Store().exists(session.session_key or "") is False


def test_cycle_key_keeps_the_data_and_frees_the_old_key(Store: StoreClass) -> None:
    session = saved(Store, 600)
    old = session.session_key
    session.cycle_key()
    assert Store().exists(old or "") is False
    assert Store(session.session_key)["age"] == 600


async def test_async_api_round_trips(Store: StoreClass) -> None:
    session = Store()
    await session.aset("a", 1)
    await session.asave()
    again = Store(session.session_key)
    assert await again.aget("a") == 1
    await again.aflush()
    assert await Store().aexists(session.session_key or "") is False
