"""Conformance tests for a session's life in storage, run through the engine under test.

Ported from the behaviours of Django's session tests: save and reload,
``exists``, ``create``, ``save(must_create=True)``, ``flush``, ``cycle_key``,
custom expiry, expired and tampered data, load never creating a record, and
no resurrection of a session deleted by another request. sessionware's
nested-change detection is checked here too. The mapping API is in
``_session_kit``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from .._engine import Engine
from .._errors import CreateError, UpdateError
from .._serializer import Serializer
from .._session import SessionStore, session_store
from ._base import EngineKitBase
from ._helpers import HOSTILE_KEYS, expired, expires_in, run_async

__all__ = ["SessionStorageTests"]

SECURITY_LOGGER = "sessionware.security"
#: Slack for comparisons with "now" computed on either side of a call.
SLACK = timedelta(seconds=5)


def _saved(store: type[SessionStore], **data: object) -> SessionStore:
    session = store()
    session.update(data)
    session.save()
    assert session.session_key is not None
    return session


class SessionStorageTests(EngineKitBase):
    """``SessionStore`` save/load/exists/create/flush/cycle_key/expiry over the engine."""

    # -- save and reload ---------------------------------------------------------

    def test_saved_session_is_seen_by_a_new_store(self, store: type[SessionStore]) -> None:
        """Data saved by one request is read by the next one holding the key.

        Mirrors Django's ``test_save``.
        """
        data = {
            "str": "v",
            "int": 1,
            "float": 1.5,
            "bool": True,
            "none": None,
            "list": [1, "a"],
            "nested": {"a": {"b": [1, 2]}},
            "unicode": "h\u00e9\U0001f600",
        }
        session = _saved(store, **data)
        reopened = store(session.session_key)
        assert dict(reopened.items()) == data
        assert reopened.modified is False

    def test_save_does_not_clear_data(self, store: type[SessionStore]) -> None:
        """The session keeps its data after ``save`` (Django's ``test_save_doesnt_clear_data``)."""
        session = store()
        session["a"] = "b"
        session.save()
        assert session["a"] == "b"

    def test_exists(self, engine: Engine, store: type[SessionStore]) -> None:
        """``exists`` is true for a saved key and false for others.

        Mirrors Django's ``test_save``/``test_delete``.
        """
        self.require_server_side(engine, "exists() has nothing to look up")
        session = _saved(store, x=1)
        assert session.session_key is not None
        assert session.exists(session.session_key) is True
        assert session.exists(self.new_key()) is False

    def test_create_gives_a_fresh_valid_key(
        self, engine: Engine, store: type[SessionStore]
    ) -> None:
        """``create`` stores the session under a new random key, different each time."""
        one, two = store(), store()
        one.create()
        two.create()
        assert one.session_key is not None and two.session_key is not None
        assert one.session_key != two.session_key
        assert engine.is_valid_key(one.session_key)
        assert one.modified is True
        if self.caps(engine).server_side:
            assert one.exists(one.session_key)

    def test_save_must_create_on_existing_key_raises_create_error(
        self, engine: Engine, store: type[SessionStore]
    ) -> None:
        """``save(must_create=True)`` under a taken key raises ``CreateError``; the data stays."""
        self.require_server_side(engine, "a cookie engine has no shared key space")
        first = _saved(store, owner="first")
        second = store(first.session_key)
        second["owner"] = "second"
        with pytest.raises(CreateError):
            second.save(must_create=True)
        assert store(first.session_key)["owner"] == "first"

    def test_delete_removes_the_stored_session(
        self, engine: Engine, store: type[SessionStore]
    ) -> None:
        """``delete`` removes the stored session, with or without an explicit key.

        Mirrors Django's ``test_delete``.
        """
        self.require_server_side(engine, "deleting a cookie is the browser's job")
        session = _saved(store, x=1)
        key = session.session_key
        assert key is not None
        session.delete()
        assert session.exists(key) is False
        other = _saved(store, y=2)
        assert other.session_key is not None
        store().delete(other.session_key)
        assert store(other.session_key).load() == {}

    def test_flush_deletes_the_session_and_empties_it(
        self, engine: Engine, store: type[SessionStore]
    ) -> None:
        """``flush`` (log-out) deletes the stored session, drops the key and empties the data.

        Mirrors Django's ``test_flush``.
        """
        session = _saved(store, foo="bar")
        previous = session.session_key
        assert previous is not None
        session.flush()
        assert session.session_key is None
        assert session.modified is True
        assert session.accessed is True
        assert dict(session.items()) == {}
        if self.caps(engine).server_side:
            assert session.exists(previous) is False
            assert store(previous).load() == {}
        session["after"] = 1
        session.save()
        assert session.session_key != previous

    def test_cycle_key_keeps_data_under_a_new_key(
        self, engine: Engine, store: type[SessionStore]
    ) -> None:
        """``cycle_key`` (log-in) moves the data to a new key and retires the old one.

        Mirrors Django's ``test_cycle``.
        """
        session = _saved(store, a="c", b="d")
        previous = session.session_key
        assert previous is not None
        session.cycle_key()
        assert session.session_key is not None
        assert dict(session.items()) == {"a": "c", "b": "d"}
        assert dict(store(session.session_key).items()) == {"a": "c", "b": "d"}
        if self.caps(engine).server_side:
            assert session.session_key != previous
            assert session.exists(previous) is False

    def test_cycle_key_of_unsaved_session_saves_it(self, store: type[SessionStore]) -> None:
        """``cycle_key`` on a session never saved stores it under a fresh key."""
        session = store()
        session["a"] = 1
        session.cycle_key()
        assert session.session_key is not None
        assert store(session.session_key)["a"] == 1

    # -- expiry --------------------------------------------------------------------

    def test_default_expiry(self, store: type[SessionStore]) -> None:
        """Without ``set_expiry`` the age is ``cookie_age`` (Django's ``test_default_expiry``)."""
        session = store()
        age = store.config.cookie_age
        assert session.get_expiry_age() == age
        expected = datetime.now(UTC) + timedelta(seconds=age)
        assert abs(session.get_expiry_date() - expected) < SLACK

    def test_custom_expiry_seconds(self, store: type[SessionStore]) -> None:
        """``set_expiry(int)`` sets the age, and it survives a save.

        Mirrors Django's ``test_custom_expiry_seconds``.
        """
        session = store()
        session.set_expiry(10)
        assert session.get_expiry_age() == 10
        expected = datetime.now(UTC) + timedelta(seconds=10)
        assert abs(session.get_expiry_date() - expected) < SLACK
        session.save()
        assert store(session.session_key).get_expiry_age() == 10

    def test_custom_expiry_timedelta(self, store: type[SessionStore]) -> None:
        """``set_expiry(timedelta)`` fixes the moment.

        Mirrors Django's ``test_custom_expiry_timedelta``.
        """
        session = store()
        session.set_expiry(timedelta(seconds=10))
        assert 8 <= session.get_expiry_age() <= 10
        moment = session.get_expiry_date()
        session.save()
        assert store(session.session_key).get_expiry_date() == moment

    def test_custom_expiry_datetime(self, store: type[SessionStore]) -> None:
        """``set_expiry(datetime)`` expires at that moment.

        Mirrors Django's ``test_custom_expiry_datetime``.
        """
        moment = datetime.now(UTC) + timedelta(seconds=10)
        session = store()
        session.set_expiry(moment)
        assert session.get_expiry_date() == moment
        assert 8 <= session.get_expiry_age() <= 10
        session.save()
        assert store(session.session_key).get_expiry_date() == moment

    def test_custom_expiry_reset(self, store: type[SessionStore]) -> None:
        """``set_expiry(None)`` returns to the configured age.

        Mirrors Django's ``test_custom_expiry_reset``.
        """
        session = store()
        session.set_expiry(10)
        session.set_expiry(None)
        assert session.get_expiry_age() == store.config.cookie_age

    def test_get_expire_at_browser_close(
        self, engine: Engine, kit_serializer: Serializer, store: type[SessionStore]
    ) -> None:
        """``0`` means "until the browser closes", ``None`` defers to the config.

        Mirrors Django's ``test_get_expire_at_browser_close``.
        """
        for browser_close in (False, True):
            bound = session_store(
                engine_instance=engine,
                serializer_instance=kit_serializer,
                expire_at_browser_close=browser_close,
            )
            session = bound()
            session.set_expiry(10)
            assert session.get_expire_at_browser_close() is False
            session.set_expiry(0)
            assert session.get_expire_at_browser_close() is True
            session.set_expiry(None)
            assert session.get_expire_at_browser_close() is browser_close
        session = store()
        session.set_expiry(0)
        session.save()
        assert store(session.session_key).get_expire_at_browser_close() is True

    def test_expired_session_loads_empty(
        self, engine: Engine, kit_serializer: Serializer, store: type[SessionStore]
    ) -> None:
        """A session past its expiry loads as a new, empty one (Django's ``test_actual_expiry``)."""
        raw = kit_serializer.dumps({"secret": "stale"})
        handle = engine.save(self.new_key(), raw, expired(), must_create=True)
        session = store(handle)
        assert "secret" not in session
        assert session.session_key is None

    # -- hostile and broken input --------------------------------------------------

    def test_undecodable_data_loads_empty_and_is_logged(
        self, engine: Engine, store: type[SessionStore], caplog: pytest.LogCaptureFixture
    ) -> None:
        """Garbage under a valid key loads as an empty session, logged to ``sessionware.security``.

        Mirrors Django's ``test_decode_failure_logged_to_security``.
        """
        handle = engine.save(self.new_key(), b"\xff\xfe not a session \x00", expires_in(), True)
        with caplog.at_level(logging.WARNING, logger=SECURITY_LOGGER):
            session = store(handle)
            assert session.load() == {}
        assert session.session_key is None
        assert any(r.name == SECURITY_LOGGER for r in caplog.records), "nothing was logged"

    def test_non_mapping_data_loads_empty(
        self, engine: Engine, store: type[SessionStore], caplog: pytest.LogCaptureFixture
    ) -> None:
        """Stored data that decodes to something other than a dict loads as an empty session."""
        handle = engine.save(self.new_key(), b"[1, 2, 3]", expires_in(), True)
        with caplog.at_level(logging.WARNING, logger=SECURITY_LOGGER):
            session = store(handle)
            assert session.load() == {}
        assert session.session_key is None

    def test_invalid_keys_load_as_a_new_session(self, store: type[SessionStore]) -> None:
        """A hostile cookie value is treated as no session at all.

        Mirrors Django's ``test_invalid_key``.
        """
        for key in HOSTILE_KEYS:
            session = store(key)
            assert session.load() == {}
            assert session.session_key is None

    def test_loading_a_missing_key_creates_nothing(
        self, engine: Engine, store: type[SessionStore]
    ) -> None:
        """Opening a session under an unknown key stores nothing.

        Mirrors Django's ``test_session_load_does_not_create_record``.
        """
        key = self.new_key()
        session = store(key)
        assert session.load() == {}
        assert session.session_key is None
        if self.caps(engine).server_side:
            assert engine.exists(key) is False

    def test_session_deleted_elsewhere_is_not_resurrected(
        self, engine: Engine, store: type[SessionStore]
    ) -> None:
        """A request cannot save back a session another request deleted (log-out elsewhere).

        Mirrors Django's
        ``test_session_save_does_not_resurrect_session_logged_out_in_other_context``.
        """
        self.require_server_side(engine, "a cookie engine cannot know about other requests")
        first = _saved(store, user="alice")
        key = first.session_key
        assert key is not None
        second = store(key)
        assert second["user"] == "alice"
        first.flush()
        second["cart"] = ["book"]
        with pytest.raises(UpdateError):
            second.save()
        assert engine.exists(key) is False
        assert store(key).load() == {}

    # -- nested changes and async ------------------------------------------------

    def test_nested_mutation_is_detected(self, store: type[SessionStore]) -> None:
        """``s["cart"]["n"] = 1`` is found by ``detect_changes()`` and saved (Django misses it)."""
        saved = _saved(store, cart={"n": 0})
        session = store(saved.session_key)
        session["cart"]["n"] = 1
        assert session.modified is False
        assert session.detect_changes() is True
        session.save()
        assert store(session.session_key)["cart"] == {"n": 1}

    def test_read_only_session_has_no_changes(self, store: type[SessionStore]) -> None:
        """Reading nested data without changing it is not a change."""
        saved = _saved(store, cart={"n": 0})
        session = store(saved.session_key)
        assert session["cart"] == {"n": 0}
        assert session.detect_changes() is False

    def test_async_session_round_trip(self, engine: Engine, store: type[SessionStore]) -> None:
        """``asave``/``aload``/``aget``/``aexists``/``aflush`` behave like their sync twins."""

        async def scenario() -> None:
            session = store()
            await session.aset("a", 1)
            await session.asave()
            key = session.session_key
            assert key is not None
            reopened = store(key)
            assert await reopened.aload() == {"a": 1}
            assert await reopened.aget("a") == 1
            if self.caps(engine).server_side:
                assert await reopened.aexists(key) is True
            await reopened.aflush()
            assert reopened.session_key is None
            if self.caps(engine).server_side:
                assert await reopened.aexists(key) is False
            assert type(await store.aclear_expired()) is int

        run_async(scenario())
