"""Forged, altered, truncated and hostile cookie values give a safe empty session.

Every test runs for signed (``s1``) and encrypted (``e1``) cookies. A value
the engine refuses loads as ``None``; through a session it is an empty,
keyless session — never an exception.
"""

from __future__ import annotations

import base64
import itertools
import logging
import os
import struct
import zlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sessionware_signed_cookies import DEFAULT_SALT, MAX_VALUE_LENGTH, SignedCookiesEngine

import sessionware
from sessionware.signing import Signer, b64decode, b64encode, derive_key
from sessionware.testing import HOSTILE_KEYS, ReferenceSerializer

from ._keys import SECRET

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
DATA = b'{"user_id":4211,"username":"ada","flags":{"admin":false}}'


def later(engine: SignedCookiesEngine, seconds: float = 3600) -> float:
    return engine.now() + seconds


def issue(engine: SignedCookiesEngine, data: bytes = DATA) -> str:
    return engine.save(sessionware.new_session_key(), data, later(engine), must_create=True)


def assert_safe_empty(
    engine: SignedCookiesEngine, Store: type[sessionware.SessionStore], value: str
) -> None:
    """``load`` gives ``None`` and a session opened on ``value`` is empty and keyless."""
    assert engine.load(value) is None, f"accepted {value[:60]!r}"
    session = Store(value)
    assert session.load() == {}
    assert session.session_key is None


def replaced(value: str, index: int, char: str) -> str:
    return value[:index] + char + value[index + 1 :]


def b64_flip(text: str) -> str:
    """Decode, flip the first byte's bits, encode again: a canonical but different value."""
    raw = bytearray(b64decode(text.encode()))
    raw[0] ^= 0xFF
    return b64encode(bytes(raw)).decode()


# -- single-character changes, part by part ------------------------------------------


def test_every_single_character_change_is_refused(engine: SignedCookiesEngine) -> None:
    """Changing any one character of a value, to any of several others, makes it unreadable.

    Includes the two unused bits of the last base64 character, which a lax
    decoder would ignore: a value is accepted only exactly as it was issued.
    """
    value = issue(engine)
    accepted = []
    for index, char in enumerate(value):
        if char == ".":
            candidates = ["A", "-"]
        else:
            at = B64.index(char)
            candidates = [B64[(at + 1) % 64], B64[(at + 32) % 64], "."]
        for other in candidates:
            if engine.load(replaced(value, index, other)) is not None:
                accepted.append((index, char, other))
    assert not accepted, f"altered values accepted: {accepted[:5]}"
    assert engine.load(value) == DATA


def test_inserted_or_removed_characters_are_refused(engine: SignedCookiesEngine) -> None:
    """Base64 decoders skip stray characters; a dot slipped into a value must still fail."""
    value = issue(engine)
    for index in range(1, len(value)):
        for extra in (".", "A"):
            assert engine.load(value[:index] + extra + value[index:]) is None, (index, extra)
        assert engine.load(value[:index] + value[index + 1 :]) is None, index


def test_tampered_signed_parts_are_refused() -> None:
    """A byte flipped in the prefix, payload, timestamp or signature of an ``s1`` value."""
    engine = SignedCookiesEngine(secret_key=SECRET)
    Store = sessionware.session_store(
        engine_instance=engine, serializer_instance=ReferenceSerializer()
    )
    value = issue(engine)
    prefix, payload, timestamp, signature = value.split(".")
    assert (prefix, len(signature)) == ("s1", 43)
    tampered = {
        "prefix": f"s2.{payload}.{timestamp}.{signature}",
        "payload": f"s1.{b64_flip(payload)}.{timestamp}.{signature}",
        "timestamp": f"s1.{payload}.{int(timestamp, 16) + 1:x}.{signature}",
        "signature": f"s1.{payload}.{timestamp}.{b64_flip(signature)}",
        "compression flag": f"s1..{payload}.{timestamp}.{signature}",
    }
    for part, forged in tampered.items():
        assert engine.load(forged) is None, f"tampered {part} accepted"
        assert_safe_empty(engine, Store, forged)


