"""Fuzz properties of every first-party serializer: json, msgpack, signed and flask_tagged.

``loads`` returns a dict with str keys or raises
:class:`~sessionware.SerializationError` (the signed serializer also
:class:`~sessionware.SuspiciousSession` for what a key of ours did not
sign), whatever it is given. What ``dumps`` accepts, ``loads`` gives back
identically; what ``loads`` accepts, ``dumps`` can write again (the issue's
round-trip closure). An edited signed entry is refused.

Each example goes through every serializer it applies to, so the fuzz
session's 100,000 examples per property are 100,000 for each serializer.
"""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

import sessionware
from sessionware import SerializationError, Serializer, SuspiciousSession
from sessionware.flask import FlaskTaggedSerializer
from sessionware.testing import assert_identical

from ._settings import fuzz
from ._strategies import Edit, edits, hostile_text, session_data, strong_secret, tamper

SECRET = strong_secret()
SERIALIZERS: dict[str, Serializer] = {
    "json": sessionware.get_serializer("json"),
    "msgpack": sessionware.get_serializer("msgpack"),
    "signed-json": sessionware.get_serializer("signed", secret_key=SECRET, inner="json"),
    "signed-msgpack": sessionware.get_serializer("signed", secret_key=SECRET, inner="msgpack"),
    "signed-json-compressed": sessionware.get_serializer(
        "signed", secret_key=SECRET, inner="json", compress=True
    ),
    # The Flask integration's default: Flask's tagged JSON (tuples, bytes, datetimes, Markup).
    "flask_tagged": FlaskTaggedSerializer(),
}
JSON_FAMILY = ["json", "signed-json", "signed-json-compressed", "flask_tagged"]
MSGPACK_FAMILY = ["msgpack", "signed-msgpack"]
SIGNED = ["signed-json", "signed-msgpack", "signed-json-compressed"]
#: What ``loads`` may raise, by serializer; anything else escaping is a bug.
DOCUMENTED = {
    name: (SerializationError, SuspiciousSession) if name in SIGNED else (SerializationError,)
    for name in SERIALIZERS
}

#: Inputs that broke the json serializer's contract when this suite was written (issue 10).
LONE_SURROGATE = b'{"a":"\\ud800"}'  # loaded, and then dumps refused it
HUGE_INT = b'{"a":' + b"1" * 4301 + b"}"  # loads raised a bare ValueError


def loads_or_documented(name: str, raw: Any) -> dict[str, Any] | None:
    """``loads`` as ``name``: the dict, or ``None`` when it raised a documented error."""
    try:
        data = SERIALIZERS[name].loads(raw)
    except DOCUMENTED[name]:
        return None
    assert type(data) is dict, f"{name}.loads returned a {type(data).__name__}"
    assert all(type(k) is str for k in data), f"{name}.loads returned a non-str key"
    return data


def signed(name: str, raw: bytes) -> bytes:
    """``raw`` signed as serializer ``name`` signs: its inner serializer then really sees it."""
    return SERIALIZERS[name]._signer.sign(raw)  # type: ignore[attr-defined, no-any-return]


# -- anything at all ----------------------------------------------------------------------


@fuzz
@given(raw=st.binary(max_size=400))
def test_loads_of_any_bytes_raises_only_documented_errors(raw: bytes) -> None:
    for name in SERIALIZERS:
        loads_or_documented(name, raw)
        loads_or_documented(name, bytearray(raw))
        loads_or_documented(name, memoryview(raw))


@fuzz
@given(raw=st.none() | st.integers(-(10**6), 10**6) | st.text(max_size=20) | st.floats())
@example(raw=-1)
def test_loads_of_what_is_not_bytes_raises_serialization_error(raw: Any) -> None:
    for ser in SERIALIZERS.values():
        with pytest.raises(SerializationError):
            ser.loads(raw)


# -- near-valid input: real JSON and msgpack documents of anything -------------------------

_anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | hostile_text()
    | st.binary(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.integers(-3, 3) | hostile_text(6) | st.binary(max_size=4), inner, max_size=4
        )
        | st.tuples(inner, inner)
    ),
    max_leaves=12,
)
_json_fragments = st.sampled_from(
    ['"\\ud800"', '"\\udfff\\ud800"', "1e999", "-1e999", "NaN", "Infinity", "-0.0", '"\\u0000"',
     "1" * 4301, "[" * 2000 + "]" * 2000, '{"a":' * 2000 + "1" + "}" * 2000, "1.5E+308", "{}",
     '{"a":1,"a":2}', "[1,]", "01", '"\\x"', '{"_session_expiry":"x"}']
)  # fmt: skip


