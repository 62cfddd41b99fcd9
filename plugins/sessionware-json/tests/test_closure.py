"""Round-trip closure and bounded decoding: what ``loads`` returns, ``dumps`` writes back.

A session that loads but cannot be saved turns the next write into an error
(an app storing user-supplied JSON text meets a lone surrogate without any
attacker). And the work ``loads`` does is bounded by the size of its input.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sessionware_json import JSONSerializer

from sessionware import SerializationError

ser = JSONSerializer()

# Text as it really arrives: any code point, lone surrogates included.
any_text = st.text(st.characters(exclude_categories=()), max_size=8)
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities too: loads must refuse them, not pass them on
    | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=24,
)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """JSON as other writers produce it: escaped or not, indented or not, or plain bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=64))
    value = draw(st.dictionaries(any_text, values, max_size=6) | values)
    text = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 0, 2])),
    )
    return text.encode("utf-8", "surrogatepass")


def assert_closed(raw: bytes) -> None:
    try:
        data = ser.loads(raw)
    except SerializationError:
        return
    out = ser.dumps(data)  # must not raise
    assert ser.loads(out) == data
    assert ser.dumps(ser.loads(out)) == out


@settings(max_examples=300, deadline=None)
@given(documents())
def test_whatever_loads_returns_dumps_writes_back(raw: bytes) -> None:
    assert_closed(raw)


@pytest.mark.parametrize(
    "raw",
    [b'{"s":"\\ud800"}', b'{"\\udfff":1}', b'{"s":["a\\udc80b","\\ud83d\\ude00"]}'],
    ids=["value", "key", "nested"],
)
def test_a_lone_surrogate_that_loads_is_saved_again(raw: bytes) -> None:
    data = ser.loads(raw)
    out = ser.dumps(data)
    assert ser.loads(out) == data
    assert out.isascii()  # escaped: UTF-8 cannot carry a lone surrogate


def test_text_without_lone_surrogates_stays_utf8() -> None:
    assert ser.dumps({"s": "é😀"}) == '{"s":"é😀"}'.encode()


def test_an_integer_past_the_digit_limit_is_a_serialization_error() -> None:
    with pytest.raises(SerializationError, match="4300 digits"):
        ser.loads(b'{"n":' + b"7" * 5000 + b"}")


def nested(depth: int) -> bytes:
    """A document ``depth`` containers deep, the session object included."""
    return b'{"a":' * (depth - 1) + b"[]" + b"}" * (depth - 1)


def test_nesting_up_to_256_round_trips() -> None:
    raw = nested(256)
    assert ser.dumps(ser.loads(raw)) == raw


def test_nesting_past_256_is_refused_by_loads_and_dumps() -> None:
    with pytest.raises(SerializationError, match="nested more than 256"):
        ser.loads(nested(257))
    data: dict[str, Any] = {}
    node = data
    for _ in range(256):
        node["a"] = node = {}
    with pytest.raises(SerializationError, match=r"nested more than 256.*could not be read back"):
        ser.dumps(data)


def test_brackets_inside_strings_are_not_structure() -> None:
    data = {"s": "[{" * 2000, "t": '\\"[' * 500, "u": ["]" * 300]}
    assert ser.loads(ser.dumps(data)) == data


def empty_containers(count: int, unit: bytes = b"{}") -> bytes:
    return b'{"a":[' + b",".join([unit] * count) + b"]}"


def peak_while_loading(raw: bytes) -> int:
    tracemalloc.start()
    try:
        ser.loads(raw)
    except SerializationError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("unit", [b"{}", b"[]", b'{"":0}'], ids=["objects", "arrays", "pairs"])
def test_input_made_of_containers_is_refused_before_decoding(unit: bytes) -> None:
    # Unbounded, each container costs 25-60 times its bytes as Python objects.
    raw = empty_containers(256 * 1024 // (len(unit) + 1), unit)
    with pytest.raises(SerializationError, match=r"objects and arrays in \d+ bytes of JSON"):
        ser.loads(raw)
    assert peak_while_loading(raw) < 2 * len(raw)  # 25-60x unbounded


def test_containers_up_to_the_free_allowance_are_accepted_in_any_density() -> None:
    assert len(ser.loads(empty_containers(4094))["a"]) == 4094
    with pytest.raises(SerializationError, match="more than 4096"):
        ser.loads(empty_containers(4095))


def test_a_sparse_document_loads_but_is_refused_if_dumps_would_refuse_it() -> None:
    # Indented, 5,002 containers fit the input's bound (one per 8 bytes); written
    # compactly they would not, so the session would load and never save.
    data = {"a": [[] for _ in range(5000)]}
    pretty = json.dumps(data, indent=4).encode()
    assert len(pretty) // 8 > 5002
    with pytest.raises(SerializationError, match="would not encode again"):
        ser.loads(pretty)
    with pytest.raises(SerializationError, match="could not be read back"):
        ser.dumps(data)


def test_many_containers_with_enough_data_round_trip() -> None:
    data = {"a": [{"name": f"item {i:05}"} for i in range(6000)]}
    assert ser.loads(ser.dumps(data)) == data
