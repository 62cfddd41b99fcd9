"""The json serializer: what it accepts, what it refuses and how it says so."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sessionware_json import JSONSerializer

import sessionware
from sessionware import SerializationError

ser = JSONSerializer()

SESSION = {
    "user_id": 42,
    "username": "alice",
    "recent": [3, 1, 4],
    "flags": {"beta": True, "dark": False},
    "login_at": "2026-05-09T07:35:25+00:00",
    "counter": 7,
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def test_get_serializer_finds_json_through_entry_points() -> None:
    assert isinstance(sessionware.get_serializer("json"), JSONSerializer)
    info = {p.name: p for p in sessionware.list_plugins()}["json"]
    assert (info.distribution, info.serializers) == ("sessionware-json", ["json"])


def test_unknown_option_is_a_configuration_error() -> None:
    with pytest.raises(sessionware.ConfigurationError, match="indent"):
        sessionware.get_serializer("json", indent=2)


def test_round_trip() -> None:
    assert ser.loads(ser.dumps(SESSION)) == SESSION


@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_any_json_data_with_str_keys_round_trips(data: dict[str, Any]) -> None:
    assert ser.loads(ser.dumps(data)) == data


def test_output_is_compact_utf8() -> None:
    out = ser.dumps({"a": [1, 2], "é": "日本"})
    assert out == '{"a":[1,2],"é":"日本"}'.encode()


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({1: "x"}, "the session"),
        ({"a": {0: "x"}}, "session['a']"),
        ({"a": [{"b": {None: 1}}]}, "session['a'][0]['b']"),
        ({"a": {True: 1}}, "session['a']"),
        ({"a": {1.5: 1}}, "session['a']"),
    ],
)
def test_non_str_key_at_any_depth_is_refused_naming_the_path(data: Any, path: str) -> None:
    with pytest.raises(SerializationError) as info:
        ser.dumps(data)
    assert path in str(info.value)
    assert "str keys" in str(info.value)


@pytest.mark.parametrize(
    ("value", "kind", "advice"),
    [
        ({1, 2}, "set", "list"),
        (frozenset({1}), "frozenset", "list"),
        ((1, 2), "tuple", "list"),
        (datetime.now(UTC), "datetime", "isoformat"),
        (date(2026, 1, 1), "date", "isoformat"),
        (timedelta(seconds=5), "timedelta", "total_seconds"),
        (b"raw", "bytes", "base64"),
        (Decimal("1.5"), "Decimal", "str(value)"),
        (uuid4(), "UUID", "str(value)"),
        (object(), "object", "dicts with str keys"),
    ],
)
def test_non_json_value_is_refused_naming_type_path_and_fix(
    value: Any, kind: str, advice: str
) -> None:
    with pytest.raises(SerializationError) as info:
        ser.dumps({"outer": {"list": [0, value]}})
    message = str(info.value)
    assert "session['outer']['list'][1]" in message
    assert kind in message
    assert advice in message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused_by_dumps(value: float) -> None:
    with pytest.raises(SerializationError, match=r"session\['x'\]"):
        ser.dumps({"x": value})


@pytest.mark.parametrize(
    "raw", [b'{"x":NaN}', b'{"x":Infinity}', b'{"x":-Infinity}', b'{"x":1e999}']
)
def test_nan_and_infinity_are_refused_by_loads(raw: bytes) -> None:
    with pytest.raises(SerializationError):
        ser.loads(raw)


def test_lone_surrogate_round_trips_escaped() -> None:
    # loads accepts "\\udc80", so dumps must write it back (see test_closure.py).
    assert ser.dumps({"s": "\udc80"}) == b'{"s":"\\udc80"}'
    assert ser.loads(ser.dumps({"s": "\udc80"})) == {"s": "\udc80"}


def test_cycle_is_refused() -> None:
    data: dict[str, Any] = {"a": []}
    data["a"].append(data)
    with pytest.raises(SerializationError, match="cycle"):
        ser.dumps(data)


def test_deep_nesting_is_a_serialization_error() -> None:
    data: Any = {}
    for _ in range(100_000):
        data = {"d": data}
    with pytest.raises(SerializationError, match="nested too deeply"):
        ser.dumps(data)
    with pytest.raises(SerializationError):
        ser.loads(b'{"d":' * 100_000 + b"1" + b"}" * 100_000)


def test_non_dict_top_level_is_refused_by_dumps() -> None:
    with pytest.raises(SerializationError, match="dict"):
        ser.dumps([1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe", b"\xc3", b"", b"{", b"{'a': 1}", b'{"a":1} trailing', b"\x00garbage"],
)
def test_garbage_bytes_are_refused_by_loads(raw: bytes) -> None:
    with pytest.raises(SerializationError):
        ser.loads(raw)


@pytest.mark.parametrize(
    ("raw", "kind"), [(b"[1]", "array"), (b'"s"', "string"), (b"1", "number"), (b"null", "literal")]
)
def test_top_level_non_object_is_refused_by_loads(raw: bytes, kind: str) -> None:
    with pytest.raises(SerializationError, match=kind):
        ser.loads(raw)


def test_loads_accepts_bytes_like_objects() -> None:
    raw = ser.dumps(SESSION)
    assert ser.loads(bytearray(raw)) == SESSION  # type: ignore[arg-type]
    assert ser.loads(memoryview(raw)) == SESSION  # type: ignore[arg-type]


def test_loads_refuses_str() -> None:
    with pytest.raises(SerializationError, match="bytes"):
        ser.loads('{"a":1}')  # type: ignore[arg-type]


def test_loads_refuses_other_utf_encodings() -> None:
    with pytest.raises(SerializationError, match="UTF-8"):
        ser.loads('{"a":1}'.encode("utf-16"))


def test_output_is_read_by_stdlib_json() -> None:
    assert json.loads(ser.dumps(SESSION)) == SESSION


@pytest.mark.parametrize("raw", [b' {"a":1}', b'{"a":1}\n', b'\t{ "a" : 1 }  '])
def test_whitespace_around_the_document_is_accepted(raw: bytes) -> None:
    # The fast path reads compact documents only; the full decoder takes the rest.
    assert JSONSerializer().loads(raw) == {"a": 1}


def test_a_deep_but_finite_nesting_is_called_too_deep_not_a_cycle() -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(100_000):
        node["n"] = node = {}
    with pytest.raises(SerializationError, match="nested too deeply"):
        JSONSerializer().dumps(deep)
