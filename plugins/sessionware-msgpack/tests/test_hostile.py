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


def empty_containers(count: int, head: bytes = b"\x80") -> bytes:
    """A session ``{"a": [<count> empty maps (or arrays, with head=b"\\x90")]}``."""
    return b"\x81\xa1a\xdd" + count.to_bytes(4, "big") + head * count


@pytest.mark.parametrize("head", [b"\x80", b"\x90"], ids=["maps", "arrays"])
def test_input_made_of_empty_containers_is_refused_within_a_bound_of_its_size(
    ser: MsgpackSerializer, head: bytes
) -> None:
    # Each empty container is 1 byte of input and ~64 bytes of Python objects:
    # unbounded, 256 KiB of them cost 16+ MiB. Refused once past one per 8 bytes,
    # having built no more than that.
    raw = empty_containers(256 * 1024, head)
    with pytest.raises(SerializationError, match=r"more than 32769 maps and arrays in 262152"):
        ser.loads(raw)
    assert peak_while(lambda: ser.loads(raw)) < 16 * len(raw)  # ~70x unbounded


def test_containers_up_to_the_free_allowance_are_accepted_in_any_density(
    ser: MsgpackSerializer,
) -> None:
    # 4095 empty maps plus the session map and the list: 4097 > 4096.
    assert len(ser.loads(empty_containers(4094))["a"]) == 4094
    with pytest.raises(SerializationError, match="more than 4096 maps and arrays"):
        ser.loads(empty_containers(4095))


def test_containers_up_to_one_per_8_bytes_are_accepted_in_larger_sessions(
    ser: MsgpackSerializer,
) -> None:
    data = {"a": [{"k": "x" * 3} for _ in range(10_000)]}  # 7 bytes a map, and padding
    padded = {**data, "pad": "p" * 20_000}
    raw = ser.dumps(padded)
    assert len(raw) // 8 > 10_002
    assert ser.loads(raw) == padded
    with pytest.raises(SerializationError, match=r"more than \d+ maps and arrays.*read back"):
        ser.dumps(data)  # 70 KiB for 10,002 containers: loads would refuse it


def test_a_string_full_of_container_bytes_is_not_counted_as_containers(
    ser: MsgpackSerializer,
) -> None:
    data = {"b": b"\x80" * 100_000, "s": "\u0080" * 50_000}  # the cheap bound is far over
    assert ser.loads(ser.dumps(data)) == data