def test_tampered_compressed_signed_value_is_refused() -> None:
    """Removing the compression flag of a compressed ``s1`` value breaks the signature."""
    engine = SignedCookiesEngine(secret_key=SECRET, compress=True)
    value = issue(engine)
    assert value.startswith("s1..")
    assert engine.load(value) == DATA
    assert engine.load("s1." + value[4:]) is None


def test_tampered_encrypted_parts_are_refused() -> None:
    """A byte flipped in the nonce, the ciphertext or the tag of an ``e1`` value."""
    engine = SignedCookiesEngine(secret_key=SECRET, encrypt=True)
    Store = sessionware.session_store(
        engine_instance=engine, serializer_instance=ReferenceSerializer()
    )
    value = issue(engine)
    prefix, body = value.split(".")
    raw = b64decode(body.encode())
    for part, index in {"nonce": 0, "ciphertext": 12, "tag": len(raw) - 1}.items():
        flipped = bytearray(raw)
        flipped[index] ^= 0x01
        forged = f"{prefix}.{b64encode(bytes(flipped)).decode()}"
        assert engine.load(forged) is None, f"tampered {part} accepted"
        assert_safe_empty(engine, Store, forged)
    assert engine.load(f"e2.{body}") is None


# -- truncation, re-ordering, splicing -------------------------------------------------


def test_every_truncation_is_refused(engine: SignedCookiesEngine) -> None:
    value = issue(engine)
    accepted = [n for n in range(len(value)) if engine.load(value[:n]) is not None]
    assert not accepted, f"prefixes of length {accepted[:5]} accepted"


def test_reordered_signed_parts_are_refused() -> None:
    signed = SignedCookiesEngine(secret_key=SECRET)
    parts = issue(signed).split(".")
    for order in itertools.permutations(range(4)):
        if order == (0, 1, 2, 3):
            continue
        assert signed.load(".".join(parts[i] for i in order)) is None, order


def test_reordered_encrypted_parts_are_refused() -> None:
    engine = SignedCookiesEngine(secret_key=SECRET, encrypt=True)
    raw = b64decode(issue(engine).split(".")[1].encode())
    nonce, ciphertext, tag = raw[:12], raw[12:-16], raw[-16:]
    for order in itertools.permutations((nonce, ciphertext, tag)):
        if order == (nonce, ciphertext, tag):
            continue
        assert engine.load("e1." + b64encode(b"".join(order)).decode()) is None
    assert engine.load(f"{b64encode(raw).decode()}.e1") is None


def test_parts_of_two_values_cannot_be_spliced(engine: SignedCookiesEngine) -> None:
    """The payload of one cookie with the signature (or nonce) of another is refused."""
    one, two = issue(engine, b'{"user":"alice"}'), issue(engine, b'{"user":"mallory"}')
    if engine.encrypt:
        raw1, raw2 = (b64decode(v.split(".")[1].encode()) for v in (one, two))
        spliced = "e1." + b64encode(raw1[:12] + raw2[12:]).decode()
    else:
        p1, p2 = one.split("."), two.split(".")
        spliced = ".".join([p2[0], p2[1], p2[2], p1[3]])
    assert engine.load(spliced) is None


# -- other keys, purposes and formats -------------------------------------------------


def test_cookie_from_a_different_secret_is_refused(
    make_engine: Callable[..., SignedCookiesEngine],
) -> None:
    other = make_engine(secret_key="someone-else-" + SECRET)
    assert make_engine().load(issue(other)) is None


def test_cookie_from_a_different_salt_is_refused(
    make_engine: Callable[..., SignedCookiesEngine],
    make_store: Callable[..., type[sessionware.SessionStore]],
) -> None:
    """Same secret, other purpose: a token made for ``billing`` never opens as a session."""
    billing = make_engine(salt="billing")
    value = issue(billing)
    assert billing.load(value) == DATA
    Store = make_store()
    assert_safe_empty(Store.engine, Store, value)  # type: ignore[arg-type]


