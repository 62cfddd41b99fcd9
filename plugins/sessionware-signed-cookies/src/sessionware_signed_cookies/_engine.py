"""SignedCookiesEngine: the session is the cookie.

What lives here: option validation, the choice of format, the cookie-value
shape check that runs before any cryptography, expiry against the clock, and
the engine protocol (``save`` returns the cookie value, ``load`` takes it).
The byte layouts and the cryptography are in ``_format``. Nothing is stored
on the server: ``delete`` and ``clear_expired`` have nothing to do, and the
cookie's size is checked by the core after ``save``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import ClassVar

from sessionware import Capabilities, EngineBase, OptionChecker, Reissue

from ._format import Rejected, SealedFormat, SignedFormat

__all__ = ["DEFAULT_SALT", "MAX_VALUE_LENGTH", "SignedCookiesEngine"]

security_log = logging.getLogger("sessionware.security")

#: The default purpose salt: keys derived for these cookies serve nothing else.
DEFAULT_SALT = "sessionware.signed_cookies"
#: No cookie value we issue is longer: the core refuses cookies over 4096 bytes.
MAX_VALUE_LENGTH = 4096
#: ``<format>.<body>``: base64url characters and dots only.
_VALUE = re.compile(r"[A-Za-z0-9_-]{1,8}\.[A-Za-z0-9_.-]+")


_options = OptionChecker("signed_cookies", "engine")


class SignedCookiesEngine(EngineBase):
    """Sessions kept in the cookie itself: signed, or encrypted, and with their expiry inside.

    Options (keyword arguments; ``get_engine("signed_cookies", ...)`` or the
    engine options of ``SessionConfig``):

    ``secret_key`` (the configured secret)
        Signs (and encrypts) new cookies. The core passes
        ``SessionConfig.secret_key``; without one it refuses to start.
    ``fallback_keys`` (the configured ones)
        Retired secrets still accepted; a cookie opened with one is reissued
        under ``secret_key`` on the same response.
    ``salt`` (``"sessionware.signed_cookies"``)
        The purpose the keys are derived for. Changing it invalidates every
        cookie, as changing the secret does.
    ``encrypt`` (``False``)
        Encrypt with AES-256-GCM, so the browser cannot read the data.
    ``compress`` (``None``)
        ``None``: compress signed cookies of 256 bytes of data or more when
        that makes them shorter, and never compress encrypted ones
        (compressing before encrypting lets the cookie's length reveal its
        content). ``True``: always; ``False``: never.

    Invalid options raise ``ConfigurationError`` naming
    the option in ``field``.
    """

    name: ClassVar[str] = "signed_cookies"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_side=False,
        clear_expired=False,
        local=True,
        inline_async=True,
        shared_across_processes=True,
    )
    uses_secret: ClassVar[bool] = True

    def __init__(
        self,
        *,
        secret_key: str | bytes | None = None,
        fallback_keys: Sequence[str | bytes] = (),
        salt: str = DEFAULT_SALT,
        encrypt: bool = False,
        compress: bool | None = None,
    ) -> None:
        keys = (_options.secret_key(secret_key), *_options.fallback_keys(fallback_keys))
        #: The purpose salt the keys are derived for.
        self.salt: str = _options.text("salt", salt)
        #: True when cookies are encrypted (``e1``), False when only signed (``s1``).
        self.encrypt: bool = _options.boolean("encrypt", encrypt)
        #: The compression policy as configured (``None``: automatic).
        self.compress: bool | None = _options.boolean("compress", compress, allow_none=True)
        self._format: SignedFormat | SealedFormat
        if self.encrypt:
            self._format = SealedFormat(keys, salt=self.salt, compress=self.compress is True)
        else:
            self._format = SignedFormat(
                keys, salt=self.salt, compress=self.compress, clock=self._clock
            )
        self._prefix = self._format.prefix

    def _clock(self) -> float:
        return self.now()

    # -- keys and cookie values -----------------------------------------------------

    def is_valid_key(self, key: str) -> bool:
        """True for a fresh session key (``save`` gets one on create) or a cookie-shaped value.

        Checked before any cryptography: at most 4096 characters of the
        base64url alphabet and dots, ``<format>.<body>``.
        """
        if key is self._last_valid_key:  # the same str object, checked a moment ago
            return True
        if type(key) is not str or not key or len(key) > MAX_VALUE_LENGTH:
            return False
        if _VALUE.fullmatch(key) is not None:
            self._last_valid_key = key
            return True
        return super().is_valid_key(key)

    def load(self, key: str) -> bytes | None:
        """The data in the cookie value ``key``; ``None`` if invalid, forged, altered or expired.

        A value opened with a fallback key comes back as ``Reissue``,
        so the session is saved again under the current key.
        """
        if not self.is_valid_key(key):
            return None
        prefix, dot, body = key.partition(".")
        if not dot:
            return None  # a fresh session key: nothing was ever issued under it
        if prefix != self._prefix:
            self._rejected(f"cookie format {prefix!r}, this engine reads {self._prefix!r}")
            return None
        try:
            opened = self._format.open(body)
        except Rejected as exc:
            self._rejected(str(exc))
            return None
        if not opened.expires_at > self.now():  # also refuses a NaN expiry
            return None
        return Reissue(opened.data) if opened.key_index else opened.data

    def _rejected(self, reason: str) -> None:
        security_log.warning(
            "session cookie rejected by the %r engine (salt %r): %s", self.name, self.salt, reason
        )

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """The cookie value carrying ``data`` until ``expires_at``, made with the current key.

        ``key`` is a fresh session key (create) or the current cookie value
        (update); it only has to be valid. Nothing is stored, so neither
        ``CreateError`` nor ``UpdateError`` can happen.
        """
        self.check_key(key)
        return self._format.dump(bytes(data), float(expires_at))

    def exists(self, key: str) -> bool:
        """True when ``key`` is a cookie value this engine accepts and it has not expired."""
        return self.load(key) is not None

    def delete(self, key: str) -> None:
        """Nothing to delete on the server; the middleware deletes the browser's cookie."""
        return None

    def clear_expired(self) -> int:
        """Always 0: expired cookies live in browsers and are refused when they come back."""
        return 0

    # No I/O anywhere: the async twins run inline instead of paying for a thread.

    async def aload(self, key: str) -> bytes | None:
        """Async twin of ``load`` (runs inline)."""
        return self.load(key)

    async def asave(
        self, key: str, data: bytes, expires_at: float, must_create: bool = False
    ) -> str:
        """Async twin of ``save`` (runs inline)."""
        return self.save(key, data, expires_at, must_create)

    async def aexists(self, key: str) -> bool:
        """Async twin of ``exists`` (runs inline)."""
        return self.exists(key)

    async def adelete(self, key: str) -> None:
        """Async twin of ``delete``."""
        return None

    async def aclear_expired(self) -> int:
        """Async twin of ``clear_expired``."""
        return 0

    def __repr__(self) -> str:
        mode = "encrypted" if self.encrypt else "signed"
        return f"<SignedCookiesEngine {mode} salt={self.salt!r}>"
