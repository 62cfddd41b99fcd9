"""The layout of one session file, and how a file's content is judged.

Format 2, written by this release: two slots, each a complete version of the
session, so that an update never overwrites the version a reader may need::

    offset  size  field
    0       4     magic        b"SWSF"
    4       1     version      2
    5       3     reserved     zero
    8       40    slot 0 header
    48      40    slot 1 header
    88      ...   the data area: each slot's data at the offset its header gives

    slot header (big-endian)
    0       8     seq          which write this is; 0: the slot is empty
    8       8     expires_at   IEEE-754 double, POSIX seconds (UTC)
    16      8     offset       where the slot's data starts in the file
    24      8     length       how many data bytes
    32      4     generation   random, drawn when the file is created and copied by
                               every update; 0 in files of earlier releases
    36      4     crc          CRC-32 of the header's first 36 bytes, then the data

An update writes the new data where it does not overlap the current slot's
data, then the other slot's header with the next ``seq``. The current version
is the valid slot with the highest ``seq``; a slot is valid when its data lies
in the file and its CRC matches. A write cut short anywhere (a crash, a full
disk, a power cut before the data reached the disk) leaves a slot that does
not verify, so the other slot, the previous version, is served: never a mix,
never a loss. The file's size carries no meaning any more: a file may keep
unused bytes after the data.

The version a versioned load returns (``version_of``) is the current
slot's ``seq`` and ``generation`` in one int: every write bumps ``seq``, and
the generation tells a session deleted and created again under the same key
(``seq`` 1 again) from the one a writer loaded. Releases before versioning
wrote the generation field as reserved zeros and skip it when reading (the
CRC covers it either way), so files move freely between the two: a file an
earlier release created has generation 0, and an update by an earlier release
still bumps ``seq``.

Format 1, written by earlier releases, is still read: a 24-byte header
(magic, version 1, reserved, ``expires_at``, ``length``) and the data, whose
size must match ``length``. An update of a format-1 session replaces the file
with a format-2 one (temporary file + rename).

The expiry lives in the file because the modification time cannot carry it:
an update may set any expiry, and a file copied or touched would change it.

Nothing here does I/O; the engine reads and writes, this module judges.
"""

from __future__ import annotations

import enum
import hashlib
import math
import struct
import zlib
from collections.abc import Callable
from typing import NamedTuple

__all__ = [
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MAGIC",
    "SLOT_SIZE",
    "Judgement",
    "State",
    "encode",
    "judge",
    "new_version",
    "next_slot",
    "version_of",
]

#: The first four bytes of every session file.
MAGIC = b"SWSF"
#: The layout this release writes.
FORMAT_VERSION = 2
#: The layout of earlier releases, still read (and converted on update).
LEGACY_VERSION = 1

_PREAMBLE = struct.Struct(">4sB3x")
_SLOT_FIELDS = struct.Struct(">QdQQI")
_CRC = struct.Struct(">I")
_LEGACY = struct.Struct(">4sB3xdQ")
#: Bytes of one slot header.
SLOT_SIZE = _SLOT_FIELDS.size + _CRC.size
#: Bytes before the data area: the preamble and the two slot headers.
HEADER_SIZE = _PREAMBLE.size + 2 * SLOT_SIZE
_LEGACY_HEADER = _LEGACY.size

_EMPTY_SLOT = bytes(SLOT_SIZE)
# The whole header in one unpack: the read path's hot spot.
_HEADER = struct.Struct(">4sB3x" + "QdQQII" * 2)
_FIELDS_PER_SLOT = 6

#: ``read(offset, length)``: bytes of the file, possibly fewer at its end.
Reader = Callable[[int, int], bytes]


class State(enum.Enum):
    """What a file under a session's name holds, as far as this release can tell."""

    #: A complete session that has not expired.
    LIVE = "live"
    #: A complete session past its ``expires_at``.
    EXPIRED = "expired"
    #: Not a session this release can read: bad magic, a header cut short, no
    #: slot that verifies, a NaN expiry. Either corrupted, left by a crashed
    #: create, or a creation still in progress.
    BROKEN = "broken"
    #: Our magic with a newer version: written by a later release sharing the
    #: directory. Never served, never overwritten, never purged.
    NEWER = "newer"
    #: Not ours to read or touch: another owner, not a regular file, a link.
    FOREIGN = "foreign"


class Judgement(NamedTuple):
    """A file's state and, for a complete session, its current version."""

    state: State
    #: The current version's expiry; ``nan`` unless ``LIVE`` or ``EXPIRED``.
    expires_at: float = math.nan
    #: The current version's data when ``LIVE`` or ``EXPIRED``.
    data: bytes | None = None
    #: The format the file is written in (0 when not recognised).
    version: int = 0
    #: Format 2: the current slot's index, ``seq``, and where its data lies.
    slot: int = 0
    seq: int = 0
    start: int = HEADER_SIZE
    end: int = HEADER_SIZE
    #: Format 2: the file's generation (0 when written by an earlier release).
    generation: int = 0


_BROKEN = Judgement(State.BROKEN)


