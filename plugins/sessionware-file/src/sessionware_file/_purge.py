"""The file engine's walks over its directory: counting and removing expired sessions.

Both scan the directory once with ``os.scandir``, looking only at names
``<prefix><valid key>`` (and, for the purge, the temporary files of
crashed writers and the session lock files, ``<prefix><valid key>.lock``,
that nobody holds or used for ``STALE_AFTER`` seconds). A file is judged
without a lock first, so live sessions, the common case, cost no lock; one
that looks expired is locked and judged again before it is unlinked (see
``SessionFiles._lock``).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable

from sessionware import EngineUnavailable

from ._files import ForeignFile, SessionFiles
from ._format import State
from ._locks import LOCK_SUFFIX, purge_stale_lock

__all__ = ["STALE_AFTER", "clear_expired", "count_expired"]

logger = logging.getLogger("sessionware.file")

#: Seconds after which ``clear_expired`` removes a crashed writer's temporary
#: file or a session file too broken to read.
STALE_AFTER = 3600.0
_PROGRESS_EVERY = 256


def count_expired(files: SessionFiles) -> int:
    """``FileEngine.count_expired``: how many session files hold an expired session."""
    now, prefix, expired = files.now(), files.prefix, 0
    try:
        with os.scandir(files.path) as entries:
            for entry in entries:
                name = entry.name
                if not name.startswith(prefix) or not files.is_valid_key(name[len(prefix) :]):
                    continue
                fd = files._open_to_read(entry.path)
                if fd is None:
                    continue
                try:
                    judged = files._state(fd, os.fstat(fd), now, entry.path)
                finally:
                    os.close(fd)
                if judged.state is State.EXPIRED:
                    expired += 1
    except OSError as exc:
        raise files._unavailable(f"cannot scan {files.path}", exc) from exc
    return expired


def clear_expired(files: SessionFiles, progress: Callable[[int], None] | None = None) -> int:
    """``FileEngine.clear_expired``: remove expired session files; return how many.

    Broken files and temporary files older than ``STALE_AFTER`` go too,
    uncounted; ``progress`` gets the running count every
    ``_PROGRESS_EVERY`` names and at the end.
    """
    cutoff = files.now()
    stale_before = cutoff - STALE_AFTER
    removed = scanned = 0
    prefix = files.prefix
    try:
        with os.scandir(files.path) as entries:
            for entry in entries:
                name = entry.name
                if name.endswith(LOCK_SUFFIX) and name.startswith(prefix):
                    if files.is_valid_key(name[len(prefix) : -len(LOCK_SUFFIX)]):
                        _purge_lock(files, entry.path, stale_before)
                elif name.startswith(prefix):
                    key = name[len(prefix) :]
                    if files.is_valid_key(key) and _purge(files, key, cutoff, stale_before):
                        removed += 1
                    scanned += 1
                    if progress is not None and scanned % _PROGRESS_EVERY == 0:
                        progress(removed)
                elif name.startswith(".") and files._temp_name.fullmatch(name):
                    _purge_temp(entry.path, stale_before)
    except OSError as exc:
        raise files._unavailable(f"cannot scan {files.path}", exc) from exc
    if removed and files.fsync:
        files._sync_directory()
    if progress is not None:
        progress(removed)
    return removed


def _purge(files: SessionFiles, key: str, cutoff: float, stale_before: float) -> bool:
    """Remove ``key``'s file if expired (True) or broken and stale (False)."""
    path = files._base + key
    try:
        # A first look without the lock: live sessions, the common case,
        # cost no lock at all.
        fd = files._open_to_read(path)
        if fd is None:
            return False
        try:
            info = os.fstat(fd)
            state = files._state(fd, info, cutoff, path).state
        finally:
            os.close(fd)
        if not _purgeable(state, info, stale_before):
            return False
        try:
            locked = files._lock(path)
        except ForeignFile:
            return False
        if locked is None:
            return False
        fd, info = locked
        try:
            # Judged again under the lock: a create may have replaced the
            # expired file with a live one since the first look.
            state = files._state(fd, info, cutoff, path).state
            if not _purgeable(state, info, stale_before):
                return False
            os.unlink(path)
        finally:
            os.close(fd)
    except FileNotFoundError:
        return False
    except EngineUnavailable:
        raise
    except OSError as exc:
        logger.warning("clear_expired skipped %s: %s", files._shown(key), exc)
        return False
    if state is State.BROKEN:
        logger.info("clear_expired removed the unreadable file %s", files._shown(key))
        return False
    return True


def _purgeable(state: State, info: os.stat_result, stale_before: float) -> bool:
    return state is State.EXPIRED or (state is State.BROKEN and info.st_mtime < stale_before)


def _purge_lock(files: SessionFiles, path: str, stale_before: float) -> None:
    try:
        purge_stale_lock(files, path, stale_before)
    except OSError as exc:
        logger.warning("clear_expired skipped the lock file %s: %s", files._display(path), exc)


def _purge_temp(path: str, stale_before: float) -> None:
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
