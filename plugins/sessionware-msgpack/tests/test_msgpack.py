"""The msgpack serializer: what it accepts, what it refuses and how it says so."""

from __future__ import annotations

import threading
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sessionware_msgpack import MsgpackSerializer

from sessionware import SerializationError
from sessionware.testing import assert_identical

SESSION = {
    "user_id": 42,
    "username": "alice",
    "recent": [3, 1, 4],
    "flags": {"beta": True, "dark": False},
    "login_at": "2026-05-09T07:35:25+00:00",
    "counter": 7,
}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.binary(max_size=64)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def test_round_trip(ser: MsgpackSerializer) -> None:
    assert_identical(SESSION, ser.loads(ser.dumps(SESSION)))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(), values, max_size=6))
def test_any_accepted_data_round_trips_with_exact_types(data: dict[str, Any]) -> None:
    ser = MsgpackSerializer()
    assert_identical(data, ser.loads(ser.dumps(data)))


def test_output_is_plain_msgpack(ser: MsgpackSerializer) -> None:
    data = {"a": [1, 2], "é": "日本", "b": b"\x00\xff"}
    assert ser.dumps(data) == msgpack.packb(data, use_bin_type=True)
    assert msgpack.unpackb(ser.dumps(data)) == data


def test_bytes_values_round_trip_as_bytes(ser: MsgpackSerializer) -> None:
    data = {"blob": bytes(range(256)), "nested": [{"b": b""}]}
    assert_identical(data, ser.loads(ser.dumps(data)))


def test_64_bit_integer_limits_round_trip(ser: MsgpackSerializer) -> None:
    data = {"low": -(2**63), "high": 2**64 - 1}
    assert_identical(data, ser.loads(ser.dumps(data)))


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**30])
def test_int_outside_64_bits_is_refused_naming_the_path(ser: MsgpackSerializer, value: int) -> None:
    with pytest.raises(SerializationError, match=r"session\['n'\]\[1\].*64-bit.*str\(value\)"):
        ser.dumps({"n": [0, value]})


def test_subclasses_are_accepted_and_come_back_as_the_base_type(ser: MsgpackSerializer) -> None:
    class Name(str):
        pass

    class Mapping(dict[str, Any]):
        pass

    out = ser.loads(ser.dumps({"m": Mapping(n=Name("ada"))}))
    assert_identical({"m": {"n": "ada"}}, out)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({1: "x"}, "the session"),
        ({"a": {0: "x"}}, "session['a']"),
        ({"a": [{"b": {None: 1}}]}, "session['a'][0]['b']"),
        ({"a": {True: 1}}, "session['a']"),
        ({"a": {1.5: 1}}, "session['a']"),
        ({"a": {b"k": 1}}, "session['a']"),
        ({"a": {("t",): 1}}, "session['a']"),
    ],
)
def test_dumps_refuses_non_str_key_at_any_depth_naming_the_path(
    ser: MsgpackSerializer, data: Any, path: str
) -> None:
    with pytest.raises(SerializationError) as info:
        ser.dumps(data)
    assert path in str(info.value)
    assert "str keys" in str(info.value)


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b"\x81\x01\xa1x", "the session"),  # {1: "x"}
        (b"\x81\xa1a\x81\x00\xa1x", "session['a']"),  # {"a": {0: "x"}}
        (b"\x81\xa1a\x91\x81\xc4\x01k\x01", "session['a'][0]"),  # {"a": [{b"k": 1}]}
        (b"\x81\xa1a\x81\xc3\x01", "session['a']"),  # {"a": {True: 1}}
        (b"\x81\xa1a\x81\xc0\x01", "session['a']"),  # {"a": {None: 1}}
    ],
)
def test_loads_refuses_non_str_key_at_any_depth_naming_the_path(
    ser: MsgpackSerializer, raw: bytes, path: str
) -> None:
    with pytest.raises(SerializationError) as info:
        ser.loads(raw)
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
        (bytearray(b"raw"), "bytearray", "bytes(value)"),
        (memoryview(b"raw"), "memoryview", "bytes(value)"),
        (Decimal("1.5"), "Decimal", "str(value)"),
        (uuid4(), "UUID", "str(value)"),
        (msgpack.ExtType(5, b"x"), "ExtType", "dicts with str keys"),
        (msgpack.Timestamp(1, 0), "Timestamp", "dicts with str keys"),
        (object(), "object", "dicts with str keys"),
    ],
)
def test_unsupported_value_is_refused_naming_type_path_and_fix(
    ser: MsgpackSerializer, value: Any, kind: str, advice: str
) -> None:
    with pytest.raises(SerializationError) as info:
        ser.dumps({"outer": {"list": [0, value]}})
    message = str(info.value)
    assert "session['outer']['list'][1]" in message
    assert kind in message
    assert advice in message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused_by_dumps(ser: MsgpackSerializer, value: float) -> None:
    with pytest.raises(SerializationError, match=r"session\['x'\]\[0\].*None"):
        ser.dumps({"x": [value]})


