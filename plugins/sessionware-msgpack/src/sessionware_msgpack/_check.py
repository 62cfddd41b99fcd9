"""What session data msgpack may carry, and the message naming the first value it may not.

The walks themselves are the core's: ``sessionware.is_plain_data`` on
the hot path of every ``dumps`` and ``loads`` (with ``PLAIN_SCALARS``),
and ``sessionware.find_unencodable`` on the error path, with
``accepts`` as its test. What is msgpack's own lives here: which values
it carries faithfully, and how a refusal is worded. Nothing here calls msgpack.
"""

from __future__ import annotations

import math
from datetime import datetime

from sessionware import Unencodable, find_unencodable, storage_advice

__all__ = ["INT_MAX", "INT_MIN", "PLAIN_SCALARS", "accepts", "find_problem"]

#: msgpack integers are 64-bit: int64 for negatives, uint64 for the rest.
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1

#: Exact types the fast walk passes without a second look (and finite floats).
#: int range and str encodability are left to the packer, which raises on
#: them, sending dumps to find_problem.
PLAIN_SCALARS: frozenset[type] = frozenset({str, int, bool, type(None), bytes})


def _bad_str(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def accepts(value: object) -> bool:
    """Whether msgpack carries ``value`` (a leaf, or a ``str`` key) and reads it back the same.

    Subclasses of the accepted types pass: they come back as the base type,
    as with the json serializer.
    """
    if isinstance(value, str):
        return not _bad_str(value)
    if value is None or isinstance(value, (bool, bytes)):
        return True
    if isinstance(value, int):
        return INT_MIN <= value <= INT_MAX
    if isinstance(value, float):
        return math.isfinite(value)
    return False


def find_problem(data: object, max_depth: int) -> str | None:
    """Describe the first value under ``data`` that this serializer refuses, or ``None``."""
    found = find_unencodable(data, accepts, max_depth=max_depth)
    return None if found is None else _describe(found, max_depth)


def _describe(found: Unencodable, max_depth: int) -> str:
    value = found.value
    if found.problem == "key":
        if isinstance(value, str):
            return f"{found.where} has a key containing a lone surrogate, which is not valid UTF-8"
        hint = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        return (
            f"{found.where} has the key {value!r} of type {found.type_name}; session data "
            f"needs str keys at every depth, so that what is read back matches what was "
            f"written and any serializer can carry it. Use a str key, e.g. {hint!r}"
        )
    if found.problem == "cycle":
        return f"{found.path} refers back to a container that contains it (a cycle)"
    if found.problem == "depth":
        return (
            f"{found.path} is nested more than max_depth={max_depth} containers deep; "
            "flatten the data or raise max_depth"
        )
    if isinstance(value, str):
        return f"{found.path} is a str containing a lone surrogate, which is not valid UTF-8"
    if isinstance(value, int):
        return (
            f"{found.path} is an int outside msgpack's 64-bit range (-2**63 to 2**64-1); "
            "store str(value) and convert it back when you read it"
        )
    if isinstance(value, float):
        return (
            f"{found.path} is {value!r}, which the msgpack serializer refuses as the json "
            "serializer does; store None or a string instead"
        )
    return (
        f"{found.path} is a {found.type_name}, which the msgpack serializer does not "
        f"store; {_advice(value)}"
    )


def _advice(value: object) -> str:
    if isinstance(value, datetime):
        return f"{storage_advice(value)} (msgpack timestamps are not used)"
    if isinstance(value, (bytearray, memoryview)):
        return "store bytes(value): it would come back as bytes"
    return storage_advice(value) or (
        "store its data as dicts with str keys, lists, str, bytes, int, float, bool or None"
    )
