"""What session data msgpack may carry, checked in one walk, with a message naming the path.

Two walks live here. :func:`plain_dict` is the hot path, run on every
``dumps`` and ``loads``: exact types, a bare bool, no messages.
:func:`find_problem` runs only when that says no (or meets a subclass it
does not vouch for) and describes the first offending value. Nothing here
calls msgpack.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

__all__ = ["INT_MAX", "INT_MIN", "find_problem", "plain_dict"]

#: msgpack integers are 64-bit: int64 for negatives, uint64 for the rest.
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1

# Exact types the fast walk accepts without a second look. float is checked
# separately (finite only); int range and str encodability are left to the
# packer, which raises on them, sending dumps to find_problem.
_SCALARS = frozenset({str, int, bool, type(None), bytes})


def plain_dict(obj: dict[Any, Any], depth_left: int) -> bool:
    """True when ``obj`` holds only exact-type, finite, str-keyed data at most ``depth_left`` deep.

    ``depth_left`` counts containers, ``obj`` included. A cycle is reported as
    too deep, never followed forever.
    """
    if depth_left < 1:
        return False
    depth_left -= 1
    for key, value in obj.items():
        if type(key) is not str:
            return False
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is float:
            if not math.isfinite(value):
                return False
        elif kind is dict:
            if not plain_dict(value, depth_left):
                return False
        elif kind is list:
            if not _plain_list(value, depth_left):
                return False
        else:
            return False
    return True


def _plain_list(obj: list[Any], depth_left: int) -> bool:
    if depth_left < 1:
        return False
    depth_left -= 1
    for value in obj:  # a loop, not all(<genexpr>): this is the per-request hot path
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is float:
            if not math.isfinite(value):
                return False
        elif kind is dict:
            if not plain_dict(value, depth_left):
                return False
        elif kind is list:
            if not _plain_list(value, depth_left):
                return False
        else:
            return False
    return True


_ADVICE: list[tuple[type | tuple[type, ...], str]] = [
    (
        datetime,
        "store value.isoformat() and read it back with datetime.fromisoformat() "
        "(msgpack timestamps are not used)",
    ),
    (date, "store value.isoformat() and read it back with date.fromisoformat()"),
    (time, "store value.isoformat() and read it back with time.fromisoformat()"),
    (timedelta, "store value.total_seconds() and rebuild it with timedelta(seconds=...)"),
    ((set, frozenset), "store a list, e.g. sorted(value)"),
    ((bytearray, memoryview), "store bytes(value): it would come back as bytes"),
    ((Decimal, UUID), "store str(value) and convert it back when you read it"),
]


def _advice(value: object) -> str:
    for kinds, text in _ADVICE:
        if isinstance(value, kinds):
            return text
    return "store its data as dicts with str keys, lists, str, bytes, int, float, bool or None"


def _path(parts: list[str]) -> str:
    if len(parts) > 12:  # a hostile depth would otherwise make a kilobyte-long message
        parts = [*parts[:6], "[...]", *parts[-4:]]
    return "session" + "".join(parts)


def _bad_str(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _key_problem(parts: list[str], key: object) -> str | None:
    where = f"a dict at {_path(parts)}" if parts else "the session"
    if isinstance(key, str):
        if _bad_str(key):
            return f"{where} has a key containing a lone surrogate, which is not valid UTF-8"
        return None
    hint = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
    return (
        f"{where} has the key {key!r} of type {type(key).__name__}; session data needs "
        f"str keys at every depth, so that what is read back matches what was written "
        f"and any serializer can carry it. Use a str key, e.g. {hint!r}"
    )


def find_problem(obj: Any, max_depth: int, parts: list[str] | None = None) -> str | None:
    """Describe the first value under ``obj`` that this serializer refuses, or ``None``.

    Subclasses of the accepted types pass (they come back as the base type,
    as with the json serializer). Raises ``RecursionError`` only when the
    caller's own stack is already nearly exhausted.
    """
    return _find(obj, max_depth, parts or [], set())


def _find(obj: Any, max_depth: int, parts: list[str], seen: set[int]) -> str | None:
    if isinstance(obj, str):
        if _bad_str(obj):
            return f"{_path(parts)} is a str containing a lone surrogate, which is not valid UTF-8"
        return None
    if obj is None or isinstance(obj, (bool, bytes)):
        return None
    if isinstance(obj, int):
        if INT_MIN <= obj <= INT_MAX:
            return None
        return (
            f"{_path(parts)} is an int outside msgpack's 64-bit range (-2**63 to 2**64-1); "
            "store str(value) and convert it back when you read it"
        )
    if isinstance(obj, float):
        if math.isfinite(obj):
            return None
        return (
            f"{_path(parts)} is {obj!r}, which the msgpack serializer refuses as the json "
            "serializer does; store None or a string instead"
        )
    if isinstance(obj, (dict, list)):
        if id(obj) in seen:
            return f"{_path(parts)} refers back to a container that contains it (a cycle)"
        if len(parts) >= max_depth:
            return (
                f"{_path(parts)} is nested more than max_depth={max_depth} containers deep; "
                "flatten the data or raise max_depth"
            )
        seen = seen | {id(obj)}
        if isinstance(obj, dict):
            for key, value in obj.items():
                problem = _key_problem(parts, key) or _find(
                    value, max_depth, [*parts, f"[{key!r}]"], seen
                )
                if problem is not None:
                    return problem
        else:
            for index, value in enumerate(obj):
                problem = _find(value, max_depth, [*parts, f"[{index}]"], seen)
                if problem is not None:
                    return problem
        return None
    if type(obj) is tuple:
        return (
            f"{_path(parts)} is a tuple, which msgpack would turn into a list; store a list: "
            "a tuple would come back as a list and look changed on every request"
        )
    return (
        f"{_path(parts)} is a {type(obj).__name__}, which the msgpack serializer does not "
        f"store; {_advice(obj)}"
    )
