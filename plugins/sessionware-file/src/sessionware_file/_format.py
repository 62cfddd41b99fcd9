"""The layout of one session file, and how a file's content is judged.

A session file is a fixed 24-byte header followed by the session bytes::

    offset  size  field
    0       4     magic        b"SWSF"
    4       1     version      1
    5       3     reserved     zero
    8       8     expires_at   IEEE-754 double, big-endian, POSIX seconds (UTC)
    16      8     length       unsigned, big-endian: how many data bytes follow
    24      n     data         the serializer's bytes, opaque to the engine

The expiry lives in the file because the modification time cannot carry it:
an update may set any expiry, and a file copied or touched would change it.
``length`` makes a file that is still being written, or was cut short by a
crash, recognisable: its size does not match, so it is never served.

Nothing here does I/O; the engine reads and writes, this module judges.
"""

from __future__ import annotations

import enum
import math
import struct

__all__ = ["FORMAT_VERSION", "HEADER_SIZE", "MAGIC", "State", "classify", "encode", "live_data"]

#: The first four bytes of every session file.
MAGIC = b"SWSF"
#: The layout this release reads and writes.
FORMAT_VERSION = 1

_HEADER = struct.Struct(">4sB3xdQ")
#: Bytes before the session data.
HEADER_SIZE = _HEADER.size


class State(enum.Enum):
    """What a file under a session's name holds, as far as this release can tell."""

    #: A complete session that has not expired.
    LIVE = "live"
    #: A complete session past its ``expires_at``.
    EXPIRED = "expired"
    #: Not a session this release wrote completely: bad magic, a header cut
    #: short, a size that does not match ``length``, a NaN expiry. Either
    #: corrupted, left by a crashed writer, or a creation still in progress.
    BROKEN = "broken"
    #: Our magic with a newer version: written by a later release sharing the
    #: directory. Never served, never overwritten, never purged.
    NEWER = "newer"
    #: Not ours to read or touch: another owner, not a regular file, a link.
    FOREIGN = "foreign"


def encode(data: bytes, expires_at: float) -> bytes:
    """The whole file content for ``data`` expiring at ``expires_at``."""
    return _HEADER.pack(MAGIC, FORMAT_VERSION, expires_at, len(data)) + data


def live_data(content: bytes, now: float) -> bytes | None:
    """The data of a whole file's ``content`` if it is a complete, unexpired session.

    The read path's shortcut for ``classify(...) is State.LIVE``: the same
    rules, without building a state.
    """
    if len(content) < HEADER_SIZE:
        return None
    magic, version, expires_at, length = _HEADER.unpack_from(content)
    # A NaN expiry fails "> now" like an expired one.
    if (
        magic == MAGIC
        and version == FORMAT_VERSION
        and length == len(content) - HEADER_SIZE
        and expires_at > now
    ):
        return content[HEADER_SIZE:]
    return None


def classify(head: bytes, size: int, now: float) -> tuple[State, float]:
    """Judge a file from its first bytes and its size; return its state and expiry.

    ``head`` holds at least the header when the file has one (it may hold the
    whole file); ``size`` is the file's size. The expiry is ``nan`` unless the
    state is ``LIVE`` or ``EXPIRED``.
    """
    if len(head) < HEADER_SIZE or size < HEADER_SIZE:
        return State.BROKEN, math.nan
    magic, version, expires_at, length = _HEADER.unpack_from(head)
    if magic != MAGIC:
        return State.BROKEN, math.nan
    if version != FORMAT_VERSION:
        return (State.NEWER if version > FORMAT_VERSION else State.BROKEN), math.nan
    if size != HEADER_SIZE + length or math.isnan(expires_at):
        return State.BROKEN, math.nan
    return (State.LIVE if expires_at > now else State.EXPIRED), expires_at
