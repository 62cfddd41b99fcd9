"""Validation of the signed serializer's options; each failure names its option.

Nothing here signs or serializes: these functions turn raw option values
into checked ones, through ``checks`` (the serializer's
``sessionware.OptionChecker``), or raise
``ConfigurationError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sessionware import OptionChecker

__all__ = ["check_inner", "check_inner_options", "checks"]

checks = OptionChecker("signed", "serializer")


def check_inner(inner: object, own_name: str) -> str:
    if not isinstance(inner, str) or not inner.isidentifier():
        raise checks.error(
            "inner", f"expected the name of an installed serializer, e.g. 'json', got {inner!r}"
        )
    if inner == own_name:
        raise checks.error(
            "inner",
            f"{inner!r} would wrap the signed serializer in itself; name the serializer "
            "that encodes the data, e.g. 'json' or 'msgpack'",
        )
    return inner


def check_inner_options(inner_options: object) -> dict[str, Any]:
    if inner_options is None:
        return {}
    if not isinstance(inner_options, Mapping) or not all(isinstance(k, str) for k in inner_options):
        raise checks.error(
            "inner_options",
            f"expected a mapping of option names to values, got {inner_options!r:.60}",
        )
    return dict(inner_options)
