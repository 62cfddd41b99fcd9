"""The session directory's files, as the file engine handles them: everything but the operations.

``SessionFiles`` is the file engine's base class. It owns what every
operation needs to touch a file safely: the file names (``<prefix><key>``,
shown in messages without the key), opening without following links or
hanging on a FIFO, trusting only regular files of this user, the per-session
``flock`` that holds only while the path still names the locked inode,
writing whole, replacing a file by rename, syncing the directory, and the
mapping of OS errors to ``EngineUnavailable``. The
operations live in ``_engine``, the directory walks in ``_purge``, the file
layout in ``_format``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import stat

from sessionware import EngineBase, EngineUnavailable

from ._format import Judgement, State, judge

__all__ = [
    "ATTEMPTS",
    "CREATE",
    "FILE_MODE",
    "FIRST_READ",
    "READ",
    "REWRITE",
    "ForeignFile",
    "SessionFiles",
    "pwrite_all",
    "read_all",
    "write_all",
]

security_log = logging.getLogger("sessionware.security")

#: Permissions of every session and temporary file: read and write for the owner only.
FILE_MODE = 0o600

# O_NOFOLLOW: a symlink planted under a session's name is never followed.
# O_NONBLOCK: a FIFO planted there cannot hang the open (no effect on files).
READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# An update opens the session file for reading and writing: it judges it, then writes a slot.
REWRITE = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
# The first read of a file: its header and, for the sessions of nearly every
# application, both slots, in one system call. A larger slot is read on its own.
FIRST_READ = 65536
# How many times a writer starts again because the file it locked was replaced
# meanwhile; each restart means another writer finished, so this is never
# reached in practice.
ATTEMPTS = 1000

_HINTS = {
    errno.ENOSPC: "; free some disk space",
    errno.EDQUOT: "; the disk quota is exhausted",
    errno.EROFS: "; the file system is mounted read-only",
    errno.EACCES: (
        "; every process sharing the directory must run as the same user, with write access"
    ),
    errno.EMFILE: "; the process ran out of file descriptors (raise ulimit -n)",
}


class ForeignFile(Exception):
    """The session's name holds something this engine did not write (a link, another owner)."""


