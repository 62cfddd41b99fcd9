"""Signing: HMAC-SHA256 through ``cryptography``, with salts, timestamps and key rotation.

A token is ASCII and cookie-safe::

    [.]<base64url payload>.<hex timestamp>.<base64url HMAC-SHA256>

A leading ``.`` marks a zlib-compressed payload; it sits inside the signed part,
so an attacker cannot flip it. Each salt derives its own HMAC key from the
secret, so a token signed for one purpose never verifies for another. Signing
uses the first key; verification tries it and then every fallback key, so keys
can be rotated without logging everyone out. Every key must pass
``check_secret``, the one rule for secrets (it lives in ``_secrets`` so that
validating a configuration does not import the cryptography library).

What does not live here: encryption (the signed_cookies engine adds AES-GCM).
"""

from __future__ import annotations

import binascii
import time
import zlib
from collections.abc import Callable, Sequence
from hmac import compare_digest
from typing import NamedTuple

from cryptography.hazmat.primitives import hashes, hmac

from ._errors import ConfigurationError, SuspiciousSession
from ._secrets import HOW_TO_GENERATE, MIN_DISTINCT, MIN_LENGTH, check_secret

__all__ = [
    "HOW_TO_GENERATE",
    "MIN_DISTINCT",
    "MIN_LENGTH",
    "BadSignature",
    "SignatureExpired",
    "Signer",
    "Unsigned",
    "b64decode",
    "b64encode",
    "check_secret",
    "derive_key",
]

_DERIVATION_PREFIX = b"sessionware.signing.key:"
#: Payloads shorter than this are never compressed automatically: zlib's set-up
#: costs more than signing, to save a few bytes.
_COMPRESS_MIN = 256
#: Refuse to inflate more than this (a zip bomb in a cookie is still a bomb).
MAX_DECOMPRESSED = 1 << 20


class BadSignature(SuspiciousSession):
    """The token was not signed by any of our keys for this salt, or is malformed."""


class SignatureExpired(BadSignature):
    """The signature is valid but older than ``max_age``; ``timestamp`` says when it was made."""

    def __init__(self, message: str, *, timestamp: float) -> None:
        super().__init__(message)
        self.timestamp = timestamp


