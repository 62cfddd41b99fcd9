"""The conformance kit passes against the correct in-memory reference engine.

The kit's ``MemoryEngine`` runs the whole engine kit in each of its
configurations (the default, native async twins, a simulated outage). Also
runs the serializer half against the kit's own ReferenceSerializer, and
checks the kit's public surface.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import sessionware.testing
from sessionware import Capabilities, Engine, EngineUnavailable, Serializer, VersionConflict
from sessionware.testing import (
    EngineConformance,
    MemoryEngine,
    ReferenceSerializer,
    SerializerConformance,
    expires_in,
    run_async,
)

from .engines import CookieEngine


class TestMemoryEngine(EngineConformance):
    """The whole engine kit against ``MemoryEngine``, outage tests included."""

    @pytest.fixture
    def engine(self) -> Iterator[Engine]:
        """An empty reference engine."""
        engine = MemoryEngine()
        yield engine
        engine.close()

    @pytest.fixture
    def unreachable_engine(self) -> Iterator[Engine]:
        """The same engine with its whole store down."""
        engine = MemoryEngine(down=True)
        yield engine
        engine.close()


class TestNativeAsyncMemoryEngine(EngineConformance):
    """The engine kit against ``MemoryEngine`` declaring native async twins."""

    @pytest.fixture
    def engine(self) -> Iterator[Engine]:
        """An empty engine whose async twins are its own coroutines."""
        engine = MemoryEngine(
            capabilities=Capabilities(native_async=True, versioned=True, locking=True)
        )
        yield engine
        engine.close()


class TestUnversionedMemoryEngine(EngineConformance):
    """The engine kit against ``MemoryEngine`` declaring neither versioned nor locking."""

    @pytest.fixture
    def engine(self) -> Iterator[Engine]:
        """An empty engine that the session treats as last-writer-wins."""
        engine = MemoryEngine(capabilities=Capabilities(local=True, inline_async=True))
        yield engine
        engine.close()


class TestCookieEngine(EngineConformance):
    """The engine kit against a cookie-style engine: server-side tests skip by declaration."""

    @pytest.fixture
    def engine(self) -> Iterator[Engine]:
        """A cookie engine (nothing to empty)."""
        engine = CookieEngine()
        yield engine
        engine.close()


class TestReferenceSerializer(SerializerConformance):
    """The whole serializer kit against the kit's own stdlib-json serializer."""

    @pytest.fixture
    def serializer(self) -> Serializer:
        """The kit's reference serializer."""
        return ReferenceSerializer()


def test_public_api_is_documented() -> None:
    """``sessionware.testing.__all__`` is exactly the names the guide's API table documents."""
    guide = Path(__file__).parents[2] / "docs" / "plugin-authors.md"
    table = guide.read_text(encoding="utf-8").split("### The kit's public API")[1].split("\n\n")[1]
    documented = {
        name for row in table.splitlines()[2:] for name in re.findall(r"`(\w+)", row.split("|")[1])
    }
    assert set(sessionware.testing.__all__) == documented


def test_reference_serializer_satisfies_the_protocol() -> None:
    """The kit's serializer is a ``sessionware.Serializer``."""
    assert isinstance(ReferenceSerializer(), Serializer)


def test_reference_engine_satisfies_the_protocol() -> None:
    """``MemoryEngine`` is a ``sessionware.Engine``."""
    assert isinstance(MemoryEngine(), Engine)


def test_memory_engine_records_every_storage_call_in_order() -> None:
    """``calls`` lists the storage calls, async twins first when they are native."""
    engine = MemoryEngine()
    key = sessionware.new_session_key()
    engine.save(key, b"x", expires_in(), must_create=True)
    engine.load(key)
    engine.exists(key)
    engine.delete(key)
    engine.clear_expired()
    assert engine.calls == ["save", "load", "exists", "delete", "clear_expired"]
    native = MemoryEngine(capabilities=Capabilities(native_async=True))
    run_async(native.asave(key, b"x", expires_in(), True))
    assert run_async(native.aload(key)) == b"x"
    assert native.calls == ["asave", "save", "aload", "load"]


def test_memory_engine_capabilities_are_per_instance() -> None:
    """The ``capabilities`` option changes one engine, never the class default."""
    native = MemoryEngine(capabilities=Capabilities(native_async=True))
    assert native.capabilities.native_async and not native.capabilities.inline_async
    assert MemoryEngine().capabilities == MemoryEngine.capabilities
    assert MemoryEngine.capabilities.inline_async and not MemoryEngine.capabilities.native_async