def _slot_header(seq: int, expires_at: float, offset: int, data: bytes, generation: int) -> bytes:
    fields = _SLOT_FIELDS.pack(seq, expires_at, offset, len(data), generation)
    return fields + _CRC.pack(zlib.crc32(data, zlib.crc32(fields)))


def encode(data: bytes, expires_at: float, generation: int = 0) -> bytes:
    """The whole content of a new file: ``data`` expiring at ``expires_at`` in slot 0.

    ``generation`` (32 bits) is drawn at random by the engine for every new file.
    """
    return (
        _PREAMBLE.pack(MAGIC, FORMAT_VERSION)
        + _slot_header(1, expires_at, HEADER_SIZE, data, generation)
        + _EMPTY_SLOT
        + data
    )


def version_of(judged: Judgement) -> int | bytes:
    """The version of a complete session: what ``load_versioned`` returns for it.

    Format 2: ``seq`` and the generation in one int (``seq`` in the low 64
    bits). Format 1 has no counter: a digest of its expiry and data, which
    changes whenever they do (and is never equal to an int).
    """
    if judged.version == LEGACY_VERSION:
        digest = hashlib.blake2b(struct.pack(">d", judged.expires_at), digest_size=16)
        digest.update(judged.data or b"")
        return digest.digest()
    return judged.seq | judged.generation << 64


def new_version(generation: int) -> int:
    """The version of a file ``encode`` just wrote with ``generation``."""
    return 1 | generation << 64


def next_slot(current: Judgement, data: bytes, expires_at: float) -> tuple[int, int, bytes, int]:
    """Where the version after ``current`` goes: ``(data offset, header offset, header, end)``.

    The data goes into the data area before the current slot's data if it
    fits there, else right after it, so the current version is never touched;
    ``end`` is where the file's useful bytes then stop (the engine cuts the
    rest). Write the data first, then the header.
    """
    other = 1 - current.slot
    offset = HEADER_SIZE if len(data) <= current.start - HEADER_SIZE else current.end
    header = _slot_header(current.seq + 1, expires_at, offset, data, current.generation)
    end = max(current.end, offset + len(data))
    return offset, _PREAMBLE.size + other * SLOT_SIZE, header, end


def judge(head: bytes, size: int, now: float, read: Reader) -> Judgement:
    """Judge a file of ``size`` bytes whose first bytes are ``head``.

    ``head`` holds at least the header when the file has one, possibly the
    whole file; ``read(offset, length)`` fetches what lies beyond it.
    """
    if len(head) < _PREAMBLE.size or size < _PREAMBLE.size:
        return _BROKEN
    magic, version = _PREAMBLE.unpack_from(head)
    if magic != MAGIC:
        return _BROKEN
    if version == FORMAT_VERSION:
        return _judge_slots(head, size, now, read)
    if version == LEGACY_VERSION:
        return _judge_legacy(head, size, now, read)
    if version > FORMAT_VERSION:
        return Judgement(State.NEWER, version=version)
    return _BROKEN


def _region(head: bytes, read: Reader, offset: int, length: int) -> bytes:
    if offset + length <= len(head):
        return head[offset : offset + length]
    return read(offset, length)


def _judge_slots(head: bytes, size: int, now: float, read: Reader) -> Judgement:
    if len(head) < HEADER_SIZE or size < HEADER_SIZE:
        return _BROKEN
    _, _, *slots = _HEADER.unpack_from(head)
    # The newest slot first; the older one only if the newest does not verify.
    order = (1, 0) if slots[_FIELDS_PER_SLOT] > slots[0] else (0, 1)
    for index in order:
        first = index * _FIELDS_PER_SLOT
        seq, expires_at, offset, length, generation, crc = slots[first : first + _FIELDS_PER_SLOT]
        if not seq or offset < HEADER_SIZE or offset + length > size:
            continue  # empty, or its data is not (or no longer) all in the file
        data = _region(head, read, offset, length)
        at = _PREAMBLE.size + index * SLOT_SIZE
        fields = head[at : at + _SLOT_FIELDS.size]
        if len(data) != length or zlib.crc32(data, zlib.crc32(fields)) != crc:
            continue  # cut short by a crash, or damaged
        if math.isnan(expires_at):
            return _BROKEN
        return Judgement(
            State.LIVE if expires_at > now else State.EXPIRED,
            expires_at,
            data,
            FORMAT_VERSION,
            index,
            seq,
            offset,
            offset + length,
            generation,
        )
    return _BROKEN


def _judge_legacy(head: bytes, size: int, now: float, read: Reader) -> Judgement:
    if len(head) < _LEGACY_HEADER or size < _LEGACY_HEADER:
        return _BROKEN
    _, _, expires_at, length = _LEGACY.unpack_from(head)
    if size != _LEGACY_HEADER + length or math.isnan(expires_at):
        return _BROKEN
    data = _region(head, read, _LEGACY_HEADER, length)
    if len(data) != length:
        return _BROKEN
    return Judgement(
        State.LIVE if expires_at > now else State.EXPIRED, expires_at, data, version=LEGACY_VERSION
    )
