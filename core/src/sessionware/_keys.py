"""Session key generation and validation.

A session key is 32 characters of lowercase base32 (160 bits from
``secrets``). Lowercase keeps keys distinct on case-insensitive file
systems; the alphabet keeps them safe in paths, SQL and Redis key names.
"""

from __future__ import annotations

import base64
import re
import secrets

__all__ = ["KEY_LENGTH", "is_valid_key", "new_session_key"]

KEY_LENGTH = 32
#: Accepted keys: what we generate, plus room for longer keys of the same alphabet.
_VALID_KEY = re.compile(r"[a-z0-9]{32,128}")


def new_session_key() -> str:
    """A fresh random session key with 160 bits of entropy."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").lower()


def is_valid_key(key: object) -> bool:
    """True when ``key`` has the shape of a session key (checked before any I/O)."""
    return type(key) is str and _VALID_KEY.fullmatch(key) is not None