def test_signer_token_for_the_raw_salt_is_refused(engine: SignedCookiesEngine) -> None:
    """A plain ``Signer`` token under the engine's salt (not the derived per-format one)."""
    token = Signer(SECRET, salt=DEFAULT_SALT).sign(struct.pack(">d", later(engine)) + DATA)
    for prefix in ("s1", "e1"):
        assert engine.load(f"{prefix}.{token.decode()}") is None


def test_encrypted_cookie_is_refused_by_a_plain_engine_and_vice_versa(
    make_store: Callable[..., type[sessionware.SessionStore]],
) -> None:
    PlainStore, SealedStore = make_store(encrypt=False), make_store(encrypt=True)
    plain_value = issue(PlainStore.engine)  # type: ignore[arg-type]
    sealed_value = issue(SealedStore.engine)  # type: ignore[arg-type]
    assert_safe_empty(SealedStore.engine, SealedStore, plain_value)  # type: ignore[arg-type]
    assert_safe_empty(PlainStore.engine, PlainStore, sealed_value)  # type: ignore[arg-type]


# -- garbage and hostile values ---------------------------------------------------------

GARBAGE = [
    "",
    ".",
    "..",
    "s1",
    "s1.",
    "s1..",
    "s1...",
    "e1.",
    "e1.A",
    "e1.AAAA",
    "e1." + "A" * 40,
    "s1." + "A" * 43,
    "s1.e30.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "s1." + "A" * 3000,
    "e1." + "A" * 3000,
    "e1." + "A" * (MAX_VALUE_LENGTH - 3),
    "s1." + "A" * MAX_VALUE_LENGTH,
    "s1." + "A" * 1_000_000,
    "s1.\u00e9\u00e9.0.sig",
    "e1.\U0001f600",
    "s1.abc\x00def.0.sig",
    "s1.abc def.0.sig",
    's1."quoted".0.sig',
    "s1.abc;path=/.0.sig",
    "s1.abc/def+ghi=.0.sig",
    '{"user_id": 1}',
    "Zm9v",
    "a" * 31 + "\n",
    "x" * 10_000,
]


