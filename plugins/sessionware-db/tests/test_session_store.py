"""The full SessionStore API on the db engine, through ``session_store(engine="db")``."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import sessionware
from sessionware import SessionStore

StoreClass = type[SessionStore]


def saved(Store: StoreClass, **data: Any) -> SessionStore:
    session = Store()
    session.update(data)
    session.save()
    return session


def expires_at(raw: sqlite3.Connection, key: str | None) -> float:
    row = raw.execute(
        "SELECT expires_at FROM sessionware_session WHERE session_key = ?", (key,)
    ).fetchone()
    return float(row[0])


@pytest.fixture
def raw_store(Store: StoreClass, db_path: Any) -> Any:
    conn = sqlite3.connect(db_path, isolation_level=None)
    yield conn
    conn.close()


def test_store_uses_the_db_engine_selected_by_name(Store: StoreClass) -> None:
    assert Store.engine.name == "db"
    assert type(Store.engine).__module__.startswith("sessionware_db")


def test_mapping_api_round_trips(Store: StoreClass) -> None:
    session = Store()
    session["user_id"] = 42
    session.update({"name": "alice"}, theme="dark")
    session.setdefault("cart", {"items": [1, 2]})
    assert session.pop("theme") == "dark"
    session.save()
    again = Store(session.session_key)
    assert dict(again.items()) == {"user_id": 42, "name": "alice", "cart": {"items": [1, 2]}}
    assert "user_id" in again and len(again) == 3
    assert again.get("missing", "default") == "default"
    with pytest.raises(KeyError):
        again["missing"]


def test_save_then_exists(Store: StoreClass) -> None:
    session = saved(Store, a=1)
    assert session.session_key is not None
    assert Store().exists(session.session_key) is True
    assert Store().exists(sessionware.new_session_key()) is False


def test_save_must_create_on_a_taken_key_raises_create_error(Store: StoreClass) -> None:
    session = saved(Store, a=1)
    clash = Store(session.session_key)
    with pytest.raises(sessionware.CreateError):
        clash.save(must_create=True)


def test_unknown_key_creates_no_row_and_saves_under_a_new_key(
    Store: StoreClass, raw_store: sqlite3.Connection
) -> None:
    forged = sessionware.new_session_key()
    session = Store(forged)
    assert session.get("a") is None
    assert raw_store.execute("SELECT count(*) FROM sessionware_session").fetchone()[0] == 0
    session["a"] = 1
    session.save()
    assert session.session_key != forged
    assert Store().exists(forged) is False


@pytest.mark.parametrize("key", ["/", "..", "a\x00b" * 20, "k" * 10_000])
def test_hostile_key_through_the_store_loads_empty(
    Store: StoreClass, raw_store: sqlite3.Connection, key: str
) -> None:
    session = Store(key)
    assert dict(session.items()) == {}
    assert session.session_key is None
    assert raw_store.execute("SELECT count(*) FROM sessionware_session").fetchone()[0] == 0


def test_undecodable_row_loads_empty_is_logged_and_never_served(
    Store: StoreClass, raw_store: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    key = sessionware.new_session_key()
    raw_store.execute(
        "INSERT INTO sessionware_session (session_key, session_data, expires_at) VALUES (?, ?, ?)",
        (key, b"\xff\xfe garbage \x00", Store.engine.now() + 60),
    )
    with caplog.at_level(logging.WARNING, logger="sessionware.security"):
        session = Store(key)
        assert dict(session.items()) == {}
    assert any(r.name == "sessionware.security" for r in caplog.records)
    session["fresh"] = True
    session.save()
    assert session.session_key != key
    assert dict(Store(key).items()) == {}


def test_flush_deletes_the_row(Store: StoreClass) -> None:
    session = saved(Store, a=1)
    key = session.session_key
    assert key is not None
    session.flush()
    assert session.session_key is None
    assert Store().exists(key) is False


def test_delete_then_save_of_a_stale_copy_raises_update_error(Store: StoreClass) -> None:
    session = saved(Store, a=1)
    stale = Store(session.session_key)
    stale.load()
    session.delete()
    stale["a"] = 2
    with pytest.raises(sessionware.UpdateError):
        stale.save()


def test_cycle_key_keeps_data_under_a_new_key(Store: StoreClass) -> None:
    session = saved(Store, user="alice")
    old = session.session_key
    assert old is not None
    session.cycle_key()
    assert session.session_key not in (None, old)
    assert Store().exists(old) is False
    assert Store(session.session_key)["user"] == "alice"


def test_set_expiry_int_sets_the_row_expiry(
    Store: StoreClass, raw_store: sqlite3.Connection
) -> None:
    session = Store()
    session.set_expiry(300)
    session["a"] = 1
    session.save()
    now = Store.engine.now()
    assert now + 290 < expires_at(raw_store, session.session_key) <= now + 300
    assert Store(session.session_key).get_expiry_age() == 300


def test_set_expiry_datetime_sets_the_row_expiry(
    Store: StoreClass, raw_store: sqlite3.Connection
) -> None:
    when = datetime.now(UTC) + timedelta(hours=2)
    session = Store()
    session.set_expiry(when)
    session.save()
    assert abs(expires_at(raw_store, session.session_key) - when.timestamp()) < 5
    assert Store(session.session_key).get_expiry_date() == when


def test_set_expiry_timedelta_sets_the_row_expiry(
    Store: StoreClass, raw_store: sqlite3.Connection
) -> None:
    session = Store()
    session.set_expiry(timedelta(minutes=10))
    session.save()
    assert abs(expires_at(raw_store, session.session_key) - (Store.engine.now() + 600)) < 5


def test_set_expiry_zero_expires_at_browser_close(Store: StoreClass) -> None:
    session = Store()
    session.set_expiry(0)
    session.save()
    again = Store(session.session_key)
    assert again.get_expire_at_browser_close() is True
    assert again.get_expiry_age() == Store.config.cookie_age


def test_set_expiry_none_returns_to_the_configured_age(
    Store: StoreClass, raw_store: sqlite3.Connection
) -> None:
    session = Store()
    session.set_expiry(60)
    session.set_expiry(None)
    session.save()
    expected = Store.engine.now() + Store.config.cookie_age
    assert abs(expires_at(raw_store, session.session_key) - expected) < 5


def test_expired_session_loads_empty(Store: StoreClass, monkeypatch: pytest.MonkeyPatch) -> None:
    session = Store()
    session.set_expiry(60)
    session["a"] = 1
    session.save()
    later = Store.engine.now() + 61
    monkeypatch.setattr(Store.engine, "now", lambda: later)
    assert dict(Store(session.session_key).items()) == {}
    assert Store().exists(session.session_key or "") is False
    assert Store.clear_expired() == 1


def test_nested_mutation_is_detected_and_saved(Store: StoreClass) -> None:
    session = saved(Store, cart={"items": []})
    again = Store(session.session_key)
    again["cart"]["items"].append(7)
    assert again.modified is False
    assert again.detect_changes() is True
    again.save()
    assert Store(session.session_key)["cart"] == {"items": [7]}


def test_unchanged_session_is_not_marked_modified(Store: StoreClass) -> None:
    session = saved(Store, cart={"items": [1]})
    again = Store(session.session_key)
    assert again["cart"] == {"items": [1]}
    assert again.detect_changes() is False


def test_non_str_nested_key_is_refused_at_save(Store: StoreClass) -> None:
    session = Store()
    session["scores"] = {1: "one"}
    with pytest.raises(sessionware.SerializationError, match="scores"):
        session.save()


async def test_async_api_round_trips(Store: StoreClass) -> None:
    session = Store()
    await session.aset("a", 1)
    await session.asave()
    again = Store(session.session_key)
    assert await again.aget("a") == 1
    await again.aflush()
    assert await Store().aexists(session.session_key or "") is False


def test_clear_expired_through_the_store(
    Store: StoreClass, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        saved(Store, a=1)
    later = Store.engine.now() + Store.config.cookie_age + 1
    monkeypatch.setattr(Store.engine, "now", lambda: later)
    assert Store.clear_expired() == 3
