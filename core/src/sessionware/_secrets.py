"""The one rule a signing secret must meet, applied wherever a secret enters.

``SessionConfig``, ``sessionware.signing.Signer``, the
signed_cookies engine, the signed serializer and ``sessionware check`` all
call ``check_secret``; none has a rule of its own. Nothing here signs:
this module imports nothing heavier than the errors, so validating a
configuration never loads the cryptography library.
"""

from __future__ import annotations

from ._errors import ConfigurationError

__all__ = ["HOW_TO_GENERATE", "MIN_DISTINCT", "MIN_LENGTH", "check_secret"]

#: The fewest characters (bytes, for a bytes secret) a secret may have.
#: Django's ``check --deploy`` asks the same of ``SECRET_KEY``.
MIN_LENGTH = 50
#: The fewest distinct characters: fifty copies of one letter are not a secret.
MIN_DISTINCT = 5
#: What ``django-admin startproject`` writes into a development settings file.
_PLACEHOLDER_PREFIX = "django-insecure-"
#: A command that prints a secret meeting the rule (67 random URL-safe characters).
HOW_TO_GENERATE = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'


def check_secret(
    secret: object, *, name: str = "secret_key", field: str | None = None
) -> str | bytes:
    """Return ``secret`` if it is strong enough to sign sessions with; raise otherwise.

    The rule: a ``str`` or ``bytes`` of at least ``MIN_LENGTH``
    characters, at least ``MIN_DISTINCT`` of them distinct, and not
    Django's ``django-insecure-`` development placeholder. ``name`` is how
    the message calls the secret (``"fallback_keys[1]"``); ``field`` is the
    ``ConfigurationError``'s ``field`` (default: ``name``).
    The message never contains the secret itself.
    """
    field = name if field is None else field
    if not isinstance(secret, (str, bytes)):
        raise ConfigurationError(
            f"{name} must be a str (or bytes), got {type(secret).__name__}; generate one "
            f"with: {HOW_TO_GENERATE}",
            field=field,
        )
    unit = "characters" if isinstance(secret, str) else "bytes"
    faults = []
    if len(secret) < MIN_LENGTH:
        faults.append(f"it is {len(secret)} {unit} long (at least {MIN_LENGTH} are needed)")
    distinct = len(set(secret))
    if distinct < MIN_DISTINCT:
        faults.append(f"it has {distinct} distinct {unit} (at least {MIN_DISTINCT} are needed)")
    prefix = _PLACEHOLDER_PREFIX if isinstance(secret, str) else _PLACEHOLDER_PREFIX.encode()
    if secret.startswith(prefix):  # type: ignore[arg-type]  # str with str, bytes with bytes
        faults.append(
            f"it starts with {_PLACEHOLDER_PREFIX!r}, the placeholder Django generates for "
            "development"
        )
    if faults:
        raise ConfigurationError(
            f"{name} is too weak to sign sessions: {' and '.join(faults)}. Anyone who guesses "
            f"it can forge sessions. Generate one with: {HOW_TO_GENERATE}",
            field=field,
        )
    return secret
