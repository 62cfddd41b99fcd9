"""How ``FileEngine`` writes a session file: create, replace a dead one, update.

What lives here: ``SessionWrites``, the base of ``FileEngine`` that holds the
write path under the session file's lock (``_write`` and its create and
update branches, the slot write of an update). The engine's public
operations (``save``, ``save_versioned``), which call it, live in
``_engine``; opening, trusting and locking a file and replacing it by rename
in ``_files``; the file layout in ``_format``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os

from sessionware import CreateError, UpdateError, Version, VersionConflict

from ._files import (
    ATTEMPTS,
    CREATE,
    FILE_MODE,
    REWRITE,
    ForeignFile,
    SessionFiles,
    pwrite_all,
    write_all,
)
from ._format import (
    FORMAT_VERSION,
    SLOT_SIZE,
    Judgement,
    State,
    encode,
    new_version,
    next_slot,
    version_of,
)

__all__ = ["SessionWrites", "new_generation"]


def new_generation() -> int:
    """A random 32-bit generation for a new file (``os.urandom``: never shared by forks)."""
    return int.from_bytes(os.urandom(4), "big")


class SessionWrites(SessionFiles):
    """The write path of ``FileEngine``: every branch runs under the session file's lock."""

    def _write(
        self,
        key: str,
        data: bytes,
        expires_at: float,
        must_create: bool,
        expected: Version | None,
    ) -> Version:
        """Create, or update (only if ``expected`` is ``None`` or current); the new version."""
        self.check_key(key)
        if type(data) is not bytes:
            data = bytes(data)
        expires_at = float(expires_at)
        path = self._base + key
        try:
            if must_create:
                generation = new_generation()
                self._create(key, path, encode(data, expires_at, generation))
                return new_version(generation)
            return self._update(key, path, data, expires_at, expected)
        except OSError as exc:
            raise self._unavailable(f"cannot write {self._shown(key)}", exc) from exc

    def _create(self, key: str, path: str, content: bytes) -> None:
        for _ in range(ATTEMPTS):
            try:
                fd = os.open(path, CREATE, FILE_MODE)
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
                        write_all(fd, content)
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
        except ForeignFile:
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

    def _update(
        self, key: str, path: str, data: bytes, expires_at: float, expected: Version | None
    ) -> Version:
        try:
            locked = self._lock(path, REWRITE)
        except ForeignFile:
            locked = None
        if locked is None:
            raise UpdateError(self._gone(key))
        fd, info = locked
        renamed = False
        try:
            current = self._state(fd, info, self.now(), path)
            if current.state is not State.LIVE:
                raise UpdateError(self._gone(key))
            if expected is not None and version_of(current) != expected:
                raise VersionConflict(
                    f"session {self._shown(key)} was saved by another writer since this "
                    "version was loaded; nothing was written"
                )
            if current.version == FORMAT_VERSION:
                self._write_slot(fd, info.st_size, current, data, expires_at)
                version: Version = version_of(current._replace(seq=current.seq + 1))
            else:
                # A file of the previous format has no second slot: replaced whole, once.
                generation = new_generation()
                self._write_replace(key, path, encode(data, expires_at, generation))
                version = new_version(generation)
                renamed = True
        finally:
            os.close(fd)
        if renamed:
            self._sync_directory()
        return version

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
            pwrite_all(fd, data, offset)
            pwrite_all(fd, header, at)
            if self.fsync:
                os.fsync(fd)
        except BaseException:
            # The current version was not touched. Empty the slot that may be
            # half written (a later update would overwrite it anyway) and give
            # back the space it took, so the failed save is plainly not there.
            with contextlib.suppress(OSError):
                pwrite_all(fd, bytes(SLOT_SIZE), at)
                if offset + len(data) > size:
                    os.ftruncate(fd, size)
            raise
        if end < size:
            # What lies past ``end`` belonged to the version before the current
            # one. The save has succeeded: failing to cut it only wastes space.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, end)
