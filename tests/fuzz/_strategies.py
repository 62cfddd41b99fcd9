"""Strategies shared by the fuzz properties: session data, hostile text, and tampering.

Session data is what an application may put in a session: dicts with ``str``
keys holding JSON-like values (and, for msgpack, ``bytes``), with the awkward
cases mixed in on purpose — lone surrogates, ints past 64 bits, non-finite
floats. Tampering turns a valid token into a different one by flipping,
inserting, deleting, swapping or truncating bytes; it never returns the
token unchanged, so "refused" is always the right answer.
"""

from __future__ import annotations

import secrets
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "B64_ALPHABET",
    "Edit",
    "edits",
    "hostile_text",
    "session_data",
    "strong_secret",
    "tamper",
]

#: The characters of every token sessionware issues: base64url and the dot.
B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."

_AWKWARD = ["", "\x00", "é", "日本", "\U0001f600", "\u2028", "\ufeff", "a" * 300]
_SURROGATES = ["\ud800", "\udfff", "a\udc80b", "\udbff\udbff"]


def strong_secret() -> str:
    """A 64-character random secret: well past any weak-secret rule."""
    return secrets.token_urlsafe(48)


def hostile_text(max_size: int = 12) -> st.SearchStrategy[str]:
    """Text of any code point, with lone surrogates and awkward strings mixed in.

    Cheap on purpose: the fuzz session draws it hundreds of thousands of times.
    """
    return st.text(max_size=max_size) | st.sampled_from(_AWKWARD + _SURROGATES)


def _scalars(binary: bool, awkward: bool) -> st.SearchStrategy[Any]:
    options: list[st.SearchStrategy[Any]]
    if not awkward:  # what every serializer must carry
        options = [
            st.none(),
            st.booleans(),
            st.integers(min_value=-(2**63), max_value=2**64 - 1),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(max_size=12) | st.sampled_from(_AWKWARD),
        ]
    else:  # ... and what some must refuse, documented: NaN, lone surrogates, ints past 64 bits
        options = [
            st.none(),
            st.integers(),
            st.integers(min_value=2**63 - 2, max_value=2**64),
            st.floats(),
            hostile_text(),
        ]
    if binary:
        options.append(st.binary(max_size=16))
    return st.one_of(options)


def _sessions(binary: bool, awkward: bool, max_leaves: int) -> st.SearchStrategy[dict[str, Any]]:
    keys = hostile_text(6) if awkward else st.text(max_size=6) | st.sampled_from(_AWKWARD)
    values = st.recursive(
        _scalars(binary, awkward),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=max_leaves,
    )
    return st.dictionaries(keys, values, max_size=6)


def session_data(
    *, binary: bool = False, max_leaves: int = 10
) -> st.SearchStrategy[dict[str, Any]]:
    """A session's data: a dict with str keys of JSON-like values (``bytes`` too if ``binary``).

    Mostly data every serializer must carry, sometimes data some must refuse
    (NaN, a lone surrogate, an int past 64 bits), so both paths are exercised.
    """
    options = [_sessions(False, False, max_leaves)]
    if binary:
        options.append(_sessions(True, False, max_leaves))
    options.append(_sessions(binary, True, max_leaves))
    return st.one_of(options)


#: One edit: what to do, where (a fraction of the length), and the bytes it may need.
Edit = tuple[str, float, float, bytes]


def edits() -> st.SearchStrategy[list[Edit]]:
    """One to three edits, independent of the token they will be applied to."""
    edit = st.tuples(
        st.sampled_from(["flip", "insert", "delete", "swap", "truncate", "extend"]),
        st.floats(0, 1, exclude_max=True),
        st.floats(0, 1, exclude_max=True),
        st.binary(min_size=1, max_size=8),
    )
    return st.lists(edit, min_size=1, max_size=3)


def tamper(token: bytes, plan: list[Edit], alphabet: bytes | None = None) -> bytes:
    """``token`` changed by the edits of ``plan``; never equal to ``token``.

    With ``alphabet``, inserted and substituted bytes are mapped into it (to get
    past shape checks and reach the cryptography); otherwise they are any byte.
    """

    def pick(raw: bytes) -> bytes:
        return bytes(alphabet[b % len(alphabet)] for b in raw) if alphabet else raw

    data = bytearray(token)
    for kind, where, other, raw in plan:
        at = int(where * len(data))
        if kind == "flip" and data:
            choices = [b for b in (alphabet or range(256)) if b != data[at]]
            data[at] = choices[raw[0] % len(choices)]
        elif kind == "insert":
            data[at:at] = pick(raw[:1])
        elif kind == "delete" and data:
            del data[at]
        elif kind == "swap" and data:
            there = int(other * len(data))
            data[at], data[there] = data[there], data[at]
        elif kind == "truncate":
            del data[at:]
        elif kind == "extend":
            data += pick(raw)
    result = bytes(data)
    if result == token:  # the edits cancelled out (a swap of equal bytes, ...)
        result = token[:-1] if token else b"x"
    return result
