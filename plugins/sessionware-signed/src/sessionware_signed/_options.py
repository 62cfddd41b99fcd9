"""Validation of the signed serializer's options; each failure names its option.

Nothing here signs or serializes: these functions turn raw option values
into checked ones or raise :class:`~sessionware.ConfigurationError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sessionware import ConfigurationError
from sessionware.signing import HOW_TO_GENERATE, check_secret

__all__ = [
    "check_compress",
    "check_fallback_keys",
    "check_inner",
    "check_inner_options",
    "check_max_age",
    "check_salt",
    "check_secret_key",
    "option_error",
]


def option_error(option: str, message: str) -> ConfigurationError:
    """A ConfigurationError for one option of this serializer."""
    return ConfigurationError(
        f"signed serializer option {option!r}: {message}", field=f"serializer_options.{option}"
    )


def check_secret_key(secret_key: object) -> str | bytes:
    # field="secret_key", as the core uses: it is usually set there, not in serializer_options.
    if secret_key is None or secret_key in ("", b""):
        raise ConfigurationError(
            "the signed serializer needs secret_key: set it (SESSIONWARE_SECRET_KEY, or "
            f"secret_key= in the configuration) to a long random string, e.g. from "
            f"{HOW_TO_GENERATE}",
            field="secret_key",
        )
    if not isinstance(secret_key, (str, bytes)):
        raise ConfigurationError(
            f"secret_key must be a str or bytes, got {type(secret_key).__name__}",
            field="secret_key",
        )
    return check_secret(secret_key)


def check_fallback_keys(fallback_keys: object) -> tuple[str | bytes, ...]:
    if isinstance(fallback_keys, (str, bytes)) or not isinstance(fallback_keys, Sequence):
        raise ConfigurationError(
            "fallback_keys must be a list of retired secrets (str or bytes), got "
            f"{type(fallback_keys).__name__}; wrap a single key in a list",
            field="fallback_keys",
        )
    keys = tuple(fallback_keys)
    for index, key in enumerate(keys):
        if not isinstance(key, (str, bytes)) or not key:
            # Say what it is, never the value: this is a list of secrets.
            what = f"an empty {type(key).__name__}" if key in ("", b"") else type(key).__name__
            raise ConfigurationError(
                f"fallback_keys[{index}] must be a non-empty str or bytes, got {what}",
                field="fallback_keys",
            )
        check_secret(key, name=f"fallback_keys[{index}]", field="fallback_keys")
    return keys


def check_inner(inner: object, own_name: str) -> str:
    if not isinstance(inner, str) or not inner.isidentifier():
        raise option_error(
            "inner", f"expected the name of an installed serializer, e.g. 'json', got {inner!r}"
        )
    if inner == own_name:
        raise option_error(
            "inner",
            f"{inner!r} would wrap the signed serializer in itself; name the serializer "
            "that encodes the data, e.g. 'json' or 'msgpack'",
        )
    return inner


def check_inner_options(inner_options: object) -> dict[str, Any]:
    if inner_options is None:
        return {}
    if not isinstance(inner_options, Mapping) or not all(isinstance(k, str) for k in inner_options):
        raise option_error(
            "inner_options",
            f"expected a mapping of option names to values, got {inner_options!r:.60}",
        )
    return dict(inner_options)


def check_salt(salt: object) -> str:
    if not isinstance(salt, str) or not salt:
        raise option_error("salt", f"expected a non-empty str, got {salt!r}")
    return salt


def check_max_age(max_age: object) -> float | None:
    if max_age is None:
        return None
    if (
        isinstance(max_age, bool)
        or not isinstance(max_age, (int, float))
        or not math.isfinite(max_age)
        or max_age <= 0
    ):
        raise option_error(
            "max_age", f"expected a positive number of seconds or None, got {max_age!r}"
        )
    return float(max_age)


def check_compress(compress: object) -> bool:
    if not isinstance(compress, bool):
        raise option_error("compress", f"expected True or False, got {compress!r}")
    return compress
