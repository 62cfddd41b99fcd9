"""Expiry is enforced from inside the signed or encrypted value, whoever replays it.

The clock is injected by replacing the engine's ``now``; nothing sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

import sessionware

StoreFactory = Callable[..., type[sessionware.SessionStore]]


@pytest.fixture
def travel(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``travel(Store, seconds)``: the engine's clock jumps ``seconds`` ahead of real time."""

    def jump(Store: type[sessionware.SessionStore], seconds: float) -> None:
        monkeypatch.setattr(Store.engine, "now", lambda: time.time() + seconds)

    yield jump


def saved(Store: type[sessionware.SessionStore], **data: object) -> str:
    session = Store()
    session.update(data)
    session.save()
    assert session.session_key is not None
    return session.session_key


def test_cookie_replayed_after_cookie_age_loads_empty(
    make_store: StoreFactory, travel: Callable[..., None]
) -> None:
    Store = make_store(cookie_age=600)
    value = saved(Store, user_id=7)
    travel(Store, 590)
    assert Store(value).load() == {"user_id": 7}
    travel(Store, 610)
    session = Store(value)
    assert session.load() == {}
    assert session.session_key is None


def test_set_expiry_seconds_is_enforced(
    make_store: StoreFactory, travel: Callable[..., None]
) -> None:
    """``set_expiry(30)`` beats a two-week ``cookie_age``, even if the browser keeps the cookie."""
    Store = make_store()
    session = Store()
    session["user_id"] = 7
    session.set_expiry(30)
    session.save()
    value = session.session_key
    travel(Store, 25)
    assert Store(value)["user_id"] == 7
    travel(Store, 35)
    assert Store(value).load() == {}


@pytest.mark.parametrize("kind", ["datetime", "naive-utc-datetime", "timedelta"])
def test_set_expiry_moment_is_enforced(
    make_store: StoreFactory, travel: Callable[..., None], kind: str
) -> None:
    Store = make_store()
    moment = datetime.now(UTC) + timedelta(seconds=100)
    session = Store()
    session["user_id"] = 7
    if kind == "datetime":
        session.set_expiry(moment)
    elif kind == "naive-utc-datetime":
        session.set_expiry(moment.replace(tzinfo=None))
    else:
        session.set_expiry(timedelta(seconds=100))
    session.save()
    value = session.session_key
    travel(Store, 95)
    assert Store(value).get_expiry_date() <= moment + timedelta(seconds=2)
    assert Store(value)["user_id"] == 7
    travel(Store, 105)
    assert Store(value).load() == {}


def test_browser_close_cookie_still_expires_after_cookie_age(
    make_store: StoreFactory, travel: Callable[..., None]
) -> None:
    """``set_expiry(0)``: no Max-Age for the browser, but the payload still ends at cookie_age."""
    Store = make_store(cookie_age=600)
    session = Store()
    session["user_id"] = 7
    session.set_expiry(0)
    session.save()
    value = session.session_key
    assert Store(value).get_expire_at_browser_close() is True
    travel(Store, 590)
    assert Store(value)["user_id"] == 7
    travel(Store, 610)
    assert Store(value).load() == {}


def test_engine_refuses_a_value_past_its_expires_at(make_store: StoreFactory) -> None:
    Store = make_store()
    engine = Store.engine
    key = sessionware.new_session_key()
    assert engine.load(engine.save(key, b"{}", time.time() - 1)) is None
    assert engine.load(engine.save(key, b"{}", time.time() + 60)) == b"{}"


def test_expiry_is_checked_against_the_engine_clock(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store = make_store()
    engine = Store.engine
    value = engine.save(sessionware.new_session_key(), b"{}", 1_000_000.0)
    monkeypatch.setattr(engine, "now", lambda: 999_999.0)
    assert engine.load(value) == b"{}"
    monkeypatch.setattr(engine, "now", lambda: 1_000_000.0)
    assert engine.load(value) is None  # expires_at itself is already past, as in every engine


def test_a_copied_cookie_stays_valid_after_logout_until_it_expires(
    make_store: StoreFactory, travel: Callable[..., None]
) -> None:
    """The documented limit: no server-side revocation. ``flush`` only forgets this copy."""
    Store = make_store(cookie_age=600)
    value = saved(Store, user_id=7)
    session = Store(value)
    session.flush()
    assert session.session_key is None
    assert Store(value)["user_id"] == 7  # a copy taken before log-out still works...
    travel(Store, 601)
    assert Store(value).load() == {}  # ...until the expiry sealed inside it


def test_each_value_keeps_its_own_expiry(
    make_store: StoreFactory, travel: Callable[..., None]
) -> None:
    """Re-saving issues a new value with a later expiry; copies of the old one keep theirs."""
    Store = make_store()
    engine = Store.engine
    key = sessionware.new_session_key()
    first = engine.save(key, b'{"n":1}', time.time() + 600)
    second = engine.save(first, b'{"n":2}', time.time() + 900)
    travel(Store, 700)
    assert engine.load(first) is None
    assert engine.load(second) == b'{"n":2}'
