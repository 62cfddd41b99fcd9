"""MsgpackSerializer: session data to msgpack bytes and back, str keys, bounded unpacking.

``dumps`` walks the data once (exact str keys, finite floats, bounded
depth; see ``_check``), then packs it with a per-thread ``msgpack.Packer``.
``loads`` refuses input over ``max_size`` before unpacking, unpacks with
every length limit tied to the input's size, extension types refused and the
number of maps and arrays bounded by the input's size, and walks the result
with the same check. What lives here: the options, the msgpack calls and the
mapping of msgpack's errors to ``SerializationError``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar, NoReturn

import msgpack

from sessionware import OptionChecker, SerializationError, input_bytes, is_plain_data

from ._check import PLAIN_SCALARS, find_problem

__all__ = ["MsgpackSerializer"]

#: msgpack's C unpacker keeps its own stack of this many nested containers.
_UNPACKER_STACK = 1024
#: The per-thread Packer starts with a buffer this size, and is dropped after
#: packing more than _PACKER_KEEP bytes: its buffer never shrinks, and a large
#: session must not pin memory in every worker thread that once saved one.
_PACKER_BUF = 4096
_PACKER_KEEP = 64 * 1024
#: The deepest ``max_depth`` accepted: the walks recurse once per level, and
#: must stay well inside Python's default recursion limit of 1000 frames.
_DEPTH_CEILING = 500
#: An empty map or array is one byte of msgpack and 56-72 bytes of Python
#: objects, 50 times what any other value costs per input byte. Past this many,
#: a session may hold at most one map or array per _BYTES_PER_CONTAINER bytes
#: of its encoding; input this short cannot hold more, so it is never counted.
_FREE_CONTAINERS = 4096
_BYTES_PER_CONTAINER = 8
#: The first byte of every map and array header (fixmap, fixarray, map16/32,
#: array16/32). The same bytes occur inside strings and numbers, so counting
#: them gives an upper bound on the number of containers, in one C pass.
_CONTAINER_HEADS = bytes([*range(0x80, 0xA0), 0xDC, 0xDD, 0xDE, 0xDF])
_NOT_CONTAINER_HEADS = bytes(b for b in range(256) if b not in _CONTAINER_HEADS)


class _ExtensionRefused(Exception):
    """Raised from the unpacker's ``ext_hook``; never leaves this module."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _TooManyContainers(Exception):
    """Raised from the container-counting hooks; never leaves this module."""


