"""SignedSerializer: another serializer's bytes inside a signed, timestamped envelope.

The envelope is a ``sessionware.signing.Signer`` token (HMAC-SHA256
over the base64url payload, the signing time, and a compression flag), so
everything cryptographic lives in the core. What lives here: the options,
looking the inner serializer up by name, and the order of operations — sign
after encoding, verify before decoding, so the inner serializer never sees
bytes that a key of ours did not sign.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sessionware
from sessionware import (
    ConfigurationError,
    SerializationError,
    Serializer,
    SerializerNotFound,
    SessionwareError,
    input_bytes,
    signing,
)

from ._options import check_inner, check_inner_options, checks

__all__ = ["SignedSerializer"]


def _lookup_inner(name: str, options: dict[str, Any]) -> Serializer:
    """The inner serializer by name, with errors that say they are about ``inner``."""
    try:
        inner: Serializer = sessionware.get_serializer(name, **options)
    except SerializerNotFound as exc:
        error = SerializerNotFound(
            f"signed serializer option 'inner': {exc}", name=exc.name, installed=exc.installed
        )
        error.field = "serializer_options.inner"
        raise error from None
    except sessionware.PluginLoadError:
        raise  # already names the broken distribution and the fix
    except ConfigurationError as exc:
        raise checks.error("inner_options", f"the {name!r} serializer refused them: {exc}") from exc
    return inner


class SignedSerializer:
    """Signs another serializer's output; ``loads`` refuses anything a key of ours did not sign.

    For server-side stores that other parties can write to (a shared Redis, a
    database another service fills): a forged, tampered, truncated or expired
    entry raises ``SuspiciousSession`` (a
    ``sessionware.signing.BadSignature``), which the session turns into
    an empty session logged to ``sessionware.security``. The data is signed,
    not encrypted: whoever can read the store can read the sessions.

    Options: ``secret_key`` (required; sessionware passes the configured
    one), ``fallback_keys`` (retired secrets still accepted), ``inner``
    (the serializer's name, default ``"json"``), ``inner_options``,
    ``salt`` (default ``"sessionware.signed"``), ``max_age`` (seconds since
    signing after which an entry is refused; default ``None``: no limit) and
    ``compress`` (zlib when it makes the entry shorter; default ``False``).
    """

    name: ClassVar[str] = "signed"
    #: sessionware passes the configured ``secret_key`` and ``fallback_keys``.
    uses_secret: ClassVar[bool] = True

    def __init__(
        self,
        *,
        secret_key: str | bytes | None = None,
        fallback_keys: Sequence[str | bytes] = (),
        inner: str = "json",
        inner_options: Mapping[str, Any] | None = None,
        salt: str = "sessionware.signed",
        max_age: float | None = None,
        compress: bool = False,
    ) -> None:
        secret = checks.secret_key(secret_key)
        fallbacks = checks.fallback_keys(fallback_keys)
        self.inner_name = check_inner(inner, self.name)
        self.salt = checks.text("salt", salt)
        self.max_age = checks.seconds("max_age", max_age, allow_none=True)
        self.compress = checks.boolean("compress", compress)
        self.inner = _lookup_inner(self.inner_name, check_inner_options(inner_options))
        if isinstance(self.inner, SignedSerializer):
            raise checks.error(
                "inner",
                f"{inner!r} is itself a signed serializer; name the serializer that encodes "
                "the data, e.g. 'json' or 'msgpack'",
            )
        self._signer = signing.Signer(secret, salt=self.salt, fallback_keys=fallbacks)

    def dumps(self, data: dict[str, Any]) -> bytes:
        """Encode ``data`` with the inner serializer and sign it with the current key."""
        try:
            raw = self.inner.dumps(data)
        except SessionwareError:
            raise
        except Exception as exc:  # a misbehaving inner serializer still fails as the protocol says
            raise SerializationError(
                f"the inner {self.inner_name!r} serializer failed to encode the session: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(raw, bytes):
            raise SerializationError(
                f"the inner {self.inner_name!r} serializer returned {type(raw).__name__}, not bytes"
            )
        # The core refuses to inflate past MAX_DECOMPRESSED; never write what it would refuse.
        compress = None if self.compress and len(raw) <= signing.MAX_DECOMPRESSED else False
        return self._signer.sign(raw, compress=compress)

    def loads(self, raw: bytes) -> dict[str, Any]:
        """Verify the envelope (signature, then ``max_age``), then decode with the inner serializer.

        Raises ``sessionware.signing.BadSignature`` (a
        ``SuspiciousSession``) for anything not signed by
        one of our keys for this salt, ``sessionware.signing.SignatureExpired``
        past ``max_age``, and the inner serializer's
        ``SerializationError`` for signed bytes it cannot decode.
        """
        payload = self._signer.unsign(input_bytes(raw, self.name), max_age=self.max_age)
        try:
            return self.inner.loads(payload)
        except SessionwareError:
            raise
        except Exception as exc:
            raise SerializationError(
                f"the inner {self.inner_name!r} serializer failed to decode a correctly signed "
                f"entry: {type(exc).__name__}: {exc}"
            ) from exc

    def __repr__(self) -> str:
        return f"<SignedSerializer 'signed' inner={self.inner_name!r} salt={self.salt!r}>"
