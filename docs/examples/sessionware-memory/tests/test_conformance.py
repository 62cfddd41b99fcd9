"""sessionware-memory's test suite: the conformance kit, plus the engine's own option."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sessionware
from sessionware.testing import EngineConformance, ReferenceSerializer, expires_in

from sessionware_memory import MemoryEngine


class TestMemoryEngine(EngineConformance):
    """Every behaviour the conformance kit checks, against an empty MemoryEngine."""

    @pytest.fixture
    def engine(self) -> Iterator[MemoryEngine]:
        """A fresh, empty engine per test."""
        engine = MemoryEngine()
        yield engine
        engine.close()


def test_engine_is_found_by_name() -> None:
    """The entry point registers the engine as ``memory``."""
    assert isinstance(sessionware.get_engine("memory"), MemoryEngine)


def test_unknown_option_is_rejected() -> None:
    """``get_engine`` refuses options the constructor does not take."""
    with pytest.raises(sessionware.ConfigurationError, match="colour"):
        sessionware.get_engine("memory", colour="blue")


def test_invalid_max_sessions_is_rejected() -> None:
    """A nonsensical ``max_sessions`` fails at start-up, naming the option."""
    with pytest.raises(sessionware.ConfigurationError, match="max_sessions"):
        sessionware.get_engine("memory", max_sessions=0)


def test_max_sessions_refuses_creates_when_full() -> None:
    """With ``max_sessions=2`` a third live session cannot be created."""
    engine = sessionware.get_engine("memory", max_sessions=2)
    for _ in range(2):
        engine.save(sessionware.new_session_key(), b"x", expires_in(), must_create=True)
    with pytest.raises(sessionware.EngineUnavailable, match="max_sessions=2"):
        engine.save(sessionware.new_session_key(), b"x", expires_in(), must_create=True)


def test_session_store_selects_the_engine_by_name() -> None:
    """``session_store(engine="memory")`` gives a working SessionStore class."""
    store = sessionware.session_store(engine="memory", serializer_instance=ReferenceSerializer())
    session = store()
    session["user"] = "alice"
    session.save()
    assert store(session.session_key)["user"] == "alice"
