"""A full cache: which session goes, what its user sees, and what gets logged."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sessionware_cache import CacheEngine

import sessionware
from sessionware import SessionStore
from sessionware.testing import expires_in

LOGGER = "sessionware.cache"


def new_key() -> str:
    return sessionware.new_session_key()


def fill(engine: CacheEngine, count: int) -> list[str]:
    keys = [new_key() for _ in range(count)]
    for key in keys:
        engine.save(key, key.encode(), expires_in(), must_create=True)
    return keys


def eviction_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


@pytest.fixture
def small(make_engine: Callable[..., CacheEngine]) -> CacheEngine:
    return make_engine(maxsize=3)


def test_a_full_cache_evicts_the_least_recently_used_session(small: CacheEngine) -> None:
    a, b, c = fill(small, 3)
    (d,) = fill(small, 1)
    assert small.load(a) is None
    assert [small.load(k) for k in (b, c, d)] == [b.encode(), c.encode(), d.encode()]
    assert small.size == 3
    assert small.evictions == 1


def test_a_load_keeps_a_session_from_eviction(small: CacheEngine) -> None:
    a, b, _ = fill(small, 3)
    small.load(a)
    fill(small, 1)
    assert small.exists(a) is True
    assert small.exists(b) is False


def test_an_update_keeps_a_session_from_eviction(small: CacheEngine) -> None:
    a, b, _ = fill(small, 3)
    small.save(a, b"updated", expires_in())
    fill(small, 1)
    assert small.load(a) == b"updated"
    assert small.exists(b) is False


def test_exists_does_not_count_as_a_use(small: CacheEngine) -> None:
    a, *_ = fill(small, 3)
    assert small.exists(a) is True
    fill(small, 1)
    assert small.exists(a) is False


def test_an_update_never_evicts(small: CacheEngine) -> None:
    keys = fill(small, 3)
    for key in keys:
        small.save(key, b"again", expires_in())
    assert small.evictions == 0
    assert all(small.load(k) == b"again" for k in keys)


def test_expired_sessions_make_room_before_a_live_one_is_evicted(
    small: CacheEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    now = small.now()
    monkeypatch.setattr(small, "now", lambda: now)
    short = new_key()
    small.save(short, b"short", now + 10, must_create=True)
    live = fill(small, 2)
    monkeypatch.setattr(small, "now", lambda: now + 11)
    fill(small, 1)
    assert small.evictions == 0
    assert all(small.exists(k) for k in live)
    assert eviction_warnings(caplog) == []


def test_an_evicted_session_loads_as_none_and_is_never_resurrected(small: CacheEngine) -> None:
    victim = fill(small, 1)[0]
    fill(small, 3)
    assert small.load(victim) is None
    assert small.exists(victim) is False
    with pytest.raises(sessionware.UpdateError, match="evicted"):
        small.save(victim, b"resurrected?", expires_in())
    assert small.exists(victim) is False


def test_the_first_eviction_logs_a_warning_naming_maxsize(
    small: CacheEngine, caplog: pytest.LogCaptureFixture
) -> None:
    fill(small, 3)
    assert eviction_warnings(caplog) == []
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        fill(small, 1)
    (record,) = eviction_warnings(caplog)
    assert "maxsize=3" in record.getMessage()
    assert "Raise maxsize" in record.getMessage()


def test_later_evictions_log_once_per_interval_not_per_request(
    small: CacheEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(small, "eviction_warning_every", 50)
    fill(small, 3)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        fill(small, 49)
        assert len(eviction_warnings(caplog)) == 1
        fill(small, 1)
        assert len(eviction_warnings(caplog)) == 2
        fill(small, 100)
    assert len(eviction_warnings(caplog)) == 4
    assert "150 evicted so far" in eviction_warnings(caplog)[-1].getMessage()


def test_the_default_interval_keeps_the_log_quiet(
    make_engine: Callable[..., CacheEngine], caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(maxsize=1)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        fill(engine, 2000)
    assert engine.evictions == 1999
    assert len(eviction_warnings(caplog)) == 1


def test_the_warning_is_logged_outside_the_engine_lock(
    small: CacheEngine, caplog: pytest.LogCaptureFixture
) -> None:
    # A log handler that touches the engine (a metrics hook, say) must not deadlock.
    seen: list[bool] = []

    class Probe(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(small.exists(new_key()))

    probe = Probe()
    logging.getLogger(LOGGER).addHandler(probe)
    try:
        fill(small, 3)
        worker = threading.Thread(target=fill, args=(small, 1), daemon=True)
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive(), "logging the eviction warning deadlocked on the lock"
    finally:
        logging.getLogger(LOGGER).removeHandler(probe)
    assert seen == [False]


# -- through SessionStore ----------------------------------------------------------------


def saved(Store: type[SessionStore], **data: Any) -> SessionStore:
    session = Store()
    session.update(data)
    session.save()
    return session


def test_an_evicted_session_loads_empty_through_the_store(Store: type[SessionStore]) -> None:
    victim = saved(Store, user="alice")
    for n in range(3):
        saved(Store, n=n)
    again = Store(victim.session_key)
    assert dict(again.items()) == {}
    assert again.is_empty()


def test_saving_an_evicted_session_raises_update_error(Store: type[SessionStore]) -> None:
    victim = saved(Store, user="alice")
    request = Store(victim.session_key)
    assert request["user"] == "alice"
    for n in range(3):
        saved(Store, n=n)
    request["user"] = "mallory"
    with pytest.raises(sessionware.UpdateError):
        request.save()
    assert Store().exists(victim.session_key or "") is False


def test_an_evicted_session_gets_a_new_key_when_its_user_writes_again(
    Store: type[SessionStore],
) -> None:
    victim = saved(Store, user="alice")
    for n in range(3):
        saved(Store, n=n)
    fresh = Store(victim.session_key)
    fresh["cart"] = [1]
    fresh.save()
    assert fresh.session_key not in (None, victim.session_key)
    assert Store(fresh.session_key)["cart"] == [1]