def read_all(fd: int, size: int) -> bytes:
    """Up to ``size`` bytes from ``fd``'s position: fewer only at the end of the file."""
    parts = []
    got = 0
    while got < size:
        chunk = os.read(fd, size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def pwrite_all(fd: int, content: bytes, offset: int) -> None:
    """All of ``content`` at ``offset``, however many calls a short write takes."""
    written = os.pwrite(fd, content, offset)
    if written < len(content):
        view = memoryview(content)
        while written < len(content):
            written += os.pwrite(fd, view[written:], offset + written)


def write_all(fd: int, content: bytes) -> None:
    """All of ``content`` at ``fd``'s position, however many calls a short write takes."""
    written = os.write(fd, content)
    if written < len(content):
        view = memoryview(content)
        while written < len(content):
            written += os.write(fd, view[written:])


class SessionFiles(EngineBase):
    """The files of one session directory; the file engine's base class.

    The subclass sets the attributes below in its ``__init__``. Every method
    takes a path built by ``self._base + key`` from a key already checked
    with ``is_valid_key``.
    """

    #: The session directory, absolute.
    path: str
    #: Start of every session file name.
    prefix: str
    #: Whether writes are flushed to disk before they return.
    fsync: bool
    #: ``<path>/<prefix>``: a session's file is this plus its key.
    _base: str
    #: ``<path>/.<prefix>``: where temporary files start.
    _tmp_base: str
    #: The names of temporary files (``.<prefix><key>.<12 hex>.tmp``).
    _temp_name: re.Pattern[str]

    # -- opening and trusting ----------------------------------------------------

    def _open_to_read(self, path: str) -> int | None:
        try:
            return os.open(path, READ)
        except FileNotFoundError as exc:
            self._check_directory(exc)
            return None
        except OSError as exc:
            if self._names_foreign_file(path, exc):
                return None
            raise self._unavailable(f"cannot open {self._display(path)}", exc) from exc

    def _check_directory(self, exc: FileNotFoundError) -> None:
        """A missing file means "no such session" only while the directory itself exists.

        Without the directory (an unmounted volume, a cleaned-up temp dir) every
        session would read as absent and every log-out as done: that is an outage.
        """
        if not os.path.isdir(self.path):
            raise self._unavailable("the session directory is gone", exc) from exc

    def _names_foreign_file(self, path: str, exc: OSError) -> bool:
        """Whether ``exc`` from opening ``path`` means "not ours" rather than "broken storage"."""
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            security_log.warning(
                "ignoring %s: not a regular file (%s); session files are never links, "
                "directories or devices",
                self._display(path),
                exc.strerror,
            )
            return True
        if exc.errno in (errno.EACCES, errno.EPERM):
            try:
                info = os.lstat(path)
            except OSError:
                return False
            return not self._owned(info, path)
        return False

    def _owned(self, info: os.stat_result, path: str) -> bool:
        """Only regular files written by this process's user are trusted."""
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid():
            return True
        security_log.warning(
            "ignoring %s: %s; session files are trusted only when they are regular files "
            "owned by the application's user (uid %d)",
            self._display(path),
            "not a regular file"
            if not stat.S_ISREG(info.st_mode)
            else f"owned by uid {info.st_uid}",
            os.geteuid(),
        )
        return False

    def _state(self, fd: int, info: os.stat_result, now: float, path: str) -> Judgement:
        if not self._owned(info, path):
            return Judgement(State.FOREIGN)
        head = os.pread(fd, min(info.st_size, FIRST_READ), 0)
        return self._judge(fd, head, info.st_size, now)

    @staticmethod
    def _judge(fd: int, head: bytes, size: int, now: float) -> Judgement:
        """Judge the file ``fd`` of ``size`` bytes from its first bytes ``head``."""
        if len(head) < min(size, FIRST_READ):
            # Shorter than fstat said: changed behind our lock by another program.
            return Judgement(State.BROKEN)
        return judge(head, size, now, lambda offset, length: os.pread(fd, length, offset))

    # -- the lock ------------------------------------------------------------------

    def _lock(self, path: str, flags: int = READ) -> tuple[int, os.stat_result] | None:
        """Open (with ``flags``) and ``flock`` the file at ``path``; ``None`` if there is none.

        Returns only once the locked inode is still the one at ``path``: if
        another writer replaced or removed it while we waited, start again.
        The lock is released when the returned descriptor is closed.
        """
        for _ in range(ATTEMPTS):
            try:
                fd = os.open(path, flags)
            except FileNotFoundError as exc:
                self._check_directory(exc)
                return None
            except OSError as exc:
                if self._names_foreign_file(path, exc):
                    raise ForeignFile(path) from exc
                raise
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                info = os.fstat(fd)
                try:
                    current = os.stat(path, follow_symlinks=False)
                except FileNotFoundError:
                    current = None
            except BaseException:
                os.close(fd)
                raise
            if current is not None and (current.st_ino, current.st_dev) == (
                info.st_ino,
                info.st_dev,
            ):
                return fd, info
            os.close(fd)
            if current is None:
                return None
        raise self._busy(path)

    # -- replacing and syncing ---------------------------------------------------

    def _write_replace(self, key: str, path: str, content: bytes) -> None:
        """Write ``content`` to a temporary file beside ``path`` and rename it over ``path``."""
        temp = f"{self._tmp_base}{key}.{os.urandom(6).hex()}.tmp"
        fd = os.open(temp, CREATE, FILE_MODE)
        try:
            try:
                write_all(fd, content)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def _is_current(self, fd: int, path: str) -> bool:
        info = os.fstat(fd)
        try:
            current = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return (current.st_ino, current.st_dev) == (info.st_ino, info.st_dev)

    def _sync_directory(self) -> None:
        if not self.fsync:
            return
        fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- messages ----------------------------------------------------------------

    def _shown(self, key: str) -> str:
        # Never the whole key: a session key in a log or an error is a credential.
        return f"{self._base}{key[:6]}..."

    def _display(self, path: str) -> str:
        return self._shown(path[len(self._base) :])

    def _taken(self, key: str, how: str) -> str:
        return f"the session file {self._shown(key)} is already taken {how}"

    def _gone(self, key: str) -> str:
        return (
            f"session {self._shown(key)} no longer exists (deleted, expired or unreadable); "
            "it is not recreated"
        )

    def _unavailable(self, what: str, exc: OSError) -> EngineUnavailable:
        reason = exc.strerror or str(exc)
        return EngineUnavailable(
            f"file engine: {what}: {reason}{_HINTS.get(exc.errno or 0, '')}", address=self.path
        )

    def _busy(self, path: str) -> EngineUnavailable:
        return EngineUnavailable(
            f"file engine: {self._display(path)} was replaced {ATTEMPTS} "
            "times while this process waited for its lock; retry",
            address=self.path,
        )
