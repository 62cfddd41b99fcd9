"""The signed envelope: round trips, tampering, rotation, max_age, compression, inner errors."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from sessionware_signed import SignedSerializer

from sessionware import SerializationError, SuspiciousSession, signing
from sessionware.testing import ReferenceSerializer, assert_identical

# The same values as in conftest.py (test modules cannot import it under --import-mode=importlib).
SECRET = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
OLD_SECRET = "retired-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
OTHER_SECRET = "someone-else-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
SESSION = {"user_id": 42, "username": "alice", "cart": {"items": [1, 2, 3]}}

Make = Callable[..., SignedSerializer]


def signer(secret: str = SECRET, salt: str = "sessionware.signed", **kwargs: Any) -> signing.Signer:
    return signing.Signer(secret, salt=salt, **kwargs)


def flip(token: bytes, part: int, offset: int = 0) -> bytes:
    """``token`` with one character changed in its ``part``-th dot-separated part."""
    parts = token.split(b".")
    chars = bytearray(parts[part])
    chars[offset] = ord("A") if chars[offset] != ord("A") else ord("B")
    parts[part] = bytes(chars)
    return b".".join(parts)


def test_round_trip(ser: SignedSerializer) -> None:
    assert_identical(SESSION, ser.loads(ser.dumps(SESSION)))


def test_envelope_is_a_core_signer_token_over_the_inner_bytes(ser: SignedSerializer) -> None:
    token = ser.dumps(SESSION)
    assert token.isascii()
    assert signer().unsign(token) == ReferenceSerializer().dumps(SESSION)


def test_entry_signed_by_the_core_signer_is_read(ser: SignedSerializer) -> None:
    token = signer().sign(json.dumps(SESSION).encode())
    assert ser.loads(token) == SESSION


def test_the_data_is_signed_not_encrypted(ser: SignedSerializer) -> None:
    payload = ser.dumps({"secret": "visible"}).split(b".")[0]
    assert b"visible" in signing.b64decode(payload)


@pytest.mark.parametrize(("part", "offset"), [(0, 0), (0, 5), (1, 0), (1, 7), (2, 0), (2, 20)])
def test_a_changed_character_anywhere_is_refused(
    ser: SignedSerializer, part: int, offset: int
) -> None:
    token = ser.dumps(SESSION)
    with pytest.raises(signing.BadSignature):
        ser.loads(flip(token, part, offset))


def test_a_flipped_compression_flag_is_refused(make: Make) -> None:
    ser = make(compress=True)
    token = ser.dumps({"text": "abc" * 100})
    assert token.startswith(b".")
    with pytest.raises(signing.BadSignature):
        ser.loads(token[1:])
    with pytest.raises(signing.BadSignature):
        ser.loads(b"." + ser.dumps({"a": 1}))


def test_every_truncation_is_refused(ser: SignedSerializer) -> None:
    token = ser.dumps(SESSION)
    for cut in range(len(token)):
        with pytest.raises(SuspiciousSession):
            ser.loads(token[:cut])


def test_appended_bytes_are_refused(ser: SignedSerializer) -> None:
    token = ser.dumps(SESSION)
    for extra in (b"A", b".", b".AAAA", b"\x00"):
        with pytest.raises(SuspiciousSession):
            ser.loads(token + extra)


def test_another_salt_is_refused(make: Make) -> None:
    token = make(salt="app-one").dumps(SESSION)
    with pytest.raises(signing.BadSignature, match="app-two"):
        make(salt="app-two").loads(token)


def test_default_salt_is_not_the_signing_module_default(ser: SignedSerializer) -> None:
    token = signer(salt="sessionware.signing").sign(b'{"a":1}')
    with pytest.raises(signing.BadSignature):
        ser.loads(token)


def test_another_secret_is_refused(make: Make) -> None:
    token = make(secret_key=OTHER_SECRET).dumps(SESSION)
    with pytest.raises(signing.BadSignature):
        make().loads(token)


def test_retired_key_is_accepted_through_fallback_keys(make: Make) -> None:
    old = make(secret_key=OLD_SECRET).dumps(SESSION)
    rotated = make(secret_key=SECRET, fallback_keys=[OLD_SECRET])
    assert rotated.loads(old) == SESSION
    # New entries are signed with the current key only.
    assert make(secret_key=SECRET).loads(rotated.dumps(SESSION)) == SESSION


def test_retired_key_is_refused_once_removed(make: Make) -> None:
    old = make(secret_key=OLD_SECRET).dumps(SESSION)
    with pytest.raises(signing.BadSignature):
        make(secret_key=SECRET).loads(old)


def test_bytes_keys_work_like_str_keys(make: Make) -> None:
    token = make(secret_key=SECRET.encode()).dumps(SESSION)
    assert make(secret_key=SECRET).loads(token) == SESSION


def test_entry_older_than_max_age_is_refused(make: Make) -> None:
    hour_ago = signer(clock=lambda: time.time() - 3600).sign(b'{"a":1}')
    with pytest.raises(signing.SignatureExpired, match="max_age"):
        make(max_age=60).loads(hour_ago)
    assert make(max_age=7200).loads(hour_ago) == {"a": 1}
    assert make().loads(hour_ago) == {"a": 1}  # max_age=None: no limit


def test_fresh_entry_passes_max_age(make: Make) -> None:
    ser = make(max_age=1)
    assert ser.loads(ser.dumps(SESSION)) == SESSION


@pytest.mark.parametrize(
    "raw",
    [
        b'{"user_id": 1, "is_admin": true}',  # raw json written by another party
        b"\x81\xa4user\x01",  # raw msgpack
        b"",
        b".",
        b"..",
        b"a.b.c",
        b"not-base64!.1.AAAA",
        "é".encode(),
        b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.",  # a pickle
    ],
)
def test_bytes_that_are_not_our_envelope_are_suspicious(ser: SignedSerializer, raw: bytes) -> None:
    with pytest.raises(SuspiciousSession):
        ser.loads(raw)


def test_loads_accepts_bytes_like_objects(ser: SignedSerializer) -> None:
    token = ser.dumps(SESSION)
    assert ser.loads(bytearray(token)) == SESSION  # type: ignore[arg-type]
    assert ser.loads(memoryview(token)) == SESSION  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["a.b.c", None, 42])
def test_loads_refuses_what_is_not_bytes(ser: SignedSerializer, raw: Any) -> None:
    with pytest.raises(SerializationError, match="decodes bytes"):
        ser.loads(raw)


def test_compress_shrinks_repetitive_sessions(make: Make) -> None:
    data = {"rows": [{"name": "same", "value": 1}] * 200}
    plain, packed = make().dumps(data), make(compress=True).dumps(data)
    assert len(packed) < len(plain) // 4
    assert make().loads(packed) == data  # the flag is in the token; any reader inflates it


def test_compress_skips_data_it_cannot_shrink(make: Make) -> None:
    ser = make(compress=True)
    assert not ser.dumps({"a": 1}).startswith(b".")


def test_compress_never_writes_what_the_core_would_refuse_to_inflate(make: Make) -> None:
    ser = make(compress=True)
    data = {"blob": "x" * (signing.MAX_DECOMPRESSED + 10)}
    token = ser.dumps(data)
    assert not token.startswith(b".")
    assert ser.loads(token) == data


def test_inner_refusal_on_dumps_propagates_as_serialization_error(ser: SignedSerializer) -> None:
    with pytest.raises(SerializationError, match="str"):
        ser.dumps({"outer": {1: "x"}})  # type: ignore[dict-item]


def test_signed_bytes_the_inner_cannot_decode_are_a_serialization_error(
    ser: SignedSerializer,
) -> None:
    token = signer().sign(b"\xff not json")
    with pytest.raises(SerializationError) as info:
        ser.loads(token)
    assert not isinstance(info.value, SuspiciousSession)


def test_misbehaving_inner_errors_become_serialization_errors(make: Make) -> None:
    ser = make(inner="exploding")
    with pytest.raises(SerializationError, match=r"'exploding'.*TypeError: cannot encode"):
        ser.dumps(SESSION)
    with pytest.raises(SerializationError, match=r"'exploding'.*KeyError"):
        ser.loads(signer().sign(b"{}"))
    with pytest.raises(SerializationError, match="returned str, not bytes"):
        make(inner="exploding", inner_options={"returns_str": True}).dumps(SESSION)


def test_inner_options_reach_the_inner_serializer(make: Make) -> None:
    ser = make(inner="tagged", inner_options={"tag": "v2"})
    token = ser.dumps(SESSION)
    assert signer().unsign(token).startswith(b"v2:")
    assert ser.loads(token) == SESSION
    with pytest.raises(SerializationError, match="expected tag"):
        make(inner="tagged").loads(token)


@pytest.mark.usefixtures("json_plugin")
def test_default_inner_is_the_json_plugin(make: Make) -> None:
    ser = make(inner="json")
    default = SignedSerializer(secret_key=SECRET)
    assert default.inner_name == "json"
    assert default.loads(ser.dumps(SESSION)) == SESSION
    assert signer().unsign(default.dumps({"a": [1]})) == b'{"a":[1]}'
