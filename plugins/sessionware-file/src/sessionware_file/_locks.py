"""Session locks of the file engine: a ``flock`` on ``<prefix><key>.lock``, never waited for.

``session.lock()`` asks the engine to try once (``acquire_lock``) and polls
itself, so every call here uses ``LOCK_NB`` and returns at once.

How a lock is held. The holder opens ``<prefix><key>.lock`` (created on first
use, mode ``0o600``, never the session file, whose own ``flock`` every save
takes), takes ``flock(LOCK_EX | LOCK_NB)`` on it and keeps the descriptor
open, in ``LockTable``, under a random token, until ``release_lock``
with that token. The kernel drops the ``flock`` when the holder's process
dies, however it dies: a crashed holder never blocks the session.

The lease. The holder also writes when it took the lock and until when
(``taken_at + ttl``) into the lock file (``LEASE``). A holder that is
alive but hung keeps its ``flock``; once its recorded lease is past, another
acquirer *breaks* it: it unlinks the lock file and locks a new one under the
same name. The hung holder is left with a lock on a file nobody sees, and
its ``release_lock`` touches only that file. Breaking and the writing of a
lease happen under a ``flock`` on the session directory (exclusive to break,
shared to take a lease, both ``LOCK_NB``), so a breaker can never unlink the
file of a holder that has just taken it, nor two breakers each think they
own the session. A release clears the lease before it unlocks, so a lock
file that is free, or held only for the microseconds between a ``flock`` and
its lease, is never broken.

Forks. A forked child shares the parent's open file descriptions, and with
them the parent's ``flock``s. ``forget_inherited`` (the engine's
``after_fork_in_child``) closes the child's copies without unlocking them —
an ``LOCK_UN`` would release the parent's lock — and forgets their tokens,
so the child never believes it holds the parent's locks; a release in the
parent unlocks explicitly (``LOCK_UN``), whatever copies survive elsewhere.

Lock files are left in place on release (unlinking a lock file on release
races with its next acquirer); ``clear_expired`` removes those nobody holds
and nobody used for ``STALE_AFTER`` seconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import secrets
import stat
import struct
import threading
from collections.abc import Iterator

from ._files import FILE_MODE, ForeignFile, SessionFiles

__all__ = ["LEASE", "LOCK_SUFFIX", "LockTable", "purge_stale_lock"]

logger = logging.getLogger("sessionware.file")

#: A lock file's name is the session file's plus this.
LOCK_SUFFIX = ".lock"
#: The lease record at the start of a lock file: magic, version, taken_at,
#: expires_at (POSIX seconds). All zero: no lease (released, or never taken).
LEASE = struct.Struct(">4sB3xdd")
_LEASE_MAGIC = b"SWSL"
_LEASE_VERSION = 1
_NO_LEASE = bytes(LEASE.size)
# Read and written in place; created on first use; never follows a link or hangs on a FIFO.
_OPEN = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
# How many times an acquire starts again because its lock file was broken or
# purged between its open and its flock: each restart means the file changed.
_ATTEMPTS = 8


class LockTable:
    """The locks one engine holds: token -> (key, descriptor of the locked file)."""

    def __init__(self, files: SessionFiles) -> None:
        self._files = files
        self._held: dict[str, tuple[str, int]] = {}
        self._mutex = threading.Lock()

    # -- acquire ---------------------------------------------------------------------

    def acquire(self, key: str, ttl: float) -> str | None:
        """A new token if the lock on ``key`` was free or its lease has expired, else ``None``."""
        files = self._files
        files.check_key(key)
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        if not math.isfinite(ttl):
            raise ValueError(f"ttl must be finite, got {ttl!r}")
        path = files._base + key + LOCK_SUFFIX
        try:
            for _ in range(_ATTEMPTS):
                try:
                    fd = self._open(path)
                except ForeignFile:
                    return None
                token: str | None = None
                try:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        if self._break_expired(fd, path):
                            continue  # the old lock file is gone: lock a new one
                        return None
                    with _directory_lock(files.path, fcntl.LOCK_SH) as guarded:
                        if not guarded:
                            return None  # a lease is being broken right now: poll again
                        if not files._is_current(fd, path):
                            continue  # broken or purged between our open and our flock
                        now = files.now()
                        os.pwrite(fd, LEASE.pack(_LEASE_MAGIC, _LEASE_VERSION, now, now + ttl), 0)
                    token = secrets.token_hex(16)
                    with self._mutex:
                        self._held[token] = (key, fd)
                    return token
                finally:
                    if token is None:
                        os.close(fd)  # drops the flock, if we took it
            return None
        except OSError as exc:
            raise files._unavailable(f"cannot lock {files._shown(key)}", exc) from exc

    def _open(self, path: str) -> int:
        files = self._files
        try:
            fd = os.open(path, _OPEN, FILE_MODE)
        except FileNotFoundError as exc:
            files._check_directory(exc)
            raise
        except OSError as exc:
            if files._names_foreign_file(path, exc):
                raise ForeignFile(path) from exc
            raise
        if not files._owned(os.fstat(fd), path):
            os.close(fd)
            raise ForeignFile(path)
        return fd

    def _break_expired(self, fd: int, path: str) -> bool:
        """Unlink the lock file ``fd`` if its holder's lease is past; True when it was."""
        files = self._files
        if not _expired(fd, files.now()):
            return False
        with _directory_lock(files.path, fcntl.LOCK_EX) as guarded:
            if not guarded:
                return False  # another acquirer is taking a lease or breaking this one
            if not files._is_current(fd, path):
                return True  # someone else broke it first: try the new file
            lease = _lease(fd)
            if lease is None:
                return True  # released meanwhile: try again, it is probably free
            taken_at, expires_at = lease
            if expires_at > files.now():
                return False  # taken again, by a live holder
            os.unlink(path)
        logger.warning(
            "broke the lock of session %s: its holder took it at %.3f and its lease ran out "
            "at %.3f but it still holds the file (hung?)",
            files._display(path[: -len(LOCK_SUFFIX)]),
            taken_at,
            expires_at,
        )
        return True

    # -- release -----------------------------------------------------------------------

    def release(self, key: str, token: str) -> None:
        """Release ``key``'s lock if ``token`` (of this engine) holds it; otherwise nothing."""
        with self._mutex:
            held = self._held.get(token)
            if held is None or held[0] != key:
                return
            del self._held[token]
        _unlock(held[1])

    def release_all(self) -> None:
        """Release every lock this engine holds (``close``)."""
        with self._mutex:
            held, self._held = self._held, {}
        for _, fd in held.values():
            _unlock(fd)

    def forget_inherited(self) -> None:
        """In a forked child: close the parent's lock descriptors without unlocking them."""
        held, self._held = self._held, {}
        self._mutex = threading.Lock()
        for _, fd in held.values():
            with contextlib.suppress(OSError):
                os.close(fd)

    def __len__(self) -> int:
        return len(self._held)


