"""The two cookie value formats: signed (``s1``) and encrypted (``e1``).

Every value is ``<format>.<body>`` in cookie-safe ASCII (the base64url
alphabet and ``.``), so the format can evolve: a new layout gets a new
prefix and the old one can still be read and reissued. ::

    s1.[.]<b64 payload>.<hex timestamp>.<b64 HMAC-SHA256>
        sessionware.signing.Signer output; payload = expires_at (8-byte
        big-endian double) + the serializer's bytes; the leading "." marks
        zlib compression and is covered by the signature.

    e1.<b64 nonce(12) + AES-256-GCM ciphertext + tag(16)>
        plaintext = flags(1) + expires_at(8) + the serializer's bytes
        (zlib-compressed when flags & 1); associated data = b"e1".

Each format derives its own key from every secret, salted with the purpose
and the format (``<salt>:signed:s1``, ``<salt>:sealed:e1``), so a signing
key is never an encryption key and a token made for one salt or format never
opens under another. The core's base64 decoding accepts only the canonical
spelling, so changing any character of a value makes it unreadable. What does not live here:
option validation, expiry against the clock and the engine protocol
(``_engine``).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Sequence
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sessionware.signing import BadSignature, Signer, b64decode, b64encode, derive_key

__all__ = [
    "AUTO_COMPRESS_MIN",
    "MAX_INFLATED",
    "Opened",
    "Rejected",
    "SealedFormat",
    "SignedFormat",
]

#: Refuse to inflate a cookie past this many bytes (a zip bomb in a cookie is still a bomb).
MAX_INFLATED = 1 << 20
_NONCE = 12
_TAG = 16
_EXPIRY = struct.Struct(">d")
_SEALED_HEADER = struct.Struct(">Bd")
_COMPRESSED = 0x01
#: With ``compress=None``, data shorter than this is never compressed: zlib's
#: set-up alone costs more than signing, for a few bytes saved.
AUTO_COMPRESS_MIN = 256
_SIG_LENGTH = 43  # a 32-byte HMAC-SHA256, unpadded


class Rejected(Exception):
    """A value that did not open: forged, altered, truncated or made with other keys."""


class Opened(NamedTuple):
    """What an accepted value holds, and which key opened it (0: the current one)."""

    data: bytes
    expires_at: float
    key_index: int


class SignedFormat:
    """``s1``: the data readable by its holder, tamper-proof, signed by ``Signer``."""

    prefix = "s1"

    def __init__(
        self,
        keys: Sequence[str | bytes],
        *,
        salt: str,
        compress: bool | None,
        clock: Callable[[], float],
    ) -> None:
        self._signer = Signer(
            keys[0], salt=f"{salt}:signed:{self.prefix}", fallback_keys=keys[1:], clock=clock
        )
        self._compress = compress

    def dump(self, data: bytes, expires_at: float) -> str:
        """The cookie value carrying ``data`` until ``expires_at``, signed with the current key."""
        compress = self._compress
        if compress is None and len(data) < AUTO_COMPRESS_MIN:
            compress = False
        token = self._signer.sign(_EXPIRY.pack(expires_at) + data, compress=compress)
        return f"{self.prefix}.{token.decode('ascii')}"

    def open(self, body: str) -> Opened:
        """Verify ``body`` (the value after ``s1.``); raise ``Rejected`` if it fails."""
        if len(body) - body.rfind(".") - 1 != _SIG_LENGTH:
            raise Rejected("malformed signature")
        try:
            unsigned = self._signer.verify(body)
        except BadSignature as exc:
            raise Rejected(str(exc)) from None
        payload = unsigned.data
        if len(payload) < _EXPIRY.size:
            raise Rejected("signed payload too short")
        (expires_at,) = _EXPIRY.unpack_from(payload)
        return Opened(payload[_EXPIRY.size :], expires_at, unsigned.key_index)


class SealedFormat:
    """``e1``: the data encrypted and authenticated with AES-256-GCM; unreadable by its holder."""

    prefix = "e1"
    _aad = b"e1"

    def __init__(self, keys: Sequence[str | bytes], *, salt: str, compress: bool) -> None:
        # Built once: constructing AESGCM per call doubles the cost.
        self._aeads = [AESGCM(derive_key(k, f"{salt}:sealed:{self.prefix}")) for k in keys]
        self._compress = compress

    def dump(self, data: bytes, expires_at: float) -> str:
        """The value carrying ``data`` until ``expires_at``, encrypted under the current key."""
        flags = 0
        if self._compress:
            data = zlib.compress(data, 6)
            flags |= _COMPRESSED
        nonce = os.urandom(_NONCE)  # fresh per value: GCM must never reuse a nonce under a key
        sealed = self._aeads[0].encrypt(
            nonce, _SEALED_HEADER.pack(flags, expires_at) + data, self._aad
        )
        return f"{self.prefix}.{b64encode(nonce + sealed).decode('ascii')}"

    def open(self, body: str) -> Opened:
        """Decrypt ``body`` (the value after ``e1.``); raise ``Rejected`` if it fails."""
        if "." in body:
            raise Rejected("malformed base64")
        try:
            raw = b64decode(body.encode("ascii"))
        except (BadSignature, UnicodeEncodeError):
            raise Rejected("malformed base64") from None
        if len(raw) < _NONCE + _TAG + _SEALED_HEADER.size:
            raise Rejected("encrypted value too short")
        index, plain = self._decrypt(raw[:_NONCE], raw[_NONCE:])
        flags, expires_at = _SEALED_HEADER.unpack_from(plain)
        data = plain[_SEALED_HEADER.size :]
        if flags & ~_COMPRESSED:
            raise Rejected(f"unknown flags {flags:#04x}")
        if flags & _COMPRESSED:
            data = _inflate(data)
        return Opened(data, expires_at, index)

    def _decrypt(self, nonce: bytes, sealed: bytes) -> tuple[int, bytes]:
        """Try the current key, then each fallback: (which key opened it, the plaintext)."""
        for index, aead in enumerate(self._aeads):
            try:
                return index, aead.decrypt(nonce, sealed, self._aad)
            except InvalidTag:
                continue
        raise Rejected("authentication tag does not match any key")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_INFLATED)
    except zlib.error as exc:
        raise Rejected(f"does not decompress: {exc}") from None
    if inflater.unconsumed_tail:
        raise Rejected(f"inflates past {MAX_INFLATED} bytes")
    if not inflater.eof:
        raise Rejected("compressed data is truncated")
    return out
