"""Fuzz properties of ``sessionware.signing``: round trip, tampering, expiry, rotation.

Only :class:`~sessionware.signing.BadSignature` (a ``SuspiciousSession``) and
its subclass ``SignatureExpired`` may come out of verification; anything else
escaping is a bug. Every edit of a valid token is refused.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionware.signing import (
    MAX_DECOMPRESSED,
    BadSignature,
    SignatureExpired,
    Signer,
    b64decode,
    b64encode,
    derive_key,
)

from ._settings import fuzz
from ._strategies import B64_ALPHABET, Edit, edits, strong_secret, tamper

KEYS = [strong_secret() for _ in range(4)]
NOW = 1_700_000_000.0
salts = st.sampled_from(["sessionware.signing", "cookies", "a", "é:signed:s1"])
compress = st.sampled_from([None, True, False])
payloads = st.binary(max_size=600) | st.binary(max_size=40).map(lambda b: b * 20)


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def forge(message: bytes, key: str = KEYS[0], salt: str = "sessionware.signing") -> bytes:
    """``message`` with a valid MAC: what only a holder of ``key`` could make."""
    mac = hmac.new(derive_key(key, salt), message, hashlib.sha256).digest()
    return message + b"." + b64encode(mac)


def signer(*keys: str, salt: str = "sessionware.signing", now: float = NOW) -> Signer:
    return Signer(keys[0], fallback_keys=keys[1:], salt=salt, clock=Clock(now))


@fuzz
@given(data=payloads, compress=compress, salt=salts, now=st.integers(0, 2**40))
def test_verify_returns_what_was_signed(
    data: bytes, compress: bool | None, salt: str, now: int
) -> None:
    s = signer(KEYS[0], salt=salt, now=now)
    token = s.sign(data, compress=compress)
    assert token.isascii()
    unsigned = s.verify(token)
    assert unsigned.data == data
    assert unsigned.timestamp == now
    assert unsigned.key_index == 0
    assert s.unsign(token.decode("ascii")) == data
    compressed = token.count(b".") == 3  # ".<zlib b64>.<ts>.<mac>"; "<b64>.<ts>.<mac>" if not
    assert compressed == (compress is True or (compress is None and len(data) >= 256))


@fuzz
@given(data=payloads, compress=compress, plan=edits(), cookie_alphabet=st.booleans())
def test_any_edit_of_a_token_is_refused(
    data: bytes, compress: bool | None, plan: list[Edit], cookie_alphabet: bool
) -> None:
    s = signer(KEYS[0])
    token = s.sign(data, compress=compress)
    alphabet = B64_ALPHABET.encode() if cookie_alphabet else None
    forged = tamper(token, plan, alphabet)
    with pytest.raises(BadSignature):
        s.verify(forged)
    with pytest.raises(BadSignature):
        s.verify(forged.decode("latin-1"))


_token_pieces = st.lists(
    st.text(alphabet=B64_ALPHABET + "=+/ 0x\x00é", max_size=60), min_size=1, max_size=5
).map(".".join)


@fuzz
@given(token=st.binary(max_size=300) | st.text(max_size=300) | _token_pieces)
def test_arbitrary_input_raises_only_bad_signature(token: bytes | str) -> None:
    s = signer(KEYS[0], KEYS[1])
    try:
        s.verify(token, max_age=60)
    except BadSignature:
        return
    raise AssertionError(f"{token!r} verified without being signed")


_hex_or_junk = st.text(alphabet="0123456789abcdefABCDEF_x -+", max_size=300)


@fuzz
@given(
    payload=st.text(alphabet=B64_ALPHABET, max_size=80),
    timestamp=_hex_or_junk | st.integers(0, 2**64).map(lambda n: format(n, "x")),
    compressed=st.booleans(),
    max_age=st.none() | st.floats(0, 1e12),
)
def test_a_correctly_signed_malformed_token_raises_only_bad_signature(
    payload: str, timestamp: str, compressed: bool, max_age: float | None
) -> None:
    """Bytes a key of ours signed but ``sign`` never makes: parsed safely all the same.

    Defence in depth, for a leaked key or a future format change: after the
    MAC matches, the timestamp, compression flag and base64 are still parsed
    from attacker-shaped text.
    """
    s = signer(KEYS[0])
    message = (b"." if compressed else b"") + payload.encode() + b"." + timestamp.encode()
    with contextlib.suppress(BadSignature):
        s.verify(forge(message), max_age=max_age)


def test_a_correctly_signed_timestamp_too_large_for_a_float_is_refused() -> None:
    """More than 256 hex digits overflow ``float``: verify let OverflowError escape."""
    message = b64encode(b"hi") + b"." + b"f" * 300
    with pytest.raises(BadSignature):
        signer(KEYS[0]).verify(forge(message))


@fuzz(ci_share=0.5)
@given(
    size=st.integers(0, 4096)
    | st.sampled_from([MAX_DECOMPRESSED - 1, MAX_DECOMPRESSED, MAX_DECOMPRESSED + 1])
    | st.just(16 * MAX_DECOMPRESSED),
    level=st.sampled_from([1, 6, 9]),
    cut=st.none() | st.integers(1, 64),
)
def test_signed_compressed_payloads_inflate_within_the_bound(
    size: int, level: int, cut: int | None
) -> None:
    """A zip bomb or a zlib stream cut short, under a valid MAC: refused as BadSignature."""
    body = _compressed(size, level)
    if cut is not None:
        body = body[: max(0, len(body) - cut)]
    message = b"." + b64encode(body) + b"." + format(int(NOW), "x").encode()
    try:
        data = signer(KEYS[0]).unsign(forge(message))
    except BadSignature:
        assert size > MAX_DECOMPRESSED or cut, "a complete stream within the bound was refused"
        return
    assert cut is None, "a stream cut short was accepted"
    assert data == b"\x00" * size


@functools.cache
def _compressed(size: int, level: int) -> bytes:
    return zlib.compress(b"\x00" * size, level)


@fuzz
@given(
    signed_at=st.integers(0, 2**40),
    age=st.integers(-(10**6), 10**9),
    max_age=st.integers(0, 10**9) | st.floats(0, 1e9),
)
def test_max_age_refuses_exactly_the_tokens_older_than_it(
    signed_at: int, age: int, max_age: float
) -> None:
    clock = Clock(signed_at)
    s = Signer(KEYS[0], clock=clock)
    token = s.sign(b"payload")
    clock.now = signed_at + age
    if age > max_age:
        with pytest.raises(SignatureExpired) as caught:
            s.verify(token, max_age=max_age)
        assert caught.value.timestamp == signed_at
    else:
        assert s.verify(token, max_age=max_age).data == b"payload"


@fuzz
@given(
    signed_with=st.sampled_from(KEYS),
    verifier_keys=st.lists(st.sampled_from(KEYS), min_size=1, max_size=4),
    salt=salts,
    verify_salt=salts,
    data=st.binary(max_size=64),
)
def test_rotation_accepts_exactly_the_configured_keys_and_salt(
    signed_with: str, verifier_keys: list[str], salt: str, verify_salt: str, data: bytes
) -> None:
    token = signer(signed_with, salt=salt).sign(data)
    verifier = signer(*verifier_keys, salt=verify_salt)
    if signed_with in verifier_keys and salt == verify_salt:
        unsigned = verifier.verify(token)
        assert unsigned.data == data
        assert unsigned.key_index == verifier_keys.index(signed_with)
        assert unsigned.needs_resign == (unsigned.key_index > 0)
    else:
        with pytest.raises(BadSignature):
            verifier.verify(token)


@fuzz
@given(data=st.binary(max_size=600), compress=st.booleans())
def test_moving_the_compression_flag_is_refused(data: bytes, compress: bool) -> None:
    s = signer(KEYS[0])
    token = s.sign(data, compress=compress)
    flipped = token[1:] if compress else b"." + token
    with pytest.raises(BadSignature):
        s.verify(flipped)


@fuzz
@given(raw=st.binary(max_size=200))
def test_base64_round_trips_in_one_spelling(raw: bytes) -> None:
    text = b64encode(raw)
    assert set(text) <= set(B64_ALPHABET.encode())
    assert b64decode(text) == raw


@fuzz
@given(text=st.binary(max_size=120) | st.text(B64_ALPHABET + "=+/", max_size=120).map(str.encode))
def test_base64_decode_accepts_only_canonical_spellings(text: bytes) -> None:
    try:
        raw = b64decode(text)
    except BadSignature:
        return
    assert b64encode(raw) == text