def test_memory_engine_goes_down_per_operation_and_comes_back() -> None:
    """``down`` names the failing operations; the error names the store; data survives."""
    engine = MemoryEngine(down={"save"})
    key = sessionware.new_session_key()
    with pytest.raises(EngineUnavailable) as caught:
        engine.save(key, b"x", expires_in(), must_create=True)
    assert caught.value.address == "memory://test"
    assert engine.load(key) is None  # only saving is down
    engine.down.clear()
    engine.save(key, b"x", expires_in(), must_create=True)
    engine.down.add("load")
    with pytest.raises(EngineUnavailable):
        engine.load(key)
    engine.down.discard("load")
    assert engine.load(key) == b"x"
    with pytest.raises(EngineUnavailable):
        MemoryEngine(down=True).health()


def test_memory_engine_refuses_an_unknown_operation() -> None:
    """A misspelt ``down`` entry is an error, not an outage that never happens."""
    with pytest.raises(TypeError, match="'lod'"):
        MemoryEngine(down={"lod"})


def test_memory_engine_versions_follow_the_stored_entry() -> None:
    """Every new entry in ``data`` has a new version, however it got there; delete forgets it."""
    engine = MemoryEngine()
    key = sessionware.new_session_key()
    _, first = engine.save_versioned(key, b"one", expires_in(), None)
    assert engine.load_versioned(key) == (b"one", first)
    engine.data[key] = (b"planted", expires_in())  # a test corrupting the entry
    loaded = engine.load_versioned(key)
    assert loaded is not None and loaded[0] == b"planted" and loaded[1] != first
    with pytest.raises(VersionConflict):
        engine.save_versioned(key, b"stale", expires_in(), first)
    _, again = engine.save_versioned(key, b"fresh", expires_in(), loaded[1])
    engine.delete(key)
    engine.save(key, b"recreated", expires_in(), must_create=True)
    recreated = engine.load_versioned(key)
    assert recreated is not None and recreated[1] not in (first, loaded[1], again)


def test_memory_engine_records_versioned_and_lock_calls_and_can_fail_them() -> None:
    """``calls`` names the versioned and lock operations; ``down`` can fail each of them."""
    engine = MemoryEngine()
    key = sessionware.new_session_key()
    _, version = engine.save_versioned(key, b"x", expires_in(), None)
    engine.load_versioned(key)
    token = engine.acquire_lock(key, 30)
    assert token is not None and engine.leases[key][0] == token
    engine.release_lock(key, token)
    assert engine.calls == ["save_versioned", "load_versioned", "acquire_lock", "release_lock"]
    assert engine.leases == {}
    engine.down = {"save_versioned", "acquire_lock"}
    with pytest.raises(EngineUnavailable):
        engine.save_versioned(key, b"y", expires_in(), version)
    with pytest.raises(EngineUnavailable):
        engine.acquire_lock(key, 30)
    assert engine.load_versioned(key) == (b"x", version)
    native = MemoryEngine(capabilities=Capabilities(native_async=True))
    run_async(native.asave_versioned(key, b"x", expires_in(), None))
    assert run_async(native.aacquire_lock(key, 30)) is not None
    assert native.calls == ["asave_versioned", "save_versioned", "aacquire_lock", "acquire_lock"]


def test_memory_engine_clear_expired_drops_run_out_leases_and_close_all() -> None:
    """Run-out leases go with ``clear_expired`` (not counted); ``close`` drops every lease."""
    engine = MemoryEngine()
    held, run_out = sessionware.new_session_key(), sessionware.new_session_key()
    assert engine.acquire_lock(held, 30) is not None
    assert engine.acquire_lock(run_out, 30) is not None
    engine.leases[run_out] = (engine.leases[run_out][0], engine.now() - 1)
    assert engine.clear_expired() == 0
    assert list(engine.leases) == [held]
    engine.close()
    assert engine.leases == {}


def test_memory_engine_down_load_or_save_fails_the_versioned_forms_too() -> None:
    """A test written before versioning (``down={"load"}``) still fails every load."""
    engine = MemoryEngine()
    key = sessionware.new_session_key()
    _, version = engine.save_versioned(key, b"x", expires_in(), None)
    engine.down = {"load", "save"}
    with pytest.raises(EngineUnavailable):
        engine.load_versioned(key)
    with pytest.raises(EngineUnavailable):
        engine.save_versioned(key, b"y", expires_in(), version)
    engine.down = {"load_versioned"}
    assert engine.load(key) == b"x"