def container_budget(size: int) -> int:
    """The most maps and arrays an encoding of ``size`` bytes may hold."""
    return max(_FREE_CONTAINERS, size // _BYTES_PER_CONTAINER)


def _may_hold_many(buf: bytes, size: int, many: int) -> bool:
    """False when ``buf`` certainly holds at most ``many`` containers (the common case)."""
    if size <= many:
        return False
    return len(buf.translate(None, _NOT_CONTAINER_HEADS)) > many


class _Counter:
    """Counts the containers msgpack builds (its ``object_hook`` and ``list_hook``).

    Stops the unpacking at the ``budget + 1``-th, so a bomb is refused having
    built no more than its size allows.
    """

    __slots__ = ("budget", "hook", "left")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.left = [budget]
        left = self.left

        def hook(container: Any) -> Any:
            left[0] -= 1
            if left[0] < 0:
                raise _TooManyContainers
            return container

        self.hook: Callable[[Any], Any] = hook

    @property
    def counted(self) -> int:
        """How many containers were built so far."""
        return self.budget - self.left[0]


def _refuse_extension(code: int, data: bytes) -> NoReturn:
    # max_ext_len=0 already refuses every extension with a body (timestamps
    # included, which bypass ext_hook); this refuses the empty ones.
    raise _ExtensionRefused(code)


def _unpackb(
    buf: bytes, size: int, *, strict_map_key: bool, counter: _Counter | None = None
) -> Any:
    # Every length limit is the input's own size: an array of n items needs
    # at least n bytes, a map of n pairs 2n. A header claiming 2**32-1 items
    # is refused before anything is allocated for them. The hooks only count,
    # and only when the input may hold more containers than the free allowance:
    # an ordinary session never pays for them (passing None costs nothing
    # measurable).
    hook = None if counter is None else counter.hook
    return msgpack.unpackb(
        buf,
        raw=False,
        use_list=True,
        strict_map_key=strict_map_key,
        timestamp=0,
        max_str_len=size,
        max_bin_len=size,
        max_array_len=size,
        max_map_len=size // 2,
        max_ext_len=0,
        ext_hook=_refuse_extension,
        object_hook=hook,
        list_hook=hook,
    )


def _too_many(size: int) -> str:
    return (
        f"session data holds more than {container_budget(size)} maps and arrays in "
        f"{size} bytes of msgpack (the bound: {_FREE_CONTAINERS}, or one per "
        f"{_BYTES_PER_CONTAINER} bytes of input when that is more)"
    )


_options = OptionChecker("msgpack", "serializer")


def _msgpack_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "str"
    if isinstance(value, bytes):
        return "bin"
    if isinstance(value, bool) or value is None:
        return "nil or bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


class MsgpackSerializer:
    """Binary msgpack; every map key, at every depth, must be a ``str``.

    Accepts what the json serializer accepts — dicts with ``str`` keys, lists,
    ``str``, ``int`` (64-bit), finite ``float``, ``bool``, ``None`` — plus
    ``bytes``, which msgpack carries natively. ``dumps`` refuses anything else
    with a ``SerializationError`` naming the path; ``loads``
    refuses input over ``max_size`` bytes, input nested more than
    ``max_depth`` containers deep, extension types, trailing bytes, non-``str``
    keys and anything that is not a map.

    Options: ``max_size`` (bytes, default 1 MiB) bounds both what ``dumps``
    produces and what ``loads`` accepts; ``max_depth`` (default 256, at most
    500) bounds nesting.
    """

    name: ClassVar[str] = "msgpack"

    def __init__(self, *, max_size: int = 1 << 20, max_depth: int = 256) -> None:
        self.max_size = _options.integer("max_size", max_size, what="bytes")
        self.max_depth = _options.integer(
            "max_depth", max_depth, maximum=_DEPTH_CEILING, what="nested containers"
        )
        self._local = threading.local()

    def _packer(self) -> msgpack.Packer:
        # A Packer is not thread safe; one per thread avoids packb building a
        # new one, with a 256 KiB buffer, on every call (a third of the cost).
        packer: msgpack.Packer | None = getattr(self._local, "packer", None)
        if packer is None:
            packer = msgpack.Packer(use_bin_type=True, datetime=False, buf_size=_PACKER_BUF)
            self._local.packer = packer
        return packer

    # -- dumps ---------------------------------------------------------------

    def dumps(self, data: dict[str, Any]) -> bytes:
        """Encode ``data`` as msgpack bytes (at most ``max_size``)."""
        if not isinstance(data, dict):
            raise SerializationError(
                f"session data must be a dict with str keys, got {type(data).__name__}"
            )
        try:
            plain = type(data) is dict and is_plain_data(data, PLAIN_SCALARS, self.max_depth)
        except RecursionError:
            plain = False
        if not plain:
            problem = find_problem(data, self.max_depth)
            if problem is not None:
                raise SerializationError(problem)
        try:
            out: bytes = self._packer().pack(data)
        except (OverflowError, ValueError, TypeError) as exc:
            # OverflowError: an int past 64 bits; UnicodeEncodeError (a
            # ValueError): a lone surrogate. The walk says where.
            problem = find_problem(data, self.max_depth)
            raise SerializationError(
                problem or f"session data cannot be encoded as msgpack: {exc}"
            ) from None
        if len(out) > _PACKER_KEEP:
            self._local.packer = None  # release the buffer this session made it grow
        if len(out) > self.max_size:
            raise SerializationError(
                f"session data encodes to {len(out)} bytes, more than max_size={self.max_size}: "
                "it could not be read back. Store less in the session, or raise max_size"
            )
        size = len(out)
        if size > _FREE_CONTAINERS and _may_hold_many(out, size, container_budget(size)):
            # Never write what loads would refuse: the same count, on the same bytes.
            try:
                _unpackb(out, size, strict_map_key=False, counter=_Counter(container_budget(size)))
            except _TooManyContainers:
                raise SerializationError(
                    f"{_too_many(len(out))}: it could not be read back. Store fewer, larger "
                    "containers (e.g. one list of values instead of many one-item dicts)"
                ) from None
        return out

    # -- loads ---------------------------------------------------------------

    def loads(self, raw: bytes) -> dict[str, Any]:
        """Decode msgpack bytes holding a map with str keys; anything else raises."""
        # bytes, the common case, without a call; input_bytes copes with the rest.
        buf = raw if type(raw) is bytes else input_bytes(raw, self.name)
        size = len(buf)
        if size > self.max_size:
            raise SerializationError(
                f"session data is {size} bytes, more than max_size={self.max_size}; refusing "
                "to decode it (raise max_size if your sessions really are this large)"
            )
        counter = None
        if size > _FREE_CONTAINERS and _may_hold_many(buf, size, _FREE_CONTAINERS):
            counter = _Counter(container_budget(size))
        data = self._unpack(buf, size, counter)
        if type(data) is not dict:
            raise SerializationError(
                f"session data must be a msgpack map, got a msgpack {_msgpack_kind(data)}"
            )
        try:
            plain = is_plain_data(data, PLAIN_SCALARS, self.max_depth)
        except RecursionError:
            plain = False
        if not plain:
            problem = (
                find_problem(data, self.max_depth) or "session data is nested too deeply to decode"
            )
            raise SerializationError(f"msgpack session data refused: {problem}")
        # Both bounds are on the input's size, and dumps writes the same data in
        # its own encoding: smaller when the input used wider headers than needed,
        # larger by 4 bytes for each float32 (written back as float64). Where that
        # could matter, the data must pass them again there, or it would load and
        # never save.
        if (counter is not None and counter.counted > _FREE_CONTAINERS) or (
            size * 9 > self.max_size * 5 and size + 4 * buf.count(b"\xca") > self.max_size
        ):
            try:
                self.dumps(data)
            except SerializationError as exc:
                raise SerializationError(
                    f"msgpack session data decodes, but would not encode again: {exc}"
                ) from None
        return data

    def _unpack(self, buf: bytes, size: int, counter: _Counter | None) -> Any:
        try:
            return _unpackb(buf, size, strict_map_key=True, counter=counter)
        except _TooManyContainers:
            raise SerializationError(f"{_too_many(size)}; refusing to decode it") from None
        except _ExtensionRefused as exc:
            raise SerializationError(
                f"session data contains msgpack extension type {exc.code}; extension types "
                "are never decoded"
            ) from None
        except msgpack.StackError:
            raise SerializationError(
                f"session data is nested more than {_UNPACKER_STACK} containers deep; "
                "refusing to decode it"
            ) from None
        except msgpack.ExtraData as exc:
            raise SerializationError(
                f"session data has {len(exc.extra)} trailing bytes after the msgpack object; "
                "it was not written by the msgpack serializer"
            ) from None
        except msgpack.FormatError:
            raise SerializationError(
                "session data is not valid msgpack (it uses a reserved type byte)"
            ) from None
        except UnicodeDecodeError as exc:
            raise SerializationError(
                f"session data holds a msgpack str that is not valid UTF-8 ({exc.reason})"
            ) from None
        except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
            # ValueError: truncated input, a length past its limit, a non-str
            # map key. RecursionError/MemoryError: msgpack's pure-Python
            # fallback on hostile input; the limits keep the C unpacker clear.
            message = str(exc) or type(exc).__name__
            if "map key" in message:
                located = self._locate_bad_key(buf, size)
                if located is not None:
                    raise SerializationError(f"msgpack session data refused: {located}") from None
            elif "max_ext_len" in message or "timestamp" in message:
                message = "it contains a msgpack extension type, which is never decoded"
            raise SerializationError(f"session data is not valid msgpack: {message}") from None

    def _locate_bad_key(self, buf: bytes, size: int) -> str | None:
        """Name the path of a non-str map key that msgpack refused (error path only)."""
        try:
            data = _unpackb(buf, size, strict_map_key=False)
            return find_problem(data, self.max_depth) if type(data) is dict else None
        except Exception:  # a diagnosis only: the input is refused either way
            return None

    def __repr__(self) -> str:
        return f"<MsgpackSerializer 'msgpack' max_size={self.max_size} max_depth={self.max_depth}>"