@pytest.mark.parametrize(
    "value",
    [
        b"\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00",  # float64 NaN
        b"\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00",  # float64 +inf
        b"\xca\xff\x80\x00\x00",  # float32 -inf
    ],
)
def test_nan_and_infinity_are_refused_by_loads(ser: MsgpackSerializer, value: bytes) -> None:
    with pytest.raises(SerializationError, match=r"session\['x'\]"):
        ser.loads(b"\x81\xa1x" + value)


def test_float32_input_is_read_as_a_float(ser: MsgpackSerializer) -> None:
    assert ser.loads(b"\x81\xa1x\xca\x3f\xc0\x00\x00") == {"x": 1.5}


def test_lone_surrogate_is_refused(ser: MsgpackSerializer) -> None:
    with pytest.raises(SerializationError, match=r"session\['s'\].*surrogate"):
        ser.dumps({"s": "\udc80"})
    with pytest.raises(SerializationError, match="surrogate"):
        ser.dumps({"\udc80": 1})


def test_invalid_utf8_str_is_refused_by_loads(ser: MsgpackSerializer) -> None:
    with pytest.raises(SerializationError, match="UTF-8"):
        ser.loads(b"\x81\xa1a\xa1\xff")


def test_cycle_is_refused(ser: MsgpackSerializer) -> None:
    data: dict[str, Any] = {"a": []}
    data["a"].append(data)
    with pytest.raises(SerializationError, match="cycle"):
        ser.dumps(data)


def test_nesting_up_to_max_depth_round_trips() -> None:
    ser = MsgpackSerializer(max_depth=5)
    data = {"d": [{"d": [{"leaf": 1}]}]}  # five containers, the top-level dict included
    assert_identical(data, ser.loads(ser.dumps(data)))


def test_nesting_past_max_depth_is_refused_by_dumps_naming_the_limit() -> None:
    ser = MsgpackSerializer(max_depth=5)
    data: Any = {"leaf": 1}
    for _ in range(5):
        data = {"d": data}
    with pytest.raises(SerializationError, match="max_depth=5"):
        ser.dumps(data)


def test_very_deep_data_is_refused_by_dumps_with_a_short_message(ser: MsgpackSerializer) -> None:
    data: Any = {}
    for _ in range(100_000):
        data = {"d": [data]}
    with pytest.raises(SerializationError, match="max_depth=256") as info:
        ser.dumps(data)
    assert len(str(info.value)) < 300


def test_non_dict_top_level_is_refused_by_dumps(ser: MsgpackSerializer) -> None:
    with pytest.raises(SerializationError, match="dict"):
        ser.dumps([1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"\x92\x01\x02", "array"),
        (b"\xa3abc", "str"),
        (b"\xc4\x01x", "bin"),
        (b"\x2a", "number"),
        (b"\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", "number"),
        (b"\xc0", "nil"),
        (b"\xc3", "bool"),
    ],
)
def test_non_map_top_level_is_refused_by_loads(
    ser: MsgpackSerializer, raw: bytes, kind: str
) -> None:
    with pytest.raises(SerializationError, match=kind):
        ser.loads(raw)


def test_duplicate_keys_keep_the_last_value(ser: MsgpackSerializer) -> None:
    assert ser.loads(b"\x82\xa1a\x01\xa1a\x02") == {"a": 2}


def test_loads_accepts_bytes_like_objects(ser: MsgpackSerializer) -> None:
    raw = ser.dumps(SESSION)
    assert ser.loads(bytearray(raw)) == SESSION  # type: ignore[arg-type]
    assert ser.loads(memoryview(raw)) == SESSION  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["\x80", None, 42])
def test_loads_refuses_what_is_not_bytes(ser: MsgpackSerializer, raw: Any) -> None:
    with pytest.raises(SerializationError, match="decodes bytes"):
        ser.loads(raw)


def test_a_failed_dumps_leaves_the_packer_clean(ser: MsgpackSerializer) -> None:
    with pytest.raises(SerializationError):
        ser.dumps({"n": 2**70})
    assert ser.dumps({"a": 1}) == b"\x81\xa1a\x01"


def test_a_large_session_does_not_pin_memory_after_dumps(ser: MsgpackSerializer) -> None:
    ser.dumps({"warm": "up"})
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        out = ser.dumps({"blob": "x" * 600_000})
        del out
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024


def test_threads_share_one_serializer_safely(ser: MsgpackSerializer) -> None:
    results: list[bool] = []

    def work(n: int) -> None:
        ok = True
        for i in range(300):
            data = {"thread": n, "i": i, "blob": bytes([n]) * (i % 50)}
            ok = ok and ser.loads(ser.dumps(data)) == data
        results.append(ok)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 8
