"""Hostile msgpack: bombs, lying headers, extension types, oversized and trailing input.

Each refusal is a SerializationError raised without allocating for what the
input merely claims (checked with tracemalloc, never with a clock).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import msgpack
import pytest
from sessionware_msgpack import MsgpackSerializer

from sessionware import SerializationError

#: Allocation allowed while refusing a few bytes of hostile input.
SMALL = 256 * 1024

HUGE = b"\xff\xff\xff\xff"  # 2**32 - 1 in a 32-bit length field
LYING_HEADERS = {
    "array32": b"\xdd" + HUGE + b"\x01\x02\x03",
    "map32": b"\xdf" + HUGE + b"\xa1a\x01",
    "str32": b"\x81\xa1s\xdb" + HUGE + b"abc",
    "bin32": b"\x81\xa1b\xc6" + HUGE + b"abc",
    "ext32": b"\x81\xa1e\xc9" + HUGE + b"\x05abc",
    "array16-in-map": b"\x81\xa1a\xdc\xff\xff\x01",
    "map16-in-map": b"\x81\xa1a\xde\xff\xff\xa1b\x01",
}


def peak_while(fn: Callable[[], object]) -> int:
    """Bytes allocated at the peak while ``fn`` runs (its exception, if any, is swallowed)."""
    tracemalloc.start()
    try:
        fn()
    except SerializationError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("raw", list(LYING_HEADERS.values()), ids=list(LYING_HEADERS))
def test_huge_declared_length_is_refused_without_allocating(
    ser: MsgpackSerializer, raw: bytes
) -> None:
    with pytest.raises(SerializationError, match="not valid msgpack"):
        ser.loads(raw)
    assert peak_while(lambda: ser.loads(raw)) < SMALL


@pytest.mark.parametrize("opener", [b"\x91", b"\x81\xa1a"], ids=["arrays", "maps"])
@pytest.mark.parametrize("depth", [300, 1025, 200_000])
def test_deeply_nested_input_is_refused(ser: MsgpackSerializer, opener: bytes, depth: int) -> None:
    raw = b"\x81\xa1a" + opener * depth + b"\xc0"
    with pytest.raises(SerializationError, match="nested"):
        ser.loads(raw)


def test_nesting_past_max_depth_is_refused_by_loads() -> None:
    ser = MsgpackSerializer(max_depth=3)
    assert ser.loads(b"\x81\xa1a\x91\x80") == {"a": [{}]}
    with pytest.raises(SerializationError, match="max_depth=3"):
        ser.loads(b"\x81\xa1a\x91\x91\x80")


def test_input_over_max_size_is_refused_before_unpacking() -> None:
    ser = MsgpackSerializer(max_size=100)
    ok = ser.dumps({"s": "x" * 90})
    assert len(ok) <= 100
    assert ser.loads(ok) == {"s": "x" * 90}
    raw = b"\x81\xa1s\xd9\x64" + b"x" * 100  # a valid 105-byte session
    with pytest.raises(SerializationError, match="105 bytes, more than max_size=100"):
        ser.loads(raw)


def test_default_max_size_is_one_mebibyte(ser: MsgpackSerializer) -> None:
    assert ser.max_size == 1 << 20
    raw = msgpack.packb({"s": "x" * (1 << 20)})
    with pytest.raises(SerializationError, match="max_size=1048576"):
        ser.loads(raw)


def test_dumps_refuses_output_that_loads_would_refuse() -> None:
    ser = MsgpackSerializer(max_size=100)
    with pytest.raises(SerializationError, match=r"more than max_size=100.*raise max_size"):
        ser.dumps({"s": "x" * 200})


@pytest.mark.parametrize(
    "ext",
    [
        msgpack.packb(msgpack.Timestamp(1, 0)),  # fixext4, type -1
        msgpack.packb(msgpack.Timestamp(2**34, 5)),  # ext8 with 12 bytes, type -1
        msgpack.packb(msgpack.ExtType(5, b"x")),  # fixext1
        msgpack.packb(msgpack.ExtType(42, b"x" * 300)),  # ext16
        b"\xc7\x00\x05",  # ext8 with an empty body, type 5
        b"\xc7\x00\xff",  # ext8 with an empty body, type -1
    ],
    ids=["timestamp32", "timestamp96", "fixext1", "ext16", "empty-ext", "empty-timestamp"],
)
def test_extension_types_are_refused(ser: MsgpackSerializer, ext: bytes) -> None:
    with pytest.raises(SerializationError, match="extension type"):
        ser.loads(b"\x82\xa1a\x01\xa1e" + ext)


@pytest.mark.parametrize("trailer", [b"\x00", b"\x80", b"garbage", b"\x81\xa1a\x01"])
def test_trailing_bytes_are_refused(ser: MsgpackSerializer, trailer: bytes) -> None:
    with pytest.raises(SerializationError, match="trailing bytes"):
        ser.loads(ser.dumps({"a": 1}) + trailer)


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x81", b"\x81\xa1", b"\x81\xa1a", b"\xc1", b"\x81\xa1a\xc1", b"\x81\xa5ab"],
    ids=["empty", "map-header", "key-header", "no-value", "reserved", "reserved-value", "short"],
)
def test_truncated_or_invalid_input_is_refused(ser: MsgpackSerializer, raw: bytes) -> None:
    with pytest.raises(SerializationError, match="msgpack"):
        ser.loads(raw)


def test_many_small_containers_within_max_size_are_accepted(ser: MsgpackSerializer) -> None:
    # The documented worst case: every byte an empty container. Bounded by max_size.
    raw = b"\x81\xa1a\xdd\x00\x00\xff\xff" + b"\x90" * 0xFFFF
    assert len(ser.loads(raw)["a"]) == 0xFFFF
