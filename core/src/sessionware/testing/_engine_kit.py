"""Conformance tests for the engine protocol itself: bytes in, bytes out.

Each test checks one promise of ``sessionware.Engine`` with the session
layer out of the way. Tests that only make sense when data lives on the
server (``exists``, delete-then-load, ``must_create`` collisions, updates of
vanished keys, ``clear_expired`` counting) skip themselves for engines that
declare ``server_side=False``; for cookie engines the value ``save`` returns
is the handle passed back to ``load``. Hostile keys, threads and the async
twins live in ``_stress_kit``.
"""

from __future__ import annotations

import os

import pytest

from .._engine import Engine
from .._errors import CreateError, UpdateError
from ._base import EngineKitBase
from ._helpers import BINARY_PAYLOAD, expired, expires_in

__all__ = ["EngineProtocolTests"]

#: Large enough to cross page, buffer and default value-size limits.
LARGE_SERVER_PAYLOAD = 256 * 1024
#: Cookie engines must fit in a 4 KB cookie after signing and encoding.
LARGE_COOKIE_PAYLOAD = 512


class EngineProtocolTests(EngineKitBase):
    """The sync engine methods, each as the protocol states."""

    # -- load never creates ----------------------------------------------------

    def test_load_of_missing_key_returns_none(self, engine: Engine) -> None:
        """``load`` of a key never saved returns ``None`` (Django: ``load`` of an unknown key)."""
        assert engine.load(self.new_key()) is None

    def test_load_of_missing_key_creates_nothing(self, engine: Engine) -> None:
        """Loading an unknown key leaves no record behind.

        Mirrors Django's ``test_session_load_does_not_create_record``: a
        request carrying a stale cookie must not grow the store.
        """
        self.require_server_side(engine, "there is no record that a load could create")
        key = self.new_key()
        engine.load(key)
        assert not engine.exists(key), "load() created a record for a key that was never saved"
        assert engine.load(key) is None

    # -- save and load ---------------------------------------------------------

    def test_save_returns_str_handle(self, engine: Engine) -> None:
        """``save`` returns a ``str``: the key (server-side) or the cookie value."""
        key = self.new_key()
        handle = engine.save(key, b"payload", expires_in(), must_create=True)
        assert isinstance(handle, str)
        if self.caps(engine).server_side:
            assert handle == key, "a server-side engine's save() must return the key"

    def test_save_then_load_round_trips_bytes(self, engine: Engine) -> None:
        """What was saved is loaded back, byte for byte."""
        handle = self.create(engine, b'{"user_id":42}')
        assert engine.load(handle) == b'{"user_id":42}'

    def test_save_then_load_round_trips_binary_bytes(self, engine: Engine) -> None:
        """All 256 byte values, runs of NULs and invalid UTF-8 survive storage unchanged."""
        handle = self.create(engine, BINARY_PAYLOAD)
        loaded = engine.load(handle)
        assert loaded is not None and isinstance(loaded, bytes)
        assert loaded == BINARY_PAYLOAD

    def test_save_then_load_round_trips_large_payload(self, engine: Engine) -> None:
        """A large payload (256 KiB server-side, 512 bytes for cookie engines) round-trips."""
        size = LARGE_SERVER_PAYLOAD if self.caps(engine).server_side else LARGE_COOKIE_PAYLOAD
        payload = os.urandom(size)
        handle = self.create(engine, payload)
        assert engine.load(handle) == payload

    def test_update_replaces_data(self, engine: Engine) -> None:
        """``save(must_create=False)`` of an existing session replaces its bytes."""
        key = self.new_key()
        engine.save(key, b"first", expires_in(), must_create=True)
        handle = engine.save(key, b"second", expires_in(), must_create=False)
        assert engine.load(handle) == b"second"

    def test_sessions_are_independent(self, engine: Engine) -> None:
        """Two sessions never see each other's data."""
        one = self.create(engine, b"one")
        two = self.create(engine, b"two")
        assert engine.load(one) == b"one"
        assert engine.load(two) == b"two"

    # -- must_create and no resurrection ---------------------------------------

    def test_must_create_on_existing_key_raises_create_error(self, engine: Engine) -> None:
        """``must_create`` on a taken key raises ``CreateError`` and leaves the original intact.

        This is what makes ``SessionStore.create()`` safe against key
        collisions (Django's ``save(must_create=True)``).
        """
        self.require_server_side(engine, "a cookie engine has no shared key space")
        key = self.new_key()
        engine.save(key, b"original", expires_in(), must_create=True)
        with pytest.raises(CreateError):
            engine.save(key, b"intruder", expires_in(), must_create=True)
        assert engine.load(key) == b"original"

    def test_update_of_never_saved_key_raises_update_error(self, engine: Engine) -> None:
        """An update of a key never created raises ``UpdateError`` and creates nothing."""
        self.require_server_side(engine, "a cookie engine cannot know which keys exist")
        key = self.new_key()
        with pytest.raises(UpdateError):
            engine.save(key, b"ghost", expires_in(), must_create=False)
        assert engine.load(key) is None
        assert not engine.exists(key)

    def test_update_of_deleted_key_raises_update_error(self, engine: Engine) -> None:
        """A deleted session is never resurrected by an update.

        The engine half of Django's
        ``test_session_save_does_not_resurrect_session_logged_out_in_other_context``.
        """
        self.require_server_side(engine, "a cookie engine cannot know which keys exist")
        key = self.new_key()
        engine.save(key, b"alive", expires_in(), must_create=True)
        engine.delete(key)
        with pytest.raises(UpdateError):
            engine.save(key, b"zombie", expires_in(), must_create=False)
        assert engine.load(key) is None
        assert not engine.exists(key)

    # -- delete and exists -------------------------------------------------------

    def test_delete_then_load_returns_none(self, engine: Engine) -> None:
        """After ``delete`` the session is gone (Django's ``test_delete``)."""
        self.require_server_side(engine, "deleting a cookie is the browser's job")
        key = self.new_key()
        engine.save(key, b"data", expires_in(), must_create=True)
        engine.delete(key)
        assert engine.load(key) is None

    def test_delete_of_missing_key_is_silent(self, engine: Engine) -> None:
        """Deleting a key that was never saved (or twice) raises nothing."""
        key = self.new_key()
        engine.delete(key)
        engine.delete(key)

    def test_exists_is_true_for_saved_key(self, engine: Engine) -> None:
        """``exists`` is true for a live saved session."""
        self.require_server_side(engine, "exists() has nothing to look up")
        key = self.new_key()
        engine.save(key, b"data", expires_in(), must_create=True)
        assert engine.exists(key) is True

    def test_exists_is_false_for_missing_and_deleted_keys(self, engine: Engine) -> None:
        """``exists`` is false for a key never saved and for a deleted one."""
        self.require_server_side(engine, "exists() has nothing to look up")
        key = self.new_key()
        assert engine.exists(key) is False
        engine.save(key, b"data", expires_in(), must_create=True)
        engine.delete(key)
        assert engine.exists(key) is False

    # -- expiry ----------------------------------------------------------------

    def test_expired_session_is_not_loaded(self, engine: Engine) -> None:
        """A session saved with ``expires_at`` in the past loads as ``None``.

        Mirrors Django's ``test_actual_expiry``.
        """
        handle = self.create(engine, b"stale", expires_at=expired())
        assert engine.load(handle) is None

    def test_expired_session_does_not_exist(self, engine: Engine) -> None:
        """``exists`` is false once ``expires_at`` has passed."""
        self.require_server_side(engine, "exists() has nothing to look up")
        key = self.new_key()
        engine.save(key, b"stale", expired(), must_create=True)
        assert engine.exists(key) is False

    def test_session_expiring_later_is_loaded(self, engine: Engine) -> None:
        """A session whose ``expires_at`` is a minute away is still served."""
        handle = self.create(engine, b"fresh", expires_at=expires_in(60))
        assert engine.load(handle) == b"fresh"

    def test_update_of_expired_session_raises_update_error(self, engine: Engine) -> None:
        """An expired session counts as vanished: updating it raises ``UpdateError``."""
        self.require_server_side(engine, "a cookie engine cannot know which keys exist")
        key = self.new_key()
        engine.save(key, b"stale", expired(), must_create=True)
        with pytest.raises(UpdateError):
            engine.save(key, b"revived", expires_in(), must_create=False)
        assert engine.load(key) is None

    def test_update_can_extend_expiry(self, engine: Engine) -> None:
        """Saving a live session with a later ``expires_at`` keeps it live."""
        key = self.new_key()
        engine.save(key, b"v1", expires_in(30), must_create=True)
        handle = engine.save(key, b"v2", expires_in(3600), must_create=False)
        assert engine.load(handle) == b"v2"

    # -- clear_expired -----------------------------------------------------------

    def test_clear_expired_returns_int(self, engine: Engine) -> None:
        """``clear_expired`` returns an ``int`` on every engine, ``0`` on an empty one."""
        count = engine.clear_expired()
        assert type(count) is int
        assert count == 0

    def test_clear_expired_removes_exactly_the_expired_sessions(self, engine: Engine) -> None:
        """``clear_expired`` removes every expired session, returns how many, and keeps live ones.

        Mirrors Django's ``test_clearsessions_command``.
        """
        self.require_clear_expired(engine)
        stale = [self.new_key() for _ in range(3)]
        live = [self.new_key() for _ in range(2)]
        for key in stale:
            engine.save(key, b"stale", expired(), must_create=True)
        for key in live:
            engine.save(key, b"live", expires_in(), must_create=True)
        assert engine.clear_expired() == len(stale)
        for key in live:
            assert engine.load(key) == b"live"
        for key in stale:
            assert engine.load(key) is None
        assert engine.clear_expired() == 0

    # -- lifecycle ---------------------------------------------------------------

    def test_close_can_be_called(self, engine: Engine) -> None:
        """``close()`` releases resources without error; the fixture may call it again."""
        self.create(engine, b"data")
        engine.close()
