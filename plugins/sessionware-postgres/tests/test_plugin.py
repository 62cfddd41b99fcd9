"""The plugin as users meet it: found by name, its option checked, sessions through it."""

from __future__ import annotations

import os
import signal
import time
import warnings
from typing import Any

import pytest
import sessionware
from sessionware.testing import ReferenceSerializer, expires_in

from sessionware_postgres import PostgresEngine


def test_the_engine_is_found_by_name() -> None:
    engine = sessionware.get_engine("postgres")
    try:
        assert isinstance(engine, PostgresEngine)
    finally:
        engine.close()


def test_the_plugin_is_listed_with_its_distribution() -> None:
    info = {p.name: p for p in sessionware.list_plugins()}["postgres"]
    assert info.distribution == "sessionware-postgres"
    assert info.engines == ["postgres"]
    assert info.error is None


@pytest.mark.parametrize("value", [0, -1, 2.5, "10", None, True])
def test_an_invalid_max_sessions_names_the_option(value: Any) -> None:
    with pytest.raises(sessionware.ConfigurationError, match="'max_sessions'") as caught:
        sessionware.get_engine("postgres", max_sessions=value)
    assert caught.value.field == "engine_options.max_sessions"


def test_an_unknown_option_is_refused() -> None:
    with pytest.raises(sessionware.ConfigurationError, match="max_sessions"):
        sessionware.get_engine("postgres", colour="blue")


def test_a_full_store_refuses_a_new_session_as_unavailable() -> None:
    engine = PostgresEngine(max_sessions=2)
    for _ in range(2):
        engine.save(sessionware.new_session_key(), b"x", expires_in(), must_create=True)
    with pytest.raises(sessionware.EngineUnavailable, match="max_sessions=2"):
        engine.save(sessionware.new_session_key(), b"x", expires_in(), must_create=True)


def test_expired_sessions_make_room_in_a_full_store(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = PostgresEngine(max_sessions=1)
    now = engine.now()
    engine.save(sessionware.new_session_key(), b"old", now + 10, must_create=True)
    monkeypatch.setattr(engine, "now", lambda: now + 11)
    key = engine.save(sessionware.new_session_key(), b"new", now + 60, must_create=True)
    assert engine.load(key) == b"new"


def test_a_session_store_saves_and_loads_through_the_engine() -> None:
    Store = sessionware.session_store(
        engine="postgres",
        serializer_instance=ReferenceSerializer(),
    )
    session = Store()
    session["user"] = "alice"
    session.save()
    assert Store(session.session_key)["user"] == "alice"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_while_the_store_was_busy_can_use_it() -> None:
    engine = PostgresEngine()
    key = engine.save(sessionware.new_session_key(), b"parent", expires_in(), must_create=True)
    # As if another thread were inside the store at the fork: without
    # after_fork_in_child, the child's first call would wait for ever.
    engine._client._lock.acquire()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
            pid = os.fork()
        if pid == 0:  # the child reports through its exit code
            code = 1
            try:
                code = 0 if engine.load(key) == b"parent" else 2
            finally:
                os._exit(code)
    finally:
        engine._client._lock.release()
    deadline = time.monotonic() + 10
    while not (done := os.waitpid(pid, os.WNOHANG))[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child waited for ever on the store's lock")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(done[1]) == 0
