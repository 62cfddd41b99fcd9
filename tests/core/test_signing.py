"""sessionware.signing: HMAC-SHA256, salts, timestamps, rotation, compression."""

from __future__ import annotations

import pytest

from sessionware import ConfigurationError, SuspiciousSession
from sessionware.signing import BadSignature, SignatureExpired, Signer

SECRET = "signing-test-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
OTHER_SECRET = "another-test-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
OLD_SECRET = "retired-test-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_round_trip() -> None:
    s = Signer(SECRET)
    assert s.unsign(s.sign(b"hello")) == b"hello"


def test_token_is_cookie_safe_ascii() -> None:
    token = Signer(SECRET).sign(bytes(range(256)))
    assert token.decode("ascii")
    assert not set(token) & set(b' ;,"\\')


def test_tampered_payload_is_rejected() -> None:
    s = Signer(SECRET)
    token = bytearray(s.sign(b"user=1"))
    token[2] ^= 1
    with pytest.raises(BadSignature):
        s.unsign(bytes(token))


def test_bad_signature_is_suspicious_session() -> None:
    assert issubclass(BadSignature, SuspiciousSession)


@pytest.mark.parametrize("token", [b"", b"nodots", b"a.b", b"a.b.c", b"....", "\u00e9.x.y"])
def test_malformed_tokens_are_rejected(token: bytes | str) -> None:
    with pytest.raises(BadSignature):
        Signer(SECRET).unsign(token)


def test_salt_separates_purposes() -> None:
    token = Signer(SECRET, salt="cookies").sign(b"x")
    with pytest.raises(BadSignature):
        Signer(SECRET, salt="other").unsign(token)


def test_other_secret_is_rejected() -> None:
    with pytest.raises(BadSignature):
        Signer(OTHER_SECRET).unsign(Signer(SECRET).sign(b"x"))


def test_fallback_keys_verify_and_flag_resign() -> None:
    old = Signer(OLD_SECRET).sign(b"x")
    rotated = Signer(SECRET, fallback_keys=[OLD_SECRET])
    result = rotated.verify(old)
    assert result.data == b"x" and result.key_index == 1 and result.needs_resign
    fresh = rotated.verify(rotated.sign(b"x"))
    assert fresh.key_index == 0 and not fresh.needs_resign


def test_max_age() -> None:
    clock = Clock()
    s = Signer(SECRET, clock=clock)
    token = s.sign(b"x")
    clock.now += 100
    assert s.unsign(token, max_age=100) == b"x"
    clock.now += 1
    with pytest.raises(SignatureExpired) as info:
        s.unsign(token, max_age=100)
    assert info.value.timestamp == 1_700_000_000


def test_compression_when_it_pays() -> None:
    s = Signer(SECRET)
    data = b"a" * 1000
    token = s.sign(data)
    assert token.startswith(b".") and len(token) < 200
    assert s.unsign(token) == data
    assert not s.sign(b"short").startswith(b".")


def test_compression_flag_is_covered_by_signature() -> None:
    s = Signer(SECRET)
    token = s.sign(b"a" * 1000)
    with pytest.raises(BadSignature):
        s.unsign(token[1:])  # strip the flag


def test_decompression_bomb_is_refused() -> None:
    s = Signer(SECRET)
    token = s.sign(b"\0" * (4 << 20), compress=True)
    with pytest.raises(BadSignature, match="inflates past"):
        s.unsign(token)


def test_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="secret_key is too weak"):
        Signer("")


def test_only_the_canonical_spelling_of_a_token_verifies() -> None:
    import base64

    from sessionware.signing import BadSignature, Signer

    def lenient(text: bytes) -> bytes:
        return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))

    signer = Signer(SECRET, salt="canonical")
    token = signer.sign(b"payload")
    message, _, sig = token.rpartition(b".")
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 32 bytes take 43 characters, the last with 2 spare bits: other last characters spell
    # the same bytes. A lenient decoder accepts them, and skips stray characters too.
    respelled = [sig[:-1] + bytes([c]) for c in alphabet if c != sig[-1]]
    respelled = [v for v in respelled if lenient(v) == lenient(sig)]
    assert len(respelled) == 3
    for variant in [*respelled, sig[:10] + b"!" + sig[10:], sig + b"="]:
        with pytest.raises(BadSignature):
            signer.unsign(message + b"." + variant)
    assert signer.unsign(token) == b"payload"


@pytest.mark.parametrize(
    "text", [b"QQ+", b"QQ/", b"QQ==", b"QQ!", b"Q", b"QQ\n", b"QR", b"QUF", b"QUE=", b"\xffQQ"]
)
def test_b64decode_refuses_all_but_the_canonical_unpadded_spelling(text: bytes) -> None:
    from sessionware.signing import BadSignature, b64decode

    with pytest.raises(BadSignature):
        b64decode(text)


@pytest.mark.parametrize("data", [b"", b"A", b"AB", b"ABC", bytes(range(256))])
def test_b64_round_trip(data: bytes) -> None:
    from sessionware.signing import b64decode, b64encode

    assert b64decode(b64encode(data)) == data


def _token_with_body(signer: Signer, body: bytes) -> bytes:
    """A token for a compressed ``body`` as given (Signer.sign always compresses whole data)."""
    from sessionware.signing import b64encode

    message = b"." + b64encode(body) + b"." + format(1_700_000_000, "x").encode()
    return message + b"." + b64encode(signer._mac(0, message))


def test_a_compressed_payload_that_does_not_end_is_refused() -> None:
    import zlib

    s = Signer(SECRET)
    assert s.unsign(_token_with_body(s, zlib.compress(b"x" * 1000))) == b"x" * 1000
    with pytest.raises(BadSignature, match="does not end"):
        s.unsign(_token_with_body(s, zlib.compress(b"x" * 1000)[:-4]))


def test_bytes_after_the_compressed_stream_are_refused() -> None:
    import zlib

    s = Signer(SECRET)
    with pytest.raises(BadSignature, match="after its compressed stream"):
        s.unsign(_token_with_body(s, zlib.compress(b"x" * 1000) + b"tail"))
