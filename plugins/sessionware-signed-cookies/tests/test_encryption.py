"""What the browser can read: everything when signed, nothing when encrypted.

Also the key derivation per purpose, the fresh nonce per cookie, and the
compression policy (never automatic for encrypted cookies: length would leak).
"""

from __future__ import annotations

import os
import struct
import zlib

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sessionware_signed_cookies import DEFAULT_SALT, SignedCookiesEngine
from sessionware_signed_cookies._format import AUTO_COMPRESS_MIN

import sessionware
from sessionware.signing import b64decode, b64encode, derive_key
from sessionware.testing import ReferenceSerializer

from ._keys import SECRET

PII = {"email": "ada.lovelace@example.org", "ssn": "078-05-1120", "role": "internal-admin"}


def base64_forms(text: bytes) -> list[bytes]:
    """``text`` base64url-encoded at each of the three byte alignments (middle chunk only)."""
    forms = []
    for shift in range(3):
        encoded = b64encode(b"\0" * shift + text)
        forms.append(encoded[4 : len(encoded) - 4])
    return forms


def issue(encrypt: bool, **options: object) -> str:
    Store = sessionware.session_store(
        engine="signed_cookies",
        secret_key=SECRET,
        encrypt=encrypt,
        serializer_instance=ReferenceSerializer(),
        **options,
    )
    session = Store()
    session.update(PII)
    session.save()
    assert session.session_key is not None
    assert Store(session.session_key).load() == PII
    return session.session_key


def test_encrypted_cookie_does_not_reveal_the_data() -> None:
    value = issue(encrypt=True)
    raw = b64decode(value.split(".", 1)[1].encode())
    for secret in PII.values():
        assert secret not in value
        assert secret.encode() not in raw
        for form in base64_forms(secret.encode()):
            assert form.decode() not in value
    for field in PII:
        assert field.encode() not in raw


def test_encrypted_cookie_does_not_reveal_the_data_when_compressed() -> None:
    value = issue(encrypt=True, compress=True)
    raw = b64decode(value.split(".", 1)[1].encode())
    for secret in PII.values():
        assert secret.encode() not in raw
    with pytest.raises(zlib.error):  # the compressed stream is inside the ciphertext
        zlib.decompress(raw[12:-16])


def test_signed_cookie_is_readable_by_its_holder() -> None:
    """The documented trade-off: signing stops changes, not reading."""
    value = issue(encrypt=False, compress=False)
    payload = b64decode(value.split(".")[1].encode())
    assert payload[8:] == ReferenceSerializer().dumps(PII)


def test_each_encrypted_cookie_has_a_fresh_nonce() -> None:
    engine = SignedCookiesEngine(secret_key=SECRET, encrypt=True)
    key = sessionware.new_session_key()
    values = {engine.save(key, b"same", 2e9) for _ in range(50)}
    nonces = {b64decode(v.split(".")[1].encode())[:12] for v in values}
    assert len(values) == len(nonces) == 50


def test_encryption_key_is_derived_per_purpose_and_format() -> None:
    engine = SignedCookiesEngine(secret_key=SECRET, encrypt=True)
    raw = b64decode(engine.save(sessionware.new_session_key(), b"x", 2e9)[3:].encode())
    nonce, sealed = raw[:12], raw[12:]
    plain = AESGCM(derive_key(SECRET, f"{DEFAULT_SALT}:sealed:e1")).decrypt(nonce, sealed, b"e1")
    assert plain == struct.pack(">Bd", 0, 2e9) + b"x"
    for wrong_key in (
        derive_key(SECRET, f"{DEFAULT_SALT}:signed:s1"),  # the signing key of the same secret
        derive_key(SECRET, DEFAULT_SALT),
        derive_key(SECRET, "other:sealed:e1"),
    ):
        with pytest.raises(InvalidTag):
            AESGCM(wrong_key).decrypt(nonce, sealed, b"e1")
    with pytest.raises(InvalidTag):
        AESGCM(derive_key(SECRET, f"{DEFAULT_SALT}:sealed:e1")).decrypt(nonce, sealed, b"")


def test_encrypted_cookies_are_not_compressed_automatically() -> None:
    """``compress=None``: an encrypted cookie's length depends only on the data's length."""
    engine = SignedCookiesEngine(secret_key=SECRET, encrypt=True)
    key = sessionware.new_session_key()
    repetitive = engine.save(key, b"a" * 600, 2e9)
    random_ish = engine.save(key, os.urandom(300).hex().encode(), 2e9)
    assert len(repetitive) == len(random_ish)


def test_encrypted_cookies_compress_when_asked() -> None:
    plain = SignedCookiesEngine(secret_key=SECRET, encrypt=True)
    packed = SignedCookiesEngine(secret_key=SECRET, encrypt=True, compress=True)
    key = sessionware.new_session_key()
    value = packed.save(key, b"a" * 600, 2e9)
    assert len(value) < len(plain.save(key, b"a" * 600, 2e9)) // 4
    assert packed.load(value) == b"a" * 600
    assert plain.load(value) == b"a" * 600  # the flag travels inside the ciphertext


def test_signed_cookies_compress_only_when_that_is_shorter() -> None:
    engine = SignedCookiesEngine(secret_key=SECRET)
    key = sessionware.new_session_key()
    repetitive = engine.save(key, b"a" * 600, 2e9)
    assert repetitive.startswith("s1..")  # the compression flag
    assert len(repetitive) < 200
    incompressible = engine.save(key, os.urandom(300), 2e9)
    assert not incompressible.startswith("s1..")
    small = engine.save(key, b'{"a":1}', 2e9)
    assert not small.startswith("s1..")
    assert engine.load(repetitive) == b"a" * 600


def test_automatic_compression_skips_small_data() -> None:
    """Below 256 bytes zlib's set-up costs more than the bytes it saves."""
    engine = SignedCookiesEngine(secret_key=SECRET)
    key = sessionware.new_session_key()
    assert not engine.save(key, b"a" * (AUTO_COMPRESS_MIN - 1), 2e9).startswith("s1..")
    assert engine.save(key, b"a" * AUTO_COMPRESS_MIN, 2e9).startswith("s1..")
    always = SignedCookiesEngine(secret_key=SECRET, compress=True)
    assert always.save(key, b"a" * 10, 2e9).startswith("s1..")


def test_compress_false_never_compresses() -> None:
    engine = SignedCookiesEngine(secret_key=SECRET, compress=False)
    value = engine.save(sessionware.new_session_key(), b"a" * 600, 2e9)
    assert not value.startswith("s1..") and len(value) > 800
