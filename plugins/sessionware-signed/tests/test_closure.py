"""Bounded decoding and round-trip closure through the signed envelope.

The envelope adds no unbounded work of its own: a signed entry whose payload
would inflate past the core's bound is refused having inflated no more than
the bound. And what ``loads`` returns, ``dumps`` signs again and reads back,
whatever the inner serializer accepted.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sessionware_signed import SignedSerializer

import sessionware
from sessionware import SerializationError, SuspiciousSession, signing

# The same value as in conftest.py (test modules cannot import it under --import-mode=importlib).
SECRET = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"

Make = Callable[..., SignedSerializer]


def sign(payload: bytes, *, compress: bool | None = None) -> bytes:
    return signing.Signer(SECRET, salt="sessionware.signed").sign(payload, compress=compress)


def test_a_signed_zlib_bomb_is_refused_without_inflating_it(ser: SignedSerializer) -> None:
    # 64 MiB of zeros compress to ~64 KiB; only someone holding the key can
    # make one, and still it is refused at the core's 1 MiB bound.
    token = sign(b"\0" * (64 << 20), compress=True)
    tracemalloc.start()
    try:
        with pytest.raises(SuspiciousSession, match="inflates past 1048576 bytes"):
            ser.loads(token)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_an_entry_inflating_to_the_bound_exactly_is_accepted(make: Make) -> None:
    data = {"s": "x" * ((1 << 20) - 8)}  # '{"s":"' + ... + '"}' is 1 MiB
    raw = json.dumps(data, separators=(",", ":")).encode()
    assert len(raw) == signing.MAX_DECOMPRESSED
    assert make().loads(sign(raw, compress=True)) == data


# Any code point, lone surrogates (which JSON text can carry as escapes) made common.
chars = st.characters(exclude_categories=()) | st.sampled_from(["\ud800", "\udfff"])
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(chars, max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(chars, max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
documents = st.dictionaries(st.text(chars, max_size=6), values, max_size=5).map(
    lambda value: json.dumps(value).encode("utf-8", "surrogatepass")
)


def json_installed() -> bool:
    return any("json" in p.serializers for p in sessionware.list_plugins())


@pytest.mark.skipif(not json_installed(), reason="the json plugin (sessionware-json) is missing")
@settings(max_examples=200, deadline=None)
@given(documents, st.sampled_from([None, True, False]))
def test_whatever_loads_returns_dumps_signs_back(payload: bytes, compress: bool | None) -> None:
    ser = sessionware.get_serializer("signed", secret_key=SECRET, inner="json")
    try:
        data = ser.loads(sign(payload, compress=compress))
    except SerializationError:
        return
    out = ser.dumps(data)  # must not raise
    assert ser.loads(out) == data
