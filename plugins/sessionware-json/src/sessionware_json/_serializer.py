"""JSONSerializer: session data to compact UTF-8 JSON and back, str keys only.

The fast path is the stdlib C encoder and decoder plus one walk over the
containers to check their keys. When encoding fails, a second, slower walk
finds the offending value so the error can name its path; that walk only
runs on the error path. Documents large enough to be deep or container-heavy
have their shape measured on the bytes (``_shape``) before decoding and after
encoding, so ``loads`` never builds more than the input's size allows and
``dumps`` never writes what ``loads`` would refuse. Nothing here knows about
engines or sessions.
"""

from __future__ import annotations

import json
import json.scanner
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar, NoReturn
from uuid import UUID

from sessionware import SerializationError

__all__ = ["JSONSerializer"]


class _Unencodable(Exception):
    """Raised from the encoder's ``default`` hook; never leaves this module."""


def _refuse(value: object) -> NoReturn:
    raise _Unencodable(type(value).__name__)


def _reject_constant(name: str) -> NoReturn:
    raise SerializationError(
        f"JSON session data contains {name}, which is not valid JSON; refusing to decode it"
    )


# Built once: json.dumps/json.loads with non-default arguments construct a
# new encoder/decoder on every call, which costs more than encoding a small
# session does.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    allow_nan=False,
    separators=(",", ":"),
    default=_refuse,
)
#: For text holding a lone surrogate, which UTF-8 cannot carry: ``\\ud800`` escapes
#: read back as exactly the same str.
_ASCII_ENCODER = json.JSONEncoder(
    ensure_ascii=True,
    allow_nan=False,
    separators=(",", ":"),
    default=_refuse,
)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # "1e999" is valid JSON syntax but overflows to inf, which dumps refuses.
        raise SerializationError(
            f"JSON session data contains the number {text[:40]}, which overflows a float"
        )
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_parse_float)

