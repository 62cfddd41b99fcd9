"""Fixtures for the signed serializer tests.

These tests must pass with only the core and this plugin installed, so the
inner serializers are registered in code for each test: the kit's
``ReferenceSerializer`` as ``kit_json``, plus a few test doubles. The json
plugin is used only by tests that skip themselves when it is missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from sessionware_signed import SignedSerializer

import sessionware
from sessionware import (
    SerializationError,
    SerializerNotFound,
)
from sessionware.testing import MemoryEngine, ReferenceSerializer, registered

SECRET = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
OLD_SECRET = "retired-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
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


@pytest.fixture(autouse=True)
def inner_serializers() -> Iterator[None]:
    """Register the inner serializers by name for one test, and remove them afterwards."""
    with registered(
        ReferenceSerializer, TaggedSerializer, ExplodingSerializer, name="signed-tests"
    ):
        yield


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


@pytest.fixture
def engine() -> MemoryEngine:
    """The kit's in-memory engine, so these tests need no engine plugin."""
    return MemoryEngine()


@pytest.fixture
def store(engine: MemoryEngine) -> Callable[..., type[sessionware.SessionStore]]:
    """SessionStore classes on one shared ``engine`` with the signed serializer, by name."""

    def build(**settings: Any) -> type[sessionware.SessionStore]:
        settings.setdefault("secret_key", SECRET)
        settings.setdefault("serializer_options", {"inner": INNER})
        return sessionware.session_store(engine_instance=engine, serializer="signed", **settings)

    return build