@st.composite
def json_documents(draw: st.DrawFn) -> bytes:
    """JSON text of any value, often with a hostile fragment spliced into an object."""
    value = draw(_anything)
    try:
        text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    except (ValueError, TypeError):  # bytes or NaN json cannot write: the fragment alone
        text = "{}"
    if draw(st.booleans()):
        text = f'{{"k":{draw(_json_fragments)},"v":{text}}}'
    return text.encode("utf-8", "surrogatepass")


_ext = st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=8))
_timestamp = st.builds(msgpack.Timestamp, st.integers(-(2**34), 2**34), st.integers(0, 999999999))


@st.composite
def msgpack_documents(draw: st.DrawFn) -> bytes:
    """msgpack of any value: non-str keys, ints past 64 bits, extension types, timestamps."""
    value = draw(_anything | _ext | _timestamp)
    if draw(st.booleans()):
        value = {"k": value, draw(hostile_text(4)): draw(_anything | _ext)}
    try:
        return msgpack.packb(value, use_bin_type=draw(st.booleans()))  # type: ignore[no-any-return]
    except (ValueError, TypeError, OverflowError):  # a lone surrogate, an int past 64 bits
        return msgpack.packb({"k": [1, 2**64 - 1, -(2**63), 1.5, b"\xff", None]})  # type: ignore[no-any-return]


_maybe_edits = st.none() | edits()


def _edit(raw: bytes, plan: list[Edit] | None) -> bytes:
    return raw if plan is None else tamper(raw, plan)


@fuzz
@given(raw=json_documents(), plan=_maybe_edits)
@example(raw=HUGE_INT, plan=None)
def test_loads_of_json_documents_raises_only_documented_errors(
    raw: bytes, plan: list[Edit] | None
) -> None:
    raw = _edit(raw, plan)
    for name in JSON_FAMILY:
        loads_or_documented(name, signed(name, raw) if name in SIGNED else raw)


@fuzz
@given(raw=msgpack_documents(), plan=_maybe_edits)
def test_loads_of_msgpack_documents_raises_only_documented_errors(
    raw: bytes, plan: list[Edit] | None
) -> None:
    raw = _edit(raw, plan)
    for name in MSGPACK_FAMILY:
        loads_or_documented(name, signed(name, raw) if name in SIGNED else raw)


def _closure(name: str, raw: bytes) -> None:
    loaded = loads_or_documented(name, raw)
    event(f"{name}: {'refused' if loaded is None else 'loaded'}")
    if loaded is None:
        return
    ser = SERIALIZERS[name]
    again = ser.dumps(loaded)  # nothing loaded may make the next save fail
    assert_identical(loaded, ser.loads(again))


@fuzz
@given(raw=json_documents())
@example(raw=LONE_SURROGATE)
def test_what_json_loads_it_dumps_again(raw: bytes) -> None:
    for name in JSON_FAMILY:
        _closure(name, signed(name, raw) if name in SIGNED else raw)


@fuzz
@given(raw=msgpack_documents())
def test_what_msgpack_loads_it_dumps_again(raw: bytes) -> None:
    for name in MSGPACK_FAMILY:
        _closure(name, signed(name, raw) if name in SIGNED else raw)


# -- what an application stores ------------------------------------------------------------


@fuzz(ci_share=0.5)
@given(session=session_data(binary=True))
def test_loads_dumps_round_trips_every_session_dumps_accepts(session: dict[str, Any]) -> None:
    for name, ser in SERIALIZERS.items():
        try:
            raw = ser.dumps(session)
        except SerializationError:
            event(f"{name}: dumps refused")
            continue  # refused with the documented error: NaN, a lone surrogate, bytes in JSON
        event(f"{name}: round trip")
        assert isinstance(raw, bytes)
        assert_identical(session, ser.loads(raw))


@fuzz(ci_share=0.5)
@given(session=session_data(binary=True, max_leaves=6), plan=edits())
def test_an_edited_signed_entry_is_refused(session: dict[str, Any], plan: list[Edit]) -> None:
    for name in SIGNED:
        ser = SERIALIZERS[name]
        try:
            raw = ser.dumps(session)
        except SerializationError:
            continue
        with pytest.raises(SuspiciousSession):
            ser.loads(tamper(raw, plan))