# The C encoder and scanner called directly: JSONEncoder.encode builds a new C
# encoder on every call and JSONDecoder.decode wraps the scanner in two regex
# matches, which together cost about as much as the work itself on a small
# session. Without the C accelerator, the objects above do the same job.
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = (
    _c_make_encoder(
        None, _refuse, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    if _c_make_encoder is not None
    else None
)
_C_ENCODE_ASCII = (
    _c_make_encoder(
        None, _refuse, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False
    )
    if _c_make_encoder is not None
    else None
)
_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(_DECODER)  # type: ignore[arg-type]


def _encode(data: Any) -> bytes:
    text = "".join(_C_ENCODE(data, 0)) if _C_ENCODE is not None else _ENCODER.encode(data)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate, e.g. from user-supplied JSON text that loads accepted:
        # refusing it here would make a session that loads but can never be saved.
        if _C_ENCODE_ASCII is not None:
            return "".join(_C_ENCODE_ASCII(data, 0)).encode("ascii")
        return _ASCII_ENCODER.encode(data).encode("ascii")


#: Nesting deeper than this (the session dict counts as 1) is refused by both
#: ``dumps`` and ``loads``: the C decoder and encoder and the walks recurse
#: once per level, and a fixed bound keeps what one request could load from
#: failing to save in another whose stack is deeper.
MAX_DEPTH = 256
#: An empty ``{}`` or ``[]`` is 2-3 bytes of JSON and 56-64 bytes of Python
#: object. Past this many, a document may hold at most one object or array per
#: _BYTES_PER_CONTAINER bytes.
_FREE_CONTAINERS = 4096
_BYTES_PER_CONTAINER = 8
#: A document shorter than this can be neither too deep (each level takes at
#: least two bytes) nor hold too many containers; it is never measured.
_SHAPE_CHECK_ABOVE = 2 * MAX_DEPTH
#: What the shape measurement keeps of a document: quotes, and brackets as
#: parentheses (which kind does not matter to depth or count).
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"{}[]')
_TO_PARENS = bytes.maketrans(b"{}[]", b"()()")


def container_budget(size: int) -> int:
    """The most objects and arrays a JSON document of ``size`` bytes may hold."""
    return max(_FREE_CONTAINERS, size // _BYTES_PER_CONTAINER)


def _shape(doc: bytes) -> tuple[str | None, int]:
    """Why ``doc`` is too deep or holds too many containers for its size (``None`` if
    neither), and at most how many containers it holds.

    Measured on the bytes, in C passes, before anything is decoded: two
    counts of the opening brackets settle it for almost every document; only
    one with more than ``MAX_DEPTH`` of them has its strings taken out for
    the exact figures (a bracket inside a string is not structure), and only
    one within the container bound has its depth measured, one level per
    pass, taking out its innermost pairs until none is left.
    """
    size = len(doc)
    opening = doc.count(b"{") + doc.count(b"[")
    if opening <= MAX_DEPTH:
        return None, opening
    # Without its escaped backslashes and quotes, every quote left in a valid
    # document opens or closes a string, so every other piece between quotes
    # is outside the strings. Two adjacent quotes (an empty string, or a
    # string's end and the next one's start) go first: that keeps the parity
    # and leaves only strings with brackets inside to split on. (Invalid input
    # fails to decode anyway; up to its first error, this reads it as the
    # decoder does.)
    if b"\\" in doc:
        doc = doc.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = doc.translate(_TO_PARENS, _NOT_STRUCTURE).replace(b'""', b"")
    parens = b"".join(structure.split(b'"')[::2]) if b'"' in structure else structure
    containers = parens.count(b"(")
    if containers > container_budget(size):
        return (
            f"session data holds {containers} objects and arrays in {size} bytes of "
            f"JSON, more than {container_budget(size)} (the bound: {_FREE_CONTAINERS}, or "
            f"one per {_BYTES_PER_CONTAINER} bytes of input when that is more)"
        ), containers
    for _ in range(MAX_DEPTH):
        inner = parens.replace(b"()", b"")  # every innermost pair: one level less
        if len(inner) == len(parens):
            return None, containers  # empty, or unbalanced: the decoder will say why
        parens = inner
    if parens:
        return f"session data is nested more than {MAX_DEPTH} objects and arrays deep", containers
    return None, containers


def _decode(text: str) -> Any:
    try:
        data, end = _SCAN(text, 0)
        if end == len(text):
            return data
    except (StopIteration, ValueError):
        pass
    # Not a plain document (surrounding whitespace) or not valid: the full decoder
    # accepts the one and explains the other.
    return _DECODER.decode(text)


def _path(parts: list[str]) -> str:
    return "session" + "".join(parts)


_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain_dict(obj: dict[Any, Any]) -> bool:
    """True when every key under ``obj`` is exactly ``str`` and no tuple is inside.

    The C encoder accepts both without complaint and changes them: keys
    become strings, tuples become lists. This is the hot path, so it checks
    exact types and returns a bare bool; anything unusual (a subclass, a
    tuple, a bad key) sends the caller to :func:`_find_problem` for a verdict
    and a message. One stack frame per level of nesting.
    """
    for key, value in obj.items():
        if type(key) is not str:
            return False
        kind = type(value)
        if kind in _PLAIN_SCALARS:
            continue
        if kind is dict:
            if not _plain_dict(value):
                return False
        elif kind is list:
            if not _plain_list(value):
                return False
        else:
            return False
    return True


def _plain_list(obj: list[Any]) -> bool:
    for item in obj:  # a loop, not all(<genexpr>): this is the per-save hot path
        kind = type(item)
        if kind in _PLAIN_SCALARS:
            continue
        if kind is dict:
            if not _plain_dict(item):
                return False
        elif kind is list:
            if not _plain_list(item):
                return False
        else:
            return False
    return True


_ADVICE: list[tuple[type | tuple[type, ...], str]] = [
    (datetime, "store value.isoformat() and read it back with datetime.fromisoformat()"),
    (date, "store value.isoformat() and read it back with date.fromisoformat()"),
    (time, "store value.isoformat() and read it back with time.fromisoformat()"),
    (timedelta, "store value.total_seconds() and rebuild it with timedelta(seconds=...)"),
    ((set, frozenset), "store a list, e.g. sorted(value)"),
    (tuple, "store a list: a tuple would come back as a list and look changed on every request"),
    ((bytes, bytearray, memoryview), "store text, e.g. base64.b64encode(value).decode('ascii')"),
    ((Decimal, UUID), "store str(value) and convert it back when you read it"),
]


def _advice(value: object) -> str:
    for kinds, text in _ADVICE:
        if isinstance(value, kinds):
            return text
    return "store its data as dicts with str keys, lists, str, int, float, bool or None"


def _find_problem(obj: Any, parts: list[str], seen: set[int]) -> str | None:
    """Describe the first value under ``obj`` that JSON cannot carry faithfully."""
    if obj is None or isinstance(obj, (str, bool, int)):
        return None
    if isinstance(obj, float):
        if math.isfinite(obj):
            return None
        return (
            f"{_path(parts)} is {obj!r}, which JSON cannot represent; "
            "store None or a string instead"
        )
    if isinstance(obj, tuple):
        return f"{_path(parts)} is a tuple, which JSON cannot store; {_advice(obj)}"
    if isinstance(obj, (dict, list)):
        if id(obj) in seen:
            return f"{_path(parts)} refers back to a container that contains it (a cycle)"
        seen = seen | {id(obj)}
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        for key, value in items:
            if isinstance(obj, dict) and not isinstance(key, str):
                return _key_message(parts, key)
            found = _find_problem(value, [*parts, f"[{key!r}]"], seen)
            if found is not None:
                return found
        return None
    return f"{_path(parts)} is a {type(obj).__name__}, which JSON cannot store; {_advice(obj)}"


def _key_message(parts: list[str], key: object) -> str:
    where = f"a dict at {_path(parts)}" if parts else "the session"
    return (
        f"{where} has the key {key!r} of type {type(key).__name__}; JSON keys are strings, "
        f"so it would come back as {str(key)!r} and no longer match. "
        f"Use str keys at every depth, e.g. {str(key)!r}"
    )


class JSONSerializer:
    """Compact UTF-8 JSON; every dict key, at every depth, must be a ``str``.

    ``dumps`` refuses what stdlib JSON would silently change or cannot carry
    (non-str keys, tuples, sets, datetimes, bytes, NaN and infinities, other
    objects) with a :class:`~sessionware.SerializationError` naming the path.
    ``loads`` accepts UTF-8 bytes holding a JSON object and refuses anything
    else. It takes no options.
    """

    name: ClassVar[str] = "json"

    def dumps(self, data: dict[str, Any]) -> bytes:
        """Encode ``data`` as compact UTF-8 JSON bytes."""
        if not isinstance(data, Mapping):
            raise SerializationError(
                f"session data must be a dict with str keys, got {type(data).__name__}"
            )
        try:
            out = _encode(data)
        except (_Unencodable, ValueError, TypeError, RecursionError) as exc:
            # ValueError: NaN/inf, a cycle or an int past Python's digit limit;
            # TypeError: a non-scalar key.
            raise self._explain(data, exc) from None
        if len(out) > _SHAPE_CHECK_ABOVE:
            shape, _ = _shape(out)
            if shape is not None:
                raise SerializationError(
                    f"{shape}: it could not be read back. Store flatter data, or fewer, "
                    "larger containers"
                )
        # The encoder quietly turns int, float, bool and None keys into
        # strings and tuples into lists; this walk is the check it does not do.
        try:
            if type(data) is dict and _plain_dict(data):
                return out
            problem = _find_problem(data, [], set())
        except RecursionError:
            raise SerializationError("session data is nested too deeply to encode") from None
        if problem is not None:
            raise SerializationError(problem)
        return out

    def _explain(self, data: Any, exc: BaseException) -> SerializationError:
        try:
            problem = _find_problem(data, [], set())  # names a cycle or the bad value
        except RecursionError:
            return SerializationError("session data is nested too deeply to encode")
        if problem is None and isinstance(exc, RecursionError):
            return SerializationError("session data is nested too deeply to encode")
        return SerializationError(problem or f"session data cannot be encoded as JSON: {exc}")

    def loads(self, raw: bytes) -> dict[str, Any]:
        """Decode UTF-8 JSON bytes holding an object; anything else raises.

        What it returns, :meth:`dumps` encodes again to the same data.
        """
        received: object = raw  # typed bytes, but callers outside mypy pass anything
        if isinstance(received, bytes):
            buf = received
        elif isinstance(received, (bytearray, memoryview)):
            buf = bytes(received)
        else:
            raise SerializationError(
                f"the json serializer decodes bytes, got {type(received).__name__}"
            )
        containers = 0
        if len(buf) > _SHAPE_CHECK_ABOVE:
            shape, containers = _shape(buf)
            if shape is not None:
                raise SerializationError(f"{shape}; refusing to decode it")
        try:
            text = buf.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SerializationError(
                f"session data is not valid UTF-8 (byte {exc.start}); it was not written "
                "by the json serializer"
            ) from None
        try:
            data = _decode(text)
        except json.JSONDecodeError as exc:
            raise SerializationError(
                f"session data is not valid JSON ({exc.msg} at position {exc.pos})"
            ) from None
        except ValueError as exc:
            # An integer longer than Python's int_max_str_digits (4300 by default).
            raise SerializationError(f"session data is not valid JSON: {exc}") from None
        except RecursionError:
            raise SerializationError("session data is nested too deeply to decode") from None
        if type(data) is not dict:
            raise SerializationError(
                f"session data must be a JSON object, got a JSON {_json_kind(data)}"
            )
        if containers > _FREE_CONTAINERS:
            # The bound is on the input's size. Spaces and escapes that dumps would
            # not write make the input larger than what dumps writes: the data must
            # pass the bound again there, or it would load and never save.
            try:
                self.dumps(data)
            except SerializationError as exc:
                raise SerializationError(
                    f"session data decodes, but would not encode again: {exc}"
                ) from None
        return data

    def __repr__(self) -> str:
        return "<JSONSerializer 'json'>"


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool) or value is None:
        return "literal"
    return "number"
