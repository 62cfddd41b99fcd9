"""The serializer protocol, and the walks a serializer needs. Never pickle.

``Serializer`` is the protocol. The rest is for writing one: a fast
yes/no check that session data is plain (``is_plain_data``, the hot
path), a walk that finds the first value a serializer refuses and where it
is (``find_unencodable``, the error path), the usual fix for a Python
type that no session format carries (``storage_advice``), and the
bytes ``loads`` was given (``input_bytes``). Nothing here encodes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from math import isfinite
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from ._errors import SerializationError

__all__ = [
    "Serializer",
    "Unencodable",
    "find_unencodable",
    "input_bytes",
    "is_plain_data",
    "storage_advice",
]


@runtime_checkable
class Serializer(Protocol):
    """Turns a session's data (a ``dict`` with ``str`` keys) into bytes and back.

    Both directions raise ``SerializationError`` with a
    message naming the offending value; ``loads`` must refuse anything that is
    not a mapping with string keys. Implementations must not execute code
    found in the data (no pickle, no object hooks that import).
    """

    name: ClassVar[str]

    def dumps(self, data: dict[str, Any]) -> bytes:
        """Encode ``data``."""
        ...

    def loads(self, raw: bytes) -> dict[str, Any]:
        """Decode bytes produced by ``dumps``."""
        ...


def input_bytes(raw: object, serializer: str) -> bytes:
    """What ``loads`` was given, as ``bytes``; ``SerializationError`` if not.

    ``bytearray`` and ``memoryview`` are copied to ``bytes``; anything else
    (a ``str``, ``None``) is refused with a message naming ``serializer``.
    Callers typed ``bytes`` still get other things from code outside mypy.
    """
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, (bytearray, memoryview)):
        return bytes(raw)
    raise SerializationError(f"the {serializer} serializer decodes bytes, got {type(raw).__name__}")


def is_plain_data(data: dict[Any, Any], scalars: frozenset[type], max_depth: int) -> bool:
    """True when ``data`` surely needs no closer look before (or after) encoding.

    Plain means: dicts whose keys are exactly ``str``, lists, finite floats,
    and values whose exact type is in ``scalars`` (e.g. ``{str, int, bool,
    type(None)}``), at most ``max_depth`` containers deep, ``data`` counting
    as one. Put ``float`` in ``scalars`` to skip the finiteness check when
    the encoder already refuses NaN and infinities (stdlib json with
    ``allow_nan=False``). Exact types only: a subclass, a tuple, a bad key or a cycle
    (reported as too deep) all answer ``False``, and the serializer then asks
    ``find_unencodable`` for a verdict and a message. This is the
    per-request hot path: a bare ``bool``, one frame per level, so it can
    raise ``RecursionError`` when the caller's stack is already nearly used.
    """
    if max_depth < 1:
        return False
    depth_left = max_depth - 1
    for key, value in data.items():
        if type(key) is not str:
            return False
        kind = type(value)
        if kind in scalars:
            continue
        if kind is float:
            if not isfinite(value):
                return False
        elif kind is dict:
            if not is_plain_data(value, scalars, depth_left):
                return False
        elif kind is list:
            if not _plain_list(value, scalars, depth_left):
                return False
        else:
            return False
    return True


# The same loop as is_plain_data's, without the key check: one walk over a
# dict's values and a separate pass over its keys measured 10-15% slower.
def _plain_list(items: list[Any], scalars: frozenset[type], max_depth: int) -> bool:
    if max_depth < 1:
        return False
    depth_left = max_depth - 1
    for value in items:  # a loop, not all(<genexpr>): this is the hot path
        kind = type(value)
        if kind in scalars:
            continue
        if kind is float:
            if not isfinite(value):
                return False
        elif kind is dict:
            if not is_plain_data(value, scalars, depth_left):
                return False
        elif kind is list:
            if not _plain_list(value, scalars, depth_left):
                return False
        else:
            return False
    return True


@dataclass(frozen=True, slots=True)
class Unencodable:
    """The first thing in session data that a serializer refuses, and where it is.

    ``find_unencodable`` returns it; the serializer turns it into a
    ``SerializationError`` in its own words, naming
    ``path`` (or ``where``, for a key) and the value's type.
    """

    #: ``"value"``: ``accept`` refused it. ``"key"``: a dict key that is not a
    #: ``str``, or a ``str`` key that ``accept`` refused. ``"cycle"``: a
    #: container inside itself. ``"depth"``: a container past ``max_depth``.
    problem: Literal["value", "key", "cycle", "depth"]
    #: Where it is, as code that reaches it: ``session['cart']['items'][3]``
    #: (for ``"key"``, the dict holding the key). A very deep path keeps its
    #: first six and last four steps around ``[...]``.
    path: str
    #: The refused value or key, or the container (``"cycle"``, ``"depth"``).
    value: object

    @property
    def type_name(self) -> str:
        """The refused value's (or key's) type, e.g. ``"datetime"``."""
        return type(self.value).__name__

    @property
    def where(self) -> str:
        """``path`` in words for a message about a key: "the session" or "a dict at ..."."""
        if self.problem != "key":
            return self.path
        return "the session" if self.path == _ROOT else f"a dict at {self.path}"


_ROOT = "session"
#: Paths longer than this many steps are shortened in messages: a hostile
#: depth would otherwise make a kilobyte-long one.
_PATH_STEPS = 12


def _path(steps: list[str]) -> str:
    if len(steps) > _PATH_STEPS:
        steps = [*steps[:6], "[...]", *steps[-4:]]
    return _ROOT + "".join(steps)


def find_unencodable(
    data: object, accept: Callable[[object], bool], *, max_depth: int | None = None
) -> Unencodable | None:
    """The first thing under ``data`` that a serializer refuses, or ``None`` if nothing is.

    ``data`` is walked depth first, in order: dicts (their keys, then their
    values) and lists, subclasses included. Every other value, and every
    ``str`` key, is handed to ``accept``, which says whether the serializer
    can carry it faithfully (the json serializer: ``None``, ``str``,
    ``bool``, ``int`` and finite ``float``; a tuple, which would come back as
    a list, is refused). A key that is not a ``str`` is always refused: the
    session's keys are strings at every depth. A container inside itself is
    a ``"cycle"``; one nested more than ``max_depth`` containers deep
    (``data`` counts as one) is ``"depth"``.

    This is the error path: it runs after ``is_plain_data`` or the
    encoder said no, to say where and why. It keeps its own stack, so deep
    data costs time, never a ``RecursionError``.
    """
    if not isinstance(data, (dict, list)):
        return None if accept(data) else Unencodable("value", _ROOT, data)
    if max_depth is not None and max_depth < 1:
        return Unencodable("depth", _ROOT, data)
    steps: list[str] = []  # the path to the innermost open container
    stack: list[tuple[Iterator[tuple[Any, Any]], bool, int]] = [_open(data)]
    ancestors = {id(data)}
    while stack:
        entries, is_dict, container = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            ancestors.discard(container)
            if steps:
                steps.pop()
            continue
        key, value = entry
        if is_dict:
            if not isinstance(key, str) or not accept(key):
                return Unencodable("key", _path(steps), key)
            step = f"[{key!r}]"
        else:
            step = f"[{key}]"
        if isinstance(value, (dict, list)):
            if id(value) in ancestors:
                return Unencodable("cycle", _path([*steps, step]), value)
            if max_depth is not None and len(stack) >= max_depth:
                return Unencodable("depth", _path([*steps, step]), value)
            steps.append(step)
            ancestors.add(id(value))
            stack.append(_open(value))
        elif not accept(value):
            return Unencodable("value", _path([*steps, step]), value)
    return None


def _open(container: dict[Any, Any] | list[Any]) -> tuple[Iterator[tuple[Any, Any]], bool, int]:
    if isinstance(container, dict):
        return iter(container.items()), True, id(container)
    return enumerate(container), False, id(container)


def storage_advice(value: object) -> str | None:
    """How to store ``value`` instead, for the Python types no session format carries.

    ``datetime``, ``date``, ``time``, ``timedelta``, ``set``/``frozenset``,
    ``tuple`` (not a named one), ``Decimal`` and ``UUID``; ``None`` for
    anything else, so the serializer can add its own (bytes, for a text
    format) and a fallback.
    """
    # Imported here: only the error path needs them, and importing sessionware
    # should not load decimal and uuid.
    from datetime import date, datetime, time, timedelta
    from decimal import Decimal
    from uuid import UUID

    advice: list[tuple[type | tuple[type, ...], str]] = [
        (datetime, "store value.isoformat() and read it back with datetime.fromisoformat()"),
        (date, "store value.isoformat() and read it back with date.fromisoformat()"),
        (time, "store value.isoformat() and read it back with time.fromisoformat()"),
        (timedelta, "store value.total_seconds() and rebuild it with timedelta(seconds=...)"),
        ((set, frozenset), "store a list, e.g. sorted(value)"),
        ((Decimal, UUID), "store str(value) and convert it back when you read it"),
    ]
    if type(value) is tuple:  # not a named tuple, whose fields a list would lose
        return "store a list: a tuple would come back as a list and look changed on every request"
    for kinds, text in advice:
        if isinstance(value, kinds):
            return text
    return None
