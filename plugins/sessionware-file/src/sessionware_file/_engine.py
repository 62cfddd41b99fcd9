"""FileEngine: one file per session in a directory, on one machine.

What lives here: the five engine operations, the per-session lock that makes
"check, then write" atomic across threads and processes, and the mapping of
OS errors to sessionware errors. The file layout and how a file is judged
live in ``_format``, option checks in ``_options``.

Concurrency, in one paragraph. Every writer (create, update, delete, the
purge) takes ``flock(LOCK_EX)`` on the session file it is about to judge,
then checks that the path still names the inode it locked (a writer that
renamed a new file over it, or unlinked it, while we waited, leaves us
holding a lock on a file nobody sees) and starts again if not. The check of
the old file and the write, or the unlink, then happen under one lock: a
delete cannot slip between an update's "it still exists" and its write, so a
deleted session is never resurrected. An update writes the new version into
the file's other slot (see ``_format``), never over the current one, and
only then the header that makes it current: a writer killed at any instant
leaves the old version or the new one. It does so in place, because renaming
over an existing file is slow on ext4. Readers (``load``, ``exists``) take
``flock(LOCK_SH)``, so they never see a write in progress.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import stat
import tempfile
from collections.abc import Callable
from typing import ClassVar

from sessionware import (
    Capabilities,
    CreateError,
    EngineBase,
    EngineUnavailable,
    UpdateError,
)

from ._format import (
    FORMAT_VERSION,
    SLOT_SIZE,
    Judgement,
    State,
    encode,
    judge,
    next_slot,
)
from ._options import check_directory, check_prefix, checks

__all__ = ["FILE_MODE", "STALE_AFTER", "FileEngine"]

logger = logging.getLogger("sessionware.file")
security_log = logging.getLogger("sessionware.security")

#: Permissions of every session and temporary file: read and write for the owner only.
FILE_MODE = 0o600
#: Seconds after which ``clear_expired`` removes a crashed writer's temporary
#: file or a session file too broken to read.
STALE_AFTER = 3600.0

# O_NOFOLLOW: a symlink planted under a session's name is never followed.
# O_NONBLOCK: a FIFO planted there cannot hang the open (no effect on files).
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# An update opens the session file for reading and writing: it judges it, then writes a slot.
_REWRITE = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
# The first read of a file: its header and, for the sessions of nearly every
# application, both slots, in one system call. A larger slot is read on its own.
_FIRST_READ = 65536
# How many times a writer starts again because the file it locked was replaced
# meanwhile; each restart means another writer finished, so this is never
# reached in practice.
_ATTEMPTS = 1000
_PROGRESS_EVERY = 256

_HINTS = {
    errno.ENOSPC: "; free some disk space",
    errno.EDQUOT: "; the disk quota is exhausted",
    errno.EROFS: "; the file system is mounted read-only",
    errno.EACCES: (
        "; every process sharing the directory must run as the same user, with write access"
    ),
    errno.EMFILE: "; the process ran out of file descriptors (raise ulimit -n)",
}


class _ForeignFile(Exception):
    """The session's name holds something this engine did not write (a link, another owner)."""


