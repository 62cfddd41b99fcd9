"""FileEngine: one file per session in a directory, on one machine.

What lives here: the options and the engine operations (load, save,
the versioned pair, delete, the session locks, health). The write path under
the session file's lock (create, replace a dead file, update in place) is
``SessionWrites`` in ``_writes``, this class's base; its building blocks,
opening, trusting and locking a session file, replacing it by rename and the
messages, live in ``_files`` (``SessionFiles``, the base of that); the
walks over the directory (``clear_expired``, ``count_expired``) in
``_purge``; the file layout and how a file is judged in ``_format``; option
checks in ``_options``; the session locks' lock files in ``_locks``.

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
import fcntl
import os
import re
import stat
import tempfile
from collections.abc import Callable
from typing import ClassVar

from sessionware import (
    Capabilities,
    EngineUnavailable,
    Version,
)

from . import _purge
from ._files import (
    FILE_MODE,
    FIRST_READ,
    ForeignFile,
    read_all,
)
from ._format import (
    Judgement,
    State,
    version_of,
)
from ._locks import LockTable
from ._options import check_directory, check_prefix, checks
from ._purge import STALE_AFTER
from ._writes import SessionWrites

__all__ = ["FILE_MODE", "STALE_AFTER", "FileEngine"]

#: What ``_read`` returns when no file of ours is there.
_ABSENT = Judgement(State.BROKEN)


class FileEngine(SessionWrites):
    """Sessions as files in one directory: any number of threads and processes of one machine.

    Options (keyword arguments; ``get_engine("file", ...)`` or the engine
    options of ``SessionConfig``):

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
    ``ConfigurationError`` naming the option.
    """

    name: ClassVar[str] = "file"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_side=True,
        clear_expired=True,
        native_async=False,
        shared_across_processes=True,
        local=True,
        versioned=True,
        locking=True,
    )

    def __init__(
        self,
        *,
        path: str | os.PathLike[str] | None = None,
        prefix: str = "sessionware-",
        fsync: bool = False,
    ) -> None:
        self._locks = LockTable(self)
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
        found = self._read(key)
        return found.data if found.state is State.LIVE else None

    def _read(self, key: str) -> Judgement:
        """The judgement of ``key``'s file, read under a shared lock (BROKEN if there is none)."""
        path = self._base + key
        fd = self._open_to_read(path)
        if fd is None:
            return _ABSENT
        try:
            # Shared: excludes a writer of this file, not other readers.
            fcntl.flock(fd, fcntl.LOCK_SH)
            info = os.fstat(fd)
            if not self._owned(info, path):
                return _ABSENT
            head = read_all(fd, min(info.st_size, FIRST_READ))
            return self._judge(fd, head, info.st_size, self.now())
        except OSError as exc:
            raise self._unavailable(f"cannot read {self._shown(key)}", exc) from exc
        finally:
            os.close(fd)

    def exists(self, key: str) -> bool:
        """True when ``load`` would return data for ``key``.

        Reads the whole file, as ``load`` does: session files are small, and
        one definition of "exists" cannot disagree with the other.
        """
        return self.load(key) is not None

    # -- writing (under the lock) --------------------------------------------------

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        """Create (``must_create``) or update the file for ``key``; return ``key``.

        Raises ``CreateError`` when creating over an
        unexpired session and ``UpdateError`` when updating
        one that was deleted, has expired or can no longer be read. An update
        bumps the file's version, so a versioned writer racing it conflicts.
        """
        self._write(key, data, expires_at, must_create, None)
        return key

    def load_versioned(self, key: str) -> tuple[bytes, Version] | None:
        """``load`` plus the version of what it returned, read under the same lock.

        The version is an int (the slot's ``seq`` and the file's generation,
        see ``_format``), or a digest for a file of the previous format.
        """
        if not self.is_valid_key(key):
            return None
        found = self._read(key)
        if found.state is not State.LIVE or found.data is None:
            return None
        return found.data, version_of(found)

    def save_versioned(
        self, key: str, data: bytes, expires_at: float, version: Version | None
    ) -> tuple[str, Version]:
        """Compare-and-set under the session file's lock; ``version=None`` creates.

        Raises ``VersionConflict`` (nothing written) when
        the stored version is no longer ``version``,
        ``UpdateError`` when the session is gone and
        ``CreateError`` when creating over a live one.
        """
        if version is None:
            return key, self._write(key, data, expires_at, True, None)
        return key, self._write(key, data, expires_at, False, version)

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
            except ForeignFile:
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

    # -- session locks ---------------------------------------------------------------

    def acquire_lock(self, key: str, ttl: float) -> str | None:
        """Try once to lock ``key`` for ``ttl`` seconds: a token, or ``None`` if it is held.

        ``flock(LOCK_EX | LOCK_NB)`` on ``<prefix><key>.lock``, kept open until
        ``release_lock``; never waits. The kernel frees it if this process
        dies; a lease past its ``ttl`` whose holder still lives (hung) is
        broken by the next acquirer, which locks a new lock file. Details in
        ``sessionware_file._locks``.
        """
        return self._locks.acquire(key, ttl)

    def release_lock(self, key: str, token: str) -> None:
        """Release ``key``'s lock if ``token`` from this engine still holds it; else nothing.

        Tokens belong to the engine (and process) that took the lock: a
        token from elsewhere releases nothing, and a holder whose lease was
        broken releases only its old, unlinked lock file.
        """
        self._locks.release(key, token)

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
        return _purge.count_expired(self)

    def clear_expired(self, progress: Callable[[int], None] | None = None) -> int:
        """Remove expired session files; return how many.

        Scans the directory with ``os.scandir``, looking only at names
        ``<prefix><valid key>``. A file that looks expired is locked and
        judged again before it is unlinked, so a session renewed meanwhile
        stays; files replaced or removed during the scan are skipped. Files
        too broken to read, temporary files of crashed writers and session
        lock files nobody holds are removed once older than
        ``STALE_AFTER`` seconds (not counted).
        ``progress``, if given, is called with the running count every 256
        files scanned and at the end (so Ctrl-C in the CLI is honoured during a
        long scan of live sessions too). The cutoff is fixed when the scan starts.
        """
        return _purge.clear_expired(self, progress)

    # -- lifecycle and messages ----------------------------------------------------

    def close(self) -> None:
        """Release the session locks this engine holds; every other operation closes its files."""
        self._locks.release_all()

    def after_fork_in_child(self) -> None:
        """Forget the parent's session locks: the child holds none of them (see ``_locks``)."""
        locks = getattr(self, "_locks", None)  # absent if __init__ failed before setting it
        if locks is not None:
            locks.forget_inherited()

    def __repr__(self) -> str:
        return f"<FileEngine 'file' path={self.path!r} prefix={self.prefix!r}>"
