"""Fixtures for the signed serializer tests.

These tests must pass with only the core and this plugin installed, so the
inner serializers are registered in code for each test: the kit's
``ReferenceSerializer`` as ``kit_json``, plus a few test doubles. The json
plugin is used only by tests that skip themselves when it is missing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from sessionware_signed import SignedSerializer

import sessionware
from sessionware import (
    Capabilities,
    CreateError,
    EngineBase,
    SerializationError,
    SerializerNotFound,
    UpdateError,
    hookimpl,
)
from sessionware._plugins import host  # registering plugins in code: tests only
from sessionware.testing import ReferenceSerializer

SECRET = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
OLD_SECRET = "retired-secret-0123456789abcdefghijklmnopqrstuv"
INNER = "kit_json"


class TaggedSerializer:
    """JSON with a ``tag`` prefix: shows that ``inner_options`` reach the inner serializer."""

    name: ClassVar[str] = "tagged"

    def __init__(self, *, tag: str = "v1") -> None:
        self.tag = tag.encode()

    def dumps(self, data: dict[str, Any]) -> bytes:
        return self.tag + b":" + json.dumps(data).encode()

    def loads(self, raw: bytes) -> dict[str, Any]:
        tag, sep, body = raw.partition(b":")
        if not sep or tag != self.tag:
            raise SerializationError(f"expected tag {self.tag!r}, got {tag!r}")
        data: dict[str, Any] = json.loads(body)
        return data


class ExplodingSerializer:
    """Breaks the protocol: raises plain exceptions, returns str. Errors must still be clean."""

    name: ClassVar[str] = "exploding"

    def __init__(self, *, returns_str: bool = False) -> None:
        self.returns_str = returns_str

    def dumps(self, data: dict[str, Any]) -> bytes:
        if self.returns_str:
            return "not bytes"  # type: ignore[return-value]
        raise TypeError("cannot encode this")

    def loads(self, raw: bytes) -> dict[str, Any]:
        raise KeyError("cannot decode this")


class _InnerSerializers:
    @hookimpl
    def register_serializers(self, register: Callable[[type[Any]], None]) -> None:
        register(ReferenceSerializer)
        register(TaggedSerializer)
        register(ExplodingSerializer)


@pytest.fixture(autouse=True)
def inner_serializers() -> Iterator[None]:
    """Register the inner serializers by name for one test, and remove them afterwards."""
    host.register(_InnerSerializers(), name="signed-tests")
    yield
    host.unregister("signed-tests")


@pytest.fixture
def make() -> Callable[..., SignedSerializer]:
    """Build signed serializers by name (secret and ``inner="kit_json"`` by default)."""

    def build(**options: Any) -> SignedSerializer:
        options.setdefault("secret_key", SECRET)
        options.setdefault("inner", INNER)
        ser = sessionware.get_serializer("signed", **options)
        assert isinstance(ser, SignedSerializer)
        return ser

    return build


@pytest.fixture
def ser(make: Callable[..., SignedSerializer]) -> SignedSerializer:
    return make()


@pytest.fixture
def json_plugin() -> None:
    """Skip unless the json plugin (the default inner serializer) is installed."""
    try:
        sessionware.get_serializer("json")
    except SerializerNotFound:
        pytest.skip("the json plugin (sessionware-json), the default inner, is not installed")


class DictEngine(EngineBase):
    """Session bytes in a dict, so these tests need no engine plugin; ``data`` is open to tests."""

    name: ClassVar[str] = "test_dict"
    capabilities: ClassVar[Capabilities] = Capabilities(local=True, shared_across_processes=False)

    def __init__(self) -> None:
        self.data: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def load(self, key: str) -> bytes | None:
        if not self.is_valid_key(key):
            return None
        entry = self.data.get(key)
        return entry[0] if entry is not None and entry[1] > self.now() else None

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        self.check_key(key)
        with self._lock:
            live = self.exists(key)
            if must_create and live:
                raise CreateError(f"session key {key[:6]}... is taken")
            if not must_create and not live:
                raise UpdateError(f"session {key[:6]}... vanished")
            self.data[key] = (bytes(data), expires_at)
        return key

    def exists(self, key: str) -> bool:
        entry = self.data.get(key)
        return entry is not None and entry[1] > self.now()

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def clear_expired(self) -> int:
        now = self.now()
        stale = [k for k, (_, exp) in self.data.items() if exp <= now]
        for key in stale:
            del self.data[key]
        return len(stale)


@pytest.fixture
def engine() -> DictEngine:
    return DictEngine()


@pytest.fixture
def store(engine: DictEngine) -> Callable[..., type[sessionware.SessionStore]]:
    """SessionStore classes on one shared ``engine`` with the signed serializer, by name."""

    def build(**settings: Any) -> type[sessionware.SessionStore]:
        settings.setdefault("secret_key", SECRET)
        settings.setdefault("serializer_options", {"inner": INNER})
        return sessionware.session_store(engine_instance=engine, serializer="signed", **settings)

    return build