class Unsigned(NamedTuple):
    """A verified token: its data, when it was signed, and which key verified it.

    A named tuple rather than a dataclass: it is made on every verified cookie.
    """

    data: bytes
    timestamp: float
    #: 0 for the current key; >0 for a fallback key (re-sign with the current one).
    key_index: int

    @property
    def needs_resign(self) -> bool:
        """True when a retired key verified it: sign it again with the current key."""
        return self.key_index > 0


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
#: Value of each base64url character, and the low bits a canonical encoding leaves
#: zero in its last character, by the encoded length modulo 4.
_B64_VALUE = {
    c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
_SPARE_BITS = {2: 0b1111, 3: 0b11}


def b64encode(data: bytes) -> bytes:
    """URL-safe base64 without padding."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def b64decode(data: bytes) -> bytes:
    """Inverse of ``b64encode``; raises ``BadSignature`` on bad input.

    Strict: only the one spelling ``b64encode`` produces is accepted. Plain
    base64 decoding skips stray characters and ignores the spare low bits of
    the last character, so one token could otherwise be written several ways.
    """
    tail = len(data) % 4
    if tail == 1 or b"+" in data or b"/" in data or b"=" in data:
        raise BadSignature("malformed base64 in signed token")
    try:
        padded = data.translate(_FROM_URLSAFE) + b"=" * (-tail % 4)
        decoded = binascii.a2b_base64(padded, strict_mode=True)  # refuses other characters
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadSignature(f"malformed base64 in signed token: {exc}") from exc
    if tail and _B64_VALUE[data[-1]] & _SPARE_BITS[tail]:
        raise BadSignature("non-canonical base64 in signed token")
    return decoded


def derive_key(secret_key: str | bytes, salt: str) -> bytes:
    """The 32-byte key for one purpose (``salt``) derived from a secret.

    Raises ``ConfigurationError`` for a secret that fails
    ``check_secret``.
    """
    secret = check_secret(secret_key)
    raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    h = hmac.HMAC(raw, hashes.SHA256())
    h.update(_DERIVATION_PREFIX + salt.encode("utf-8"))
    return h.finalize()


class Signer:
    """Signs and verifies byte strings for one purpose (``salt``).

    ``secret_key`` signs; ``fallback_keys`` are also accepted when verifying.
    Each must pass ``check_secret``, or ``ConfigurationError``
    names the one that does not. ``clock`` returns the current POSIX time
    (inject one in tests).
    """

    def __init__(
        self,
        secret_key: str | bytes,
        *,
        salt: str = "sessionware.signing",
        fallback_keys: Sequence[str | bytes] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not salt:
            raise ConfigurationError("salt must be a non-empty string", field="salt")
        check_secret(secret_key, name="secret_key")
        for index, key in enumerate(fallback_keys):
            check_secret(key, name=f"fallback_keys[{index}]", field="fallback_keys")
        self.salt = salt
        self.clock = clock
        self._macs = [
            hmac.HMAC(derive_key(k, salt), hashes.SHA256()) for k in (secret_key, *fallback_keys)
        ]

    def _mac(self, index: int, message: bytes) -> bytes:
        h = self._macs[index].copy()
        h.update(message)
        return h.finalize()

    def sign(self, data: bytes, *, compress: bool | None = None) -> bytes:
        """A token carrying ``data`` and the current time, signed with the current key.

        ``compress``: ``None`` compresses only when that makes the token shorter.
        """
        body = data
        flag = b""
        if compress or (compress is None and len(data) >= _COMPRESS_MIN):
            packed = zlib.compress(data, 6)
            if compress or len(packed) < len(data) - 1:
                body, flag = packed, b"."
        message = flag + b64encode(body) + b"." + format(int(self.clock()), "x").encode()
        return message + b"." + b64encode(self._mac(0, message))

    def unsign(self, token: bytes | str, *, max_age: float | None = None) -> bytes:
        """The data in ``token`` if a key of ours signed it (and, with ``max_age``, recently)."""
        return self.verify(token, max_age=max_age).data

    def verify(self, token: bytes | str, *, max_age: float | None = None) -> Unsigned:
        """Like ``unsign``, also telling when the token was signed and by which key."""
        if isinstance(token, str):
            try:
                token = token.encode("ascii")
            except UnicodeEncodeError:
                raise BadSignature("signed token contains non-ASCII characters") from None
        message, sep, sig_b64 = token.rpartition(b".")
        if not sep:
            raise BadSignature("no signature in token")
        # Compare the encoded MAC with the token's text: only the canonical
        # spelling can match, and the signature needs no decoding.
        for index, base in enumerate(self._macs):  # noqa: B007 - index is used after break
            h = base.copy()
            h.update(message)
            if compare_digest(b64encode(h.finalize()), sig_b64):
                break
        else:
            raise BadSignature(f"signature does not match for salt {self.salt!r}")
        payload, sep, ts_hex = message.rpartition(b".")
        try:
            timestamp = float(int(ts_hex, 16)) if sep else -1.0
        except (ValueError, OverflowError):  # not hex; or more hex digits than a float holds
            timestamp = -1.0
        if timestamp < 0:
            raise BadSignature("signed token has no valid timestamp")
        if max_age is not None:
            age = self.clock() - timestamp
            if age > max_age:
                raise SignatureExpired(
                    f"signature age {age:.0f}s exceeds max_age {max_age:.0f}s", timestamp=timestamp
                )
        compressed = payload.startswith(b".")
        data = b64decode(payload[1:] if compressed else payload)
        if compressed:
            inflater = zlib.decompressobj()
            try:
                data = inflater.decompress(data, MAX_DECOMPRESSED)
            except zlib.error as exc:
                raise BadSignature(f"signed payload does not decompress: {exc}") from exc
            # Inflation stopped at the bound: what is left is never inflated.
            if inflater.unconsumed_tail or not inflater.eof:
                raise BadSignature(
                    f"signed payload inflates past {MAX_DECOMPRESSED} bytes (or its "
                    "compressed stream does not end); refused without inflating the rest"
                )
            if inflater.unused_data:
                raise BadSignature("signed payload has bytes after its compressed stream")
        return Unsigned(data=data, timestamp=timestamp, key_index=index)
