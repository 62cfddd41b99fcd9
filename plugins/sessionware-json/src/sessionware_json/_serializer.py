"""JSONSerializer: session data to compact UTF-8 JSON and back, str keys only.

The fast path is the stdlib C encoder and decoder plus one walk over the
containers to check their keys (the core's ``sessionware.is_plain_data``).
When encoding fails, a second, slower walk (``sessionware.find_unencodable``)
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
from typing import Any, ClassVar, NoReturn

from sessionware import (
    SerializationError,
    find_unencodable,
    input_bytes,
    is_plain_data,
    storage_advice,
)

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


#: Exact types the fast walk (``sessionware.is_plain_data``) passes without
#: a second look; float among them, because the encoder (``allow_nan=False``)
#: has refused NaN and infinities before the walk runs. The encoder accepts
#: non-str keys and tuples without complaint and changes them (keys become
#: strings, tuples lists): that walk is the check it does not do.
_PLAIN_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})


def _accepts(value: object) -> bool:
    """Whether JSON carries ``value`` (a leaf, or a ``str`` key) and reads it back the same."""
    if value is None or isinstance(value, (str, bool, int)):
        return True
    return isinstance(value, float) and math.isfinite(value)


def _find_problem(data: object) -> str | None:
    """Describe the first value under ``data`` that JSON cannot carry faithfully."""
    found = find_unencodable(data, _accepts, max_depth=MAX_DEPTH)
    if found is None:
        return None
    value = found.value
    if found.problem == "key":
        return (
            f"{found.where} has the key {value!r} of type {found.type_name}; JSON keys are "
            f"strings, so it would come back as {str(value)!r} and no longer match. "
            f"Use str keys at every depth, e.g. {str(value)!r}"
        )
    if found.problem == "cycle":
        return f"{found.path} refers back to a container that contains it (a cycle)"
    if found.problem == "depth":
        return (
            f"session data is nested too deeply to encode: {found.path} is more than "
            f"{MAX_DEPTH} objects and arrays deep; store flatter data"
        )
    if isinstance(value, float):
        return (
            f"{found.path} is {value!r}, which JSON cannot represent; "
            "store None or a string instead"
        )
    return f"{found.path} is a {found.type_name}, which JSON cannot store; {_advice(value)}"


def _advice(value: object) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "store text, e.g. base64.b64encode(value).decode('ascii')"
    return storage_advice(value) or (
        "store its data as dicts with str keys, lists, str, int, float, bool or None"
    )


class JSONSerializer:
    """Compact UTF-8 JSON; every dict key, at every depth, must be a ``str``.

    ``dumps`` refuses what stdlib JSON would silently change or cannot carry
    (non-str keys, tuples, sets, datetimes, bytes, NaN and infinities, other
    objects) with a ``SerializationError`` naming the path.
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
            if type(data) is dict and is_plain_data(data, _PLAIN_SCALARS, MAX_DEPTH):
                return out
        except RecursionError:
            raise SerializationError("session data is nested too deeply to encode") from None
        problem = _find_problem(data)
        if problem is not None:
            raise SerializationError(problem)
        return out

    def _explain(self, data: Any, exc: BaseException) -> SerializationError:
        problem = _find_problem(data)  # names a cycle or the bad value
        if problem is None and isinstance(exc, RecursionError):
            return SerializationError("session data is nested too deeply to encode")
        return SerializationError(problem or f"session data cannot be encoded as JSON: {exc}")

    def loads(self, raw: bytes) -> dict[str, Any]:
        """Decode UTF-8 JSON bytes holding an object; anything else raises.

        What it returns, ``dumps`` encodes again to the same data.
        """
        # bytes, the common case, without a call; input_bytes copes with the rest.
        buf = raw if type(raw) is bytes else input_bytes(raw, self.name)
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
