"""Conformance tests for serializers: session dict to bytes and back, never pickle.

One required fixture, ``serializer``. Decoding failures must raise
``SerializationError`` (a signing serializer may raise
``SuspiciousSession`` instead); non-``str`` keys at any
depth are refused by ``dumps`` with ``SerializationError``, so ``0`` never
comes back as ``"0"``.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from .._errors import SerializationError, SuspiciousSession
from .._serializer import Serializer

__all__ = ["SerializerConformance"]

#: What ``loads`` may raise for input it refuses.
REFUSED = (SerializationError, SuspiciousSession)

#: A protocol-2 pickle of ``{"a": 1}``, spelled out so the kit never imports pickle.
PICKLE_OF_DICT = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s."
#: A protocol-0 pickle that calls ``builtins.len("pwned")`` when unpickled (harmless if it ran).
PICKLE_CALLING_A_FUNCTION = b"cbuiltins\nlen\n(S'pwned'\ntR."

ROUND_TRIPS: dict[str, dict[str, Any]] = {
    "str": {"s": "value"},
    "int": {"i": 42, "negative": -7, "big": 2**53},
    "float": {"f": 1.5, "tiny": 1e-300},
    "bool": {"t": True, "f": False},
    "none": {"n": None},
    "list": {"l": [1, "two", 3.0, None, [4]]},
    "nested-dict": {"a": {"b": {"c": {"d": [{"e": 1}]}}}},
    "unicode": {"h\u00e9llo": "w\u00f6rld \u65e5\u672c \U0001f600", "": "empty key"},
    "empty-dict": {},
    "empty-containers": {"l": [], "d": {}, "s": ""},
}

NON_STR_KEYS: dict[str, dict[Any, Any]] = {
    "int": {0: "zero"},
    "float": {1.5: "x"},
    "bool": {True: "x"},
    "None": {None: "x"},
    "tuple": {("a", "b"): "x"},
    "bytes": {b"k": "x"},
    "nested-int": {"outer": {1: "x"}},
    "in-list": {"outer": [{"ok": 1}, {2: "x"}]},
    "deep": {"a": {"b": {"c": {3: "x"}}}},
}

NOT_A_MAPPING: dict[str, bytes] = {
    "json-list": b"[1, 2]",
    "json-string": b'"a string"',
    "json-number": b"42",
    "json-null": b"null",
    "json-true": b"true",
    "msgpack-list": b"\x92\x01\x02",
    "msgpack-int": b"\x2a",
    "msgpack-str": b"\xa3abc",
}


def assert_identical(expected: Any, actual: Any, path: str = "") -> None:
    """Assert equality with exact types at every depth (``1`` is not ``1.0`` is not ``True``).

    A NaN is identical to a NaN (a serializer that stores one gives one back).
    """
    where = path or "the top level"
    assert type(actual) is type(expected), (
        f"{where}: expected {type(expected).__name__} {expected!r}, "
        f"got {type(actual).__name__} {actual!r}"
    )
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)} != {list(expected)}"
        for key in expected:
            assert_identical(expected[key], actual[key], f"{path}[{key!r}]")
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            assert_identical(want, got, f"{path}[{index}]")
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual), f"{where}: {actual!r} != {expected!r}"  # NaN != NaN
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


class SerializerConformance:
    """The serializer contract. Subclass it and define a ``serializer`` fixture.

    Every test carries the ``sessionware_kit`` marker.
    """

    pytestmark = [pytest.mark.sessionware_kit]

    @pytest.fixture
    def serializer(self) -> Serializer:
        """Override me: return the serializer under test."""
        pytest.fail(
            f"{type(self).__name__} must define a `serializer` fixture, e.g.\n\n"
            "    @pytest.fixture\n    def serializer(self):\n        return MySerializer()\n"
        )

    @pytest.mark.parametrize("data", list(ROUND_TRIPS.values()), ids=list(ROUND_TRIPS))
    def test_round_trips(self, serializer: Serializer, data: dict[str, Any]) -> None:
        """``loads(dumps(d))`` gives back ``d`` with the exact types at every depth."""
        assert_identical(data, serializer.loads(serializer.dumps(data)))

    def test_dumps_returns_bytes(self, serializer: Serializer) -> None:
        """``dumps`` returns ``bytes`` (engines store bytes, not text)."""
        assert type(serializer.dumps({"a": 1})) is bytes
        assert type(serializer.dumps({})) is bytes

    def test_large_payload_round_trips(self, serializer: Serializer) -> None:
        """A large session (a 256 KiB string, 10 000 list items, 1 000 keys) round-trips."""
        data: dict[str, Any] = {
            "blob": "x" * (256 * 1024),
            "items": list(range(10_000)),
            **{f"key{i}": {"n": i, "s": str(i)} for i in range(1_000)},
        }
        assert_identical(data, serializer.loads(serializer.dumps(data)))

    def test_loads_of_garbage_raises(self, serializer: Serializer) -> None:
        """Random bytes are refused with ``SerializationError`` (or ``SuspiciousSession``)."""
        for garbage in (b"\xff\xfe\xfd\x00garbage", b"{not json", b"\x00" * 16, b"\xc1"):
            with pytest.raises(REFUSED):
                serializer.loads(garbage)

    def test_loads_of_truncated_output_raises(self, serializer: Serializer) -> None:
        """Output cut short (a half-written file, a clipped cookie) is refused, never half-read."""
        raw = serializer.dumps({"user": "alice", "cart": [1, 2, 3], "nested": {"a": "b"}})
        for cut in (len(raw) // 2, len(raw) - 1):
            with pytest.raises(REFUSED):
                serializer.loads(raw[:cut])

    def test_loads_of_empty_bytes_raises(self, serializer: Serializer) -> None:
        """``loads(b"")`` is refused, not decoded as an empty session."""
        with pytest.raises(REFUSED):
            serializer.loads(b"")

    @pytest.mark.parametrize("data", list(NON_STR_KEYS.values()), ids=list(NON_STR_KEYS))
    def test_dumps_refuses_non_str_keys(self, serializer: Serializer, data: dict[Any, Any]) -> None:
        """A non-``str`` key at any depth raises ``SerializationError`` (never becomes a str)."""
        with pytest.raises(SerializationError):
            serializer.dumps(data)

    @pytest.mark.parametrize("raw", list(NOT_A_MAPPING.values()), ids=list(NOT_A_MAPPING))
    def test_loads_refuses_a_top_level_non_mapping(
        self, serializer: Serializer, raw: bytes
    ) -> None:
        """Bytes that decode to a list, string, number or null are refused: a session is a dict."""
        with pytest.raises(REFUSED):
            serializer.loads(raw)

    def test_dumps_of_a_non_mapping_is_refused_somewhere(self, serializer: Serializer) -> None:
        """A list given to ``dumps`` is refused there or by ``loads``, never returned as data."""
        try:
            raw = serializer.dumps([1, 2])  # type: ignore[arg-type]
        except (SerializationError, TypeError):
            return
        with pytest.raises(REFUSED):
            serializer.loads(raw)

    def test_pickle_payload_is_refused(self, serializer: Serializer) -> None:
        """Pickle bytes are never unpickled: both a plain dict and a function call are refused."""
        for payload in (PICKLE_OF_DICT, PICKLE_CALLING_A_FUNCTION):
            with pytest.raises(REFUSED):
                serializer.loads(payload)

    def test_error_is_a_serialization_error_with_a_message(self, serializer: Serializer) -> None:
        """The refusal carries a message saying what was wrong."""
        with pytest.raises(REFUSED) as caught:
            serializer.loads(b"\xff")
        assert str(caught.value), "the error has no message"
