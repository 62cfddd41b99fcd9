"""Round-trip closure: what ``loads`` returns, ``dumps`` writes back, with the exact types.

Input written by other msgpack writers may use encodings ``dumps`` never
produces (float32, wider headers than needed, bytes or int keys, NaN,
extension types): ``loads`` either refuses it or returns data that saves
again, so a stored entry never turns a later request's save into an error.
"""

from __future__ import annotations

import struct
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sessionware_msgpack import MsgpackSerializer

from sessionware import SerializationError
from sessionware.testing import assert_identical

keys = st.text(max_size=6) | st.binary(max_size=4) | st.integers(-3, 3)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()  # NaN and infinities too
    | st.text(max_size=8)
    | st.binary(max_size=8)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=24,
)


def widen(raw: bytes) -> bytes:
    """The same data with every fixmap/fixarray header written as map16/array16."""
    out = msgpack.Unpacker(raw=True, strict_map_key=False)
    out.feed(raw)
    return b"".join(_wide(item) for item in out)


def _wide(value: Any) -> bytes:
    if isinstance(value, dict):
        body = b"".join(_wide(k) + _wide(v) for k, v in value.items())
        return b"\xde" + struct.pack(">H", len(value)) + body
    if isinstance(value, list):
        return b"\xdc" + struct.pack(">H", len(value)) + b"".join(_wide(v) for v in value)
    return msgpack.packb(value, use_bin_type=True)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """msgpack as other writers produce it, or plain bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=64))
    value = draw(st.dictionaries(keys, values, max_size=6) | values)
    try:
        raw: bytes = msgpack.packb(value, use_bin_type=True, use_single_float=draw(st.booleans()))
    except OverflowError:  # a double too large for float32
        raw = msgpack.packb(value, use_bin_type=True)
    return widen(raw) if draw(st.booleans()) else raw


def assert_closed(ser: MsgpackSerializer, raw: bytes) -> None:
    try:
        data = ser.loads(raw)
    except SerializationError:
        return
    out = ser.dumps(data)  # must not raise
    assert_identical(data, ser.loads(out))


@settings(max_examples=300, deadline=None)
@given(documents(), st.sampled_from([MsgpackSerializer(), MsgpackSerializer(max_size=64)]))
def test_whatever_loads_returns_dumps_writes_back(raw: bytes, ser: MsgpackSerializer) -> None:
    assert_closed(ser, raw)


def test_float32_input_that_would_save_past_max_size_is_refused_at_load() -> None:
    ser = MsgpackSerializer(max_size=1000)
    floats = b"".join(b"\xca" + struct.pack(">f", 1.5) for _ in range(150))
    raw = b"\x81\xa1a\xdc\x00\x96" + floats  # 756 bytes; 1356 once written as float64
    with pytest.raises(SerializationError, match=r"would not encode again.*max_size=1000"):
        ser.loads(raw)
    assert MsgpackSerializer(max_size=1356).loads(raw) == {"a": [1.5] * 150}


def test_wide_headers_that_would_save_past_the_container_bound_are_refused_at_load() -> None:
    ser = MsgpackSerializer()
    raw = b"\x81\xa1a\xdd" + struct.pack(">I", 5000) + b"\xdc\x00\x00" * 5000
    assert len(raw) // 8 < 5002
    with pytest.raises(SerializationError, match="more than 4096 maps and arrays"):
        ser.loads(raw)
    # Each [0] as array32 holding a uint64: 14 bytes; dumps writes it in 2.
    one_zero = b"\xdd\x00\x00\x00\x01\xcf" + bytes(8)
    padded = b"\x81\xa1a\xdd" + struct.pack(">I", 5000) + one_zero * 5000
    assert len(padded) // 8 > 5002  # fits the input's bound, not that of what dumps writes
    with pytest.raises(SerializationError, match="would not encode again"):
        ser.loads(padded)


def test_lone_surrogates_never_load() -> None:
    # msgpack str is UTF-8; a surrogate's UTF-8-like encoding is refused, so
    # dumps never meets one that loads returned.
    with pytest.raises(SerializationError, match="UTF-8"):
        MsgpackSerializer().loads(b"\x81\xa1s\xa3\xed\xa0\x80")