def _read_all(fd: int, size: int) -> bytes:
    parts = []
    got = 0
    while got < size:
        chunk = os.read(fd, size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _pwrite_all(fd: int, content: bytes, offset: int) -> None:
    written = os.pwrite(fd, content, offset)
    if written < len(content):
        view = memoryview(content)
        while written < len(content):
            written += os.pwrite(fd, view[written:], offset + written)


def _write_all(fd: int, content: bytes) -> None:
    written = os.write(fd, content)
    if written < len(content):
        view = memoryview(content)
        while written < len(content):
            written += os.write(fd, view[written:])


class FileEngine(EngineBase):
    """Sessions as files in one directory: any number of threads and processes of one machine.

    Options (keyword arguments; ``get_engine("file", ...)`` or the engine
    options of :class:`~sessionware.SessionConfig`):

    ``path`` (the system temporary directory, ``tempfile.gettempdir()``)
        The directory holding the session files. It must exist and be
        writable at construction; resolved to an absolute path. Use a
        directory only the application's user can read (``chmod 700``): file
        names carry the session keys.
    ``prefix`` (``"sessionware-"``)
        Start of every session file name (``<prefix><key>``): letters,
        digits, ``-``, ``_``, ``.``, ending with ``-``, ``_`` or ``.``.
        Sites sharing a directory use different prefixes.
    ``fsync`` (``False``)
        Every create and update is flushed to disk (``fsync``) before it
        returns, and the directory after every create and delete, so a power
        cut loses no acknowledged write. Without it, a crash of the process
        at any instant still leaves each session's old version or its new
        one; a power cut may lose the last seconds of writes. Writes cost a
        disk flush each (about half a millisecond here, far more on a
        spinning disk).

    Files are created with mode ``0o600``; files owned by another user, links
    and anything but regular files under a session's name are ignored (and
    logged to ``sessionware.security``). An invalid option, a missing
    directory or one this process cannot write raises
    :class:`~sessionware.ConfigurationError` naming the option.
    """

    name: ClassVar[str] = "file"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_side=True,
        clear_expired=True,
        native_async=False,
        shared_across_processes=True,
        local=True,
    )

    def __init__(
        self,
        *,
        path: str | os.PathLike[str] | None = None,
        prefix: str = "sessionware-",
        fsync: bool = False,
    ) -> None:
        self.prefix = check_prefix(prefix)
        self.fsync = checks.boolean("fsync", fsync)
        self.path = check_directory(tempfile.gettempdir() if path is None else path, prefix)
        self._base = os.path.join(self.path, self.prefix)
        self._tmp_base = os.path.join(self.path, "." + self.prefix)
        self._temp_name = re.compile(
            re.escape("." + prefix) + r"[a-z0-9]{32,128}\.[0-9a-f]{12}\.tmp"
        )

    # -- reading (no lock) -------------------------------------------------------

    def load(self, key: str) -> bytes | None:
        """The bytes stored under ``key``; ``None`` if missing, expired, unreadable or invalid."""
        if not self.is_valid_key(key):
            return None
        path = self._base + key
        fd = self._open_to_read(path)
        if fd is None:
            return None
        try:
            # Shared: excludes a writer of this file, not other readers.
            fcntl.flock(fd, fcntl.LOCK_SH)
            info = os.fstat(fd)
            if not self._owned(info, path):
                return None
            head = _read_all(fd, min(info.st_size, _FIRST_READ))
            found = self._judge(fd, head, info.st_size, self.now())
        except OSError as exc:
            raise self._unavailable(f"cannot read {self._shown(key)}", exc) from exc
        finally:
            os.close(fd)
        return found.data if found.state is State.LIVE else None

    def exists(self, key: str) -> bool:
        """True when :meth:`load` would return data for ``key``.

        Reads the whole file, as ``load`` does: session files are small, and
        one definition of "exists" cannot disagree with the other.
        """
        return self.load(key) is not None

    def _open_to_read(self, path: str) -> int | None:
        try:
            return os.open(path, _READ)
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
        head = os.pread(fd, min(info.st_size, _FIRST_READ), 0)
        return self._judge(fd, head, info.st_size, now)

    @staticmethod
    def _judge(fd: int, head: bytes, size: int, now: float) -> Judgement:
        """Judge the file ``fd`` of ``size`` bytes from its first bytes ``head``."""
        if len(head) < min(size, _FIRST_READ):
            # Shorter than fstat said: changed behind our lock by another program.
            return Judgement(State.BROKEN)
        return judge(head, size, now, lambda offset, length: os.pread(fd, length, offset))

    # -- the lock ------------------------------------------------------------------

    def _lock(self, path: str, flags: int = _READ) -> tuple[int, os.stat_result] | None:
        """Open (with ``flags``) and ``flock`` the file at ``path``; ``None`` if there is none.

        Returns only once the locked inode is still the one at ``path``: if
        another writer replaced or removed it while we waited, start again.
        The lock is released when the returned descriptor is closed.
        """
        for _ in range(_ATTEMPTS):
            try:
                fd = os.open(path, flags)
            except FileNotFoundError as exc:
                self._check_directory(exc)
                return None
            except OSError as exc:
                if self._names_foreign_file(path, exc):
                    raise _ForeignFile(path) from exc
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

    # -- writing (under the lock) --------------------------------------------------

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """Create (``must_create``) or update the file for ``key``; return ``key``.

        Raises :class:`~sessionware.CreateError` when creating over an
        unexpired session and :class:`~sessionware.UpdateError` when updating
        one that was deleted, has expired or can no longer be read.
        """
        self.check_key(key)
        if type(data) is not bytes:
            data = bytes(data)
        expires_at = float(expires_at)
        path = self._base + key
        try:
            if must_create:
                self._create(key, path, encode(data, expires_at))
            else:
                self._update(key, path, data, expires_at)
        except OSError as exc:
            raise self._unavailable(f"cannot write {self._shown(key)}", exc) from exc
        return key

    def _create(self, key: str, path: str, content: bytes) -> None:
        for _ in range(_ATTEMPTS):
            try:
                fd = os.open(path, _CREATE, FILE_MODE)
            except FileExistsError:
                if self._replace_dead(key, path, content):
                    return
                continue  # it vanished before we could lock it: try O_EXCL again
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                # Between O_EXCL and flock another creator may have judged the
                # empty file dead and renamed its own over it: then it won.
                current = self._is_current(fd, path)
                if current:
                    try:
                        _write_all(fd, content)
                        if self.fsync:
                            os.fsync(fd)
                    except BaseException:
                        with contextlib.suppress(OSError):
                            os.unlink(path)  # still ours: we hold its lock
                        raise
            finally:
                os.close(fd)
            if current:
                self._sync_directory()
                return
        raise self._busy(path)

    def _replace_dead(self, key: str, path: str, content: bytes) -> bool:
        """Replace an expired or broken file under ``key``; ``False`` if it vanished."""
        try:
            locked = self._lock(path)
        except _ForeignFile:
            raise CreateError(self._taken(key, "by something that is not a session file")) from None
        if locked is None:
            return False
        fd, info = locked
        try:
            state = self._state(fd, info, self.now(), path).state
            if state is State.LIVE:
                raise CreateError(self._taken(key, "by an unexpired session"))
            if state in (State.NEWER, State.FOREIGN):
                raise CreateError(self._taken(key, f"by a {state.value} file it will not replace"))
            # EXPIRED or BROKEN: no session lives here, as load() agrees.
            self._write_replace(key, path, content)
        finally:
            os.close(fd)
        self._sync_directory()
        return True

    def _update(self, key: str, path: str, data: bytes, expires_at: float) -> None:
        try:
            locked = self._lock(path, _REWRITE)
        except _ForeignFile:
            locked = None
        if locked is None:
            raise UpdateError(self._gone(key))
        fd, info = locked
        renamed = False
        try:
            current = self._state(fd, info, self.now(), path)
            if current.state is not State.LIVE:
                raise UpdateError(self._gone(key))
            if current.version == FORMAT_VERSION:
                self._write_slot(fd, info.st_size, current, data, expires_at)
            else:
                # A file of the previous format has no second slot: replaced whole, once.
                self._write_replace(key, path, encode(data, expires_at))
                renamed = True
        finally:
            os.close(fd)
        if renamed:
            self._sync_directory()

    def _write_slot(
        self, fd: int, size: int, current: Judgement, data: bytes, expires_at: float
    ) -> None:
        """Write the next version of the locked session file ``fd`` beside ``current``.

        The data first, where it overlaps no byte of the current version, then
        the other slot's header, which makes it current. A writer killed
        anywhere leaves a slot that does not verify, so loads keep returning
        the current version; once the header is written, the new one. Renaming
        a new file over the session would cost hundreds of microseconds on
        ext4 (``auto_da_alloc`` starts writing the new data back), many times
        these two ``pwrite`` calls.
        """
        offset, at, header, end = next_slot(current, data, expires_at)
        try:
            _pwrite_all(fd, data, offset)
            _pwrite_all(fd, header, at)
            if self.fsync:
                os.fsync(fd)
        except BaseException:
            # The current version was not touched. Empty the slot that may be
            # half written (a later update would overwrite it anyway) and give
            # back the space it took, so the failed save is plainly not there.
            with contextlib.suppress(OSError):
                _pwrite_all(fd, bytes(SLOT_SIZE), at)
                if offset + len(data) > size:
                    os.ftruncate(fd, size)
            raise
        if end < size:
            # What lies past ``end`` belonged to the version before the current
            # one. The save has succeeded: failing to cut it only wastes space.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, end)

    def _write_replace(self, key: str, path: str, content: bytes) -> None:
        """Write ``content`` to a temporary file beside ``path`` and rename it over ``path``."""
        temp = f"{self._tmp_base}{key}.{os.urandom(6).hex()}.tmp"
        fd = os.open(temp, _CREATE, FILE_MODE)
        try:
            try:
                _write_all(fd, content)
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

    def delete(self, key: str) -> None:
        """Remove the file for ``key``; nothing happens if there is none.

        Files this engine would not have written (another owner, a link) are
        left alone.
        """
        if not self.is_valid_key(key):
            return
        path = self._base + key
        try:
            try:
                locked = self._lock(path)
            except _ForeignFile:
                return
            if locked is None:
                return
            fd, info = locked
            try:
                if not self._owned(info, path):
                    return
                with contextlib.suppress(FileNotFoundError):  # removed by hand meanwhile
                    os.unlink(path)
            finally:
                os.close(fd)
            self._sync_directory()
        except OSError as exc:
            raise self._unavailable(f"cannot delete {self._shown(key)}", exc) from exc

    # -- health and counts (used by the CLI) -------------------------------------------

    def health(self) -> None:
        """The session directory exists, is a directory, and this process may create files in it."""
        try:
            info = os.stat(self.path)
        except OSError as exc:
            raise self._unavailable(
                f"the session directory {self.path} cannot be reached", exc
            ) from exc
        if not stat.S_ISDIR(info.st_mode):
            raise EngineUnavailable(
                f"file engine: {self.path} is no longer a directory; recreate the session "
                "directory or point the 'path' option elsewhere",
                address=self.path,
            )
        if not os.access(self.path, os.W_OK | os.X_OK):  # EROFS is reported even to root
            raise EngineUnavailable(
                f"file engine: this process (uid {os.geteuid()}) cannot create files in "
                f"{self.path} (or its file system is read-only); sessions could never be saved",
                address=self.path,
            )

    def count_expired(self) -> int:
        """How many session files hold an expired session: one ``os.scandir`` pass, no lock."""
        now, prefix, expired = self.now(), self.prefix, 0
        try:
            with os.scandir(self.path) as entries:
                for entry in entries:
                    name = entry.name
                    if not name.startswith(prefix) or not self.is_valid_key(name[len(prefix) :]):
                        continue
                    fd = self._open_to_read(entry.path)
                    if fd is None:
                        continue
                    try:
                        judged = self._state(fd, os.fstat(fd), now, entry.path)
                    finally:
                        os.close(fd)
                    if judged.state is State.EXPIRED:
                        expired += 1
        except OSError as exc:
            raise self._unavailable(f"cannot scan {self.path}", exc) from exc
        return expired

    # -- the purge -----------------------------------------------------------------

    def clear_expired(self, progress: Callable[[int], None] | None = None) -> int:
        """Remove expired session files; return how many.

        Scans the directory with :func:`os.scandir`, looking only at names
        ``<prefix><valid key>``. A file that looks expired is locked and
        judged again before it is unlinked, so a session renewed meanwhile
        stays; files replaced or removed during the scan are skipped. Files
        too broken to read, and temporary files of crashed writers, are
        removed once older than :data:`STALE_AFTER` seconds (not counted).
        ``progress``, if given, is called with the running count every 256
        files scanned and at the end (so Ctrl-C in the CLI is honoured during a
        long scan of live sessions too). The cutoff is fixed when the scan starts.
        """
        cutoff = self.now()
        stale_before = cutoff - STALE_AFTER
        removed = scanned = 0
        prefix = self.prefix
        try:
            with os.scandir(self.path) as entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith(prefix):
                        key = name[len(prefix) :]
                        if self.is_valid_key(key) and self._purge(key, cutoff, stale_before):
                            removed += 1
                        scanned += 1
                        if progress is not None and scanned % _PROGRESS_EVERY == 0:
                            progress(removed)
                    elif name.startswith(".") and self._temp_name.fullmatch(name):
                        self._purge_temp(entry.path, stale_before)
        except OSError as exc:
            raise self._unavailable(f"cannot scan {self.path}", exc) from exc
        if removed and self.fsync:
            self._sync_directory()
        if progress is not None:
            progress(removed)
        return removed

    def _purge(self, key: str, cutoff: float, stale_before: float) -> bool:
        """Remove ``key``'s file if expired (True) or broken and stale (False)."""
        path = self._base + key
        try:
            # A first look without the lock: live sessions, the common case,
            # cost no lock at all.
            fd = self._open_to_read(path)
            if fd is None:
                return False
            try:
                info = os.fstat(fd)
                state = self._state(fd, info, cutoff, path).state
            finally:
                os.close(fd)
            if not self._purgeable(state, info, stale_before):
                return False
            try:
                locked = self._lock(path)
            except _ForeignFile:
                return False
            if locked is None:
                return False
            fd, info = locked
            try:
                # Judged again under the lock: a create may have replaced the
                # expired file with a live one since the first look.
                state = self._state(fd, info, cutoff, path).state
                if not self._purgeable(state, info, stale_before):
                    return False
                os.unlink(path)
            finally:
                os.close(fd)
        except FileNotFoundError:
            return False
        except EngineUnavailable:
            raise
        except OSError as exc:
            logger.warning("clear_expired skipped %s: %s", self._shown(key), exc)
            return False
        if state is State.BROKEN:
            logger.info("clear_expired removed the unreadable file %s", self._shown(key))
            return False
        return True

    @staticmethod
    def _purgeable(state: State, info: os.stat_result, stale_before: float) -> bool:
        return state is State.EXPIRED or (state is State.BROKEN and info.st_mtime < stale_before)

    def _purge_temp(self, path: str, stale_before: float) -> None:
        try:
            info = os.lstat(path)
            if (
                stat.S_ISREG(info.st_mode)
                and info.st_uid == os.geteuid()
                and info.st_mtime < stale_before
            ):
                os.unlink(path)
                logger.info("clear_expired removed a stale temporary file %s", path)
        except FileNotFoundError:
            return
        except OSError as exc:
            logger.warning("clear_expired skipped the temporary file %s: %s", path, exc)

    # -- lifecycle and messages ----------------------------------------------------

    def close(self) -> None:
        """Nothing to release: every operation opens and closes its own files."""

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
            f"file engine: {self._display(path)} was replaced {_ATTEMPTS} "
            "times while this process waited for its lock; retry",
            address=self.path,
        )

    def __repr__(self) -> str:
        return f"<FileEngine 'file' path={self.path!r} prefix={self.prefix!r}>"