def _unlock(fd: int) -> None:
    # The lease is cleared first, so the file is never seen held with an expired
    # lease after its holder let go. If the lease was broken, this file is no
    # longer the session's: clearing and unlocking it changes nothing for the new holder.
    try:
        with contextlib.suppress(OSError):
            os.pwrite(fd, _NO_LEASE, 0)
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)  # even if a forked child still has a copy
    finally:
        os.close(fd)


def _lease(fd: int) -> tuple[float, float] | None:
    """``(taken_at, expires_at)`` recorded in the lock file ``fd``; ``None`` without a lease."""
    raw = os.pread(fd, LEASE.size, 0)
    if len(raw) < LEASE.size:
        return None
    magic, version, taken_at, expires_at = LEASE.unpack(raw)
    if magic != _LEASE_MAGIC or version != _LEASE_VERSION or math.isnan(expires_at):
        return None
    return taken_at, expires_at


def _expired(fd: int, now: float) -> bool:
    lease = _lease(fd)
    return lease is not None and lease[1] <= now


@contextlib.contextmanager
def _directory_lock(directory: str, kind: int) -> Iterator[bool]:
    """``flock(kind | LOCK_NB)`` on the session directory: yields whether it was taken.

    A descriptor of its own each time: two threads sharing one would share its lock.
    """
    fd = os.open(directory, _DIRECTORY)
    try:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)


def purge_stale_lock(files: SessionFiles, path: str, stale_before: float) -> None:
    """Remove the lock file ``path`` if nobody holds it and nobody used it since ``stale_before``.

    Its lock is taken (``LOCK_NB``) and the directory's, then the name is
    checked to still be this file: an acquirer that opened it before the
    unlink finds it gone after its own ``flock`` and starts again.
    """
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_mtime >= stale_before:
            return
        fd = os.open(path, _OPEN & ~os.O_CREAT)
    except FileNotFoundError:
        return
    try:
        if not files._owned(os.fstat(fd), path):
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # held
        with _directory_lock(files.path, fcntl.LOCK_EX) as guarded:
            if guarded and files._is_current(fd, path) and os.fstat(fd).st_mtime < stale_before:
                os.unlink(path)
    finally:
        os.close(fd)