@pytest.mark.parametrize("value", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_values_give_a_safe_empty_session(
    engine: SignedCookiesEngine, Store: type[sessionware.SessionStore], value: str
) -> None:
    assert_safe_empty(Store.engine, Store, value)  # type: ignore[arg-type]
    assert engine.load(value) is None
    assert engine.exists(value) is False


def test_random_values_of_the_right_shape_are_refused(engine: SignedCookiesEngine) -> None:
    for size in (16, 44, 64, 200, 1000):
        body = base64.urlsafe_b64encode(os.urandom(size)).decode().rstrip("=")
        assert engine.load(f"e1.{body}") is None
        assert engine.load(f"s1.{body}.{int(engine.now()):x}.{body[:43]}") is None


def test_fresh_session_key_loads_as_none(engine: SignedCookiesEngine) -> None:
    """``save`` receives fresh keys on create; such a key is valid but carries no session."""
    key = sessionware.new_session_key()
    assert engine.is_valid_key(key)
    assert engine.load(key) is None


def test_key_shape_is_checked_before_any_cryptography(
    engine: SignedCookiesEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_run(body: str) -> None:
        raise AssertionError("cryptography ran on a value of the wrong shape")

    monkeypatch.setattr(engine._format, "open", must_not_run)
    prefix = "e1" if engine.encrypt else "s1"
    for value in (
        f"{prefix}." + "A" * MAX_VALUE_LENGTH,
        f"{prefix}.abc def",
        f"{prefix}.\u00e9",
        f"{prefix}.a/b",
        f"{prefix}.a=",
        "",
        *HOSTILE_KEYS,
    ):
        assert engine.is_valid_key(value) is False, value[:40]
        assert engine.load(value) is None


def test_valid_key_shapes(engine: SignedCookiesEngine) -> None:
    value = issue(engine)
    assert engine.is_valid_key(value)
    assert engine.is_valid_key(sessionware.new_session_key())
    assert len(value) <= MAX_VALUE_LENGTH
    assert set(value) <= set(B64 + ".")


def test_save_refuses_an_invalid_key(engine: SignedCookiesEngine) -> None:
    with pytest.raises(sessionware.InvalidSessionKey):
        engine.save("../../etc/passwd", DATA, later(engine))


def test_rejections_are_logged_to_the_security_log(
    engine: SignedCookiesEngine, caplog: pytest.LogCaptureFixture
) -> None:
    value = issue(engine)
    with caplog.at_level(logging.WARNING, logger="sessionware.security"):
        assert engine.load(replaced(value, 10, "A" if value[10] != "A" else "B")) is None
    assert [r.name for r in caplog.records] == ["sessionware.security"]
    assert "rejected" in caplog.records[0].getMessage()


# -- authenticated but malformed content, and compression bombs ---------------------------


def test_compression_bomb_gives_a_safe_empty_session(
    make_engine: Callable[..., SignedCookiesEngine],
    make_store: Callable[..., type[sessionware.SessionStore]],
) -> None:
    """A validly made value inflating past 1 MiB is refused, not inflated."""
    bomb = b"\0" * (2 << 20)
    value = make_engine(compress=True).save(sessionware.new_session_key(), bomb, 2e9)
    assert len(value) < MAX_VALUE_LENGTH  # it fits in a cookie: ~1000:1
    Store = make_store()
    assert_safe_empty(Store.engine, Store, value)  # type: ignore[arg-type]


def seal(plaintext: bytes, *, salt: str = DEFAULT_SALT, aad: bytes = b"e1") -> str:
    """An ``e1`` value made with the documented key derivation, around any plaintext."""
    nonce = os.urandom(12)
    sealed = AESGCM(derive_key(SECRET, f"{salt}:sealed:e1")).encrypt(nonce, plaintext, aad)
    return "e1." + b64encode(nonce + sealed).decode()


def test_encrypted_value_with_the_documented_layout_opens() -> None:
    engine = SignedCookiesEngine(secret_key=SECRET, encrypt=True)
    assert engine.load(seal(struct.pack(">Bd", 0, later(engine)) + DATA)) == DATA
    packed = struct.pack(">Bd", 1, later(engine)) + zlib.compress(DATA)
    assert engine.load(seal(packed)) == DATA


@pytest.mark.parametrize(
    "plaintext",
    [
        b"",
        b"\x00",
        struct.pack(">Bd", 0, 2e9)[:-1],
        struct.pack(">Bd", 2, 2e9) + DATA,
        struct.pack(">Bd", 0x81, 2e9) + DATA,
        struct.pack(">Bd", 1, 2e9) + b"not zlib",
        struct.pack(">Bd", 1, 2e9) + zlib.compress(DATA)[:-6],
        struct.pack(">Bd", 0, float("nan")) + DATA,
    ],
    ids=[
        "empty",
        "short",
        "truncated-header",
        "flag-2",
        "flag-0x81",
        "bad-zlib",
        "cut-zlib",
        "nan",
    ],
)
def test_authenticated_but_malformed_encrypted_content_is_refused(plaintext: bytes) -> None:
    engine = SignedCookiesEngine(secret_key=SECRET, encrypt=True)
    assert engine.load(seal(plaintext)) is None


def test_encrypted_value_with_other_associated_data_is_refused() -> None:
    """The format prefix is bound as associated data: an ``e1`` body sealed for ``e2`` fails."""
    engine = SignedCookiesEngine(secret_key=SECRET, encrypt=True)
    plaintext = struct.pack(">Bd", 0, later(engine)) + DATA
    assert engine.load(seal(plaintext, aad=b"e2")) is None
    assert engine.load(seal(plaintext, aad=b"")) is None


def test_signed_payload_too_short_for_an_expiry_is_refused() -> None:
    engine = SignedCookiesEngine(secret_key=SECRET)
    signer = Signer(SECRET, salt=f"{DEFAULT_SALT}:signed:s1")
    assert engine.load("s1." + signer.sign(b"1234567").decode()) is None
    assert engine.load("s1." + signer.sign(struct.pack(">d", later(engine)) + DATA).decode()) == (
        DATA
    )
