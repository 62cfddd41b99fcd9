"""The fixtures and skip helpers every engine test class of the kit shares.

A plugin author overrides exactly one fixture, ``engine``, which must return
an EMPTY engine (and close it after the test). Everything else — the
serializer sessions are stored with, the bound ``SessionStore`` class — is
derived from it and can be overridden too.
"""

from __future__ import annotations

from typing import cast

import pytest

from .._capabilities import Capabilities
from .._engine import Engine
from .._keys import new_session_key
from .._serializer import Serializer
from .._session import SessionStore, session_store
from ._helpers import LockingEngine, VersionedEngine, capabilities_of, expires_in
from ._reference_serializer import ReferenceSerializer

__all__ = ["EngineKitBase"]


class EngineKitBase:
    """Fixtures and helpers shared by the engine halves of the conformance kit."""

    @pytest.fixture
    def engine(self) -> Engine:
        """Override me: yield an EMPTY engine, close it afterwards."""
        pytest.fail(
            f"{type(self).__name__} must define an `engine` fixture that returns an empty "
            "engine, e.g.\n\n    @pytest.fixture\n    def engine(self, tmp_path):\n"
            "        e = MyEngine(path=tmp_path)\n        yield e\n        e.close()\n"
        )

    @pytest.fixture
    def second_engine(self, engine: Engine) -> Engine:
        """Override me: another engine on the same store as ``engine`` (close it afterwards).

        It stands for a second process (or, for an engine whose store lives in
        one process, a second engine object on that store): the versioned and
        locking tests check that versions and locks are the store's, not one
        engine object's. Without it those tests skip.
        """
        self.require_shared(engine, "a second engine would not share the first one's store")
        pytest.skip(
            "define a `second_engine` fixture (another engine instance on the same store as "
            "`engine`, e.g. the same path or URL and prefix) to run the tests that need two"
        )

    @pytest.fixture
    def kit_serializer(self) -> Serializer:
        """The serializer for sessions: the kit's stdlib-json ``ReferenceSerializer``."""
        return ReferenceSerializer()

    @pytest.fixture
    def store(self, engine: Engine, kit_serializer: Serializer) -> type[SessionStore]:
        """A ``SessionStore`` class bound to ``engine`` and ``kit_serializer``."""
        return session_store(engine_instance=engine, serializer_instance=kit_serializer)

    # -- helpers ---------------------------------------------------------------

    @staticmethod
    def caps(engine: Engine) -> Capabilities:
        """The engine's declared capabilities."""
        return capabilities_of(engine)

    @classmethod
    def require_server_side(cls, engine: Engine, why: str) -> None:
        """Skip unless the engine keeps data on the server (``server_side=True``)."""
        if not cls.caps(engine).server_side:
            pytest.skip(f"engine declares server_side=False: {why}")

    @classmethod
    def require_clear_expired(cls, engine: Engine) -> None:
        """Skip unless the engine removes expired sessions itself in ``clear_expired``."""
        cls.require_server_side(engine, "there is nothing on the server to clear")
        if not cls.caps(engine).clear_expired:
            pytest.skip(
                "engine declares clear_expired=False: the store expires sessions on its own"
            )

    @classmethod
    def require_versioned(cls, engine: Engine) -> VersionedEngine:
        """Skip unless the engine declares ``versioned=True``; return it, typed as such."""
        if not cls.caps(engine).versioned:
            pytest.skip(
                "engine declares versioned=False: it has no load_versioned/save_versioned "
                "(sessions then save last-writer-wins)"
            )
        return cast(VersionedEngine, engine)

    @classmethod
    def require_locking(cls, engine: Engine) -> LockingEngine:
        """Skip unless the engine declares ``locking=True``; return it, typed as such."""
        if not cls.caps(engine).locking:
            pytest.skip("engine declares locking=False: it has no acquire_lock/release_lock")
        return cast(LockingEngine, engine)

    @classmethod
    def require_shared(cls, engine: Engine, why: str) -> None:
        """Skip unless sessions are visible to every process that opens the same store."""
        if not cls.caps(engine).shared_across_processes:
            pytest.skip(f"engine declares shared_across_processes=False: {why}")

    @staticmethod
    def new_key() -> str:
        """A fresh, valid session key."""
        return new_session_key()

    @staticmethod
    def create(engine: Engine, data: bytes = b"kit", expires_at: float | None = None) -> str:
        """Create a session with ``data`` under a new key; return the handle ``save`` gave.

        The handle is the key for server-side engines and the cookie value for
        cookie engines; pass it to ``load``.
        """
        when = expires_in() if expires_at is None else expires_at
        return engine.save(new_session_key(), data, when, must_create=True)
