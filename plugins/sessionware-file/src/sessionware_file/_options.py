"""Validation of the file engine's options, run once at construction.

Each check returns the normalised value or raises, through ``checks`` (the
engine's ``sessionware.OptionChecker``), a
``ConfigurationError`` whose ``field`` names the option
(``engine_options.<name>``) and whose message says what to do. The
directory check really creates and removes a file, because permission bits
cannot tell (root ignores them, a read-only mount ignores them the other way).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile

from sessionware import OptionChecker

__all__ = ["check_directory", "check_prefix", "checks"]

logger = logging.getLogger("sessionware.file")

# Starts like a visible file name; ends with a character no session key
# contains, so "<prefix><key>" splits one way only and two prefixes sharing a
# directory can never claim each other's files.
_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[-_.]")


checks = OptionChecker("file", "engine")


def check_prefix(prefix: object) -> str:
    """The file name prefix: safe characters, ending in ``-``, ``_`` or ``.``."""
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise checks.error(
            "prefix",
            f"{prefix!r} is not a valid file name prefix: use 2-64 ASCII letters, digits, "
            "'-', '_' or '.', not starting with '.', '-' or '_', and ending with '-', '_' "
            "or '.' (for example 'sessionware-')",
        )
    return prefix


def check_directory(path: object, prefix: str) -> str:
    """The session directory as an absolute path, proven usable now.

    It must exist, be a directory, be listable, and accept a new file: a probe
    file (a hidden name starting with ``.<prefix>``) is created and removed.
    """
    resolved = checks.directory("path", path)
    user = _user()
    try:
        mode = os.stat(resolved).st_mode
        with os.scandir(resolved):
            pass
        fd, probe = tempfile.mkstemp(prefix=f".{prefix}probe-", dir=resolved)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise checks.error(
            "path",
            f"cannot create and list files in {resolved} ({exc.strerror or exc}); make it "
            f"writable by the user running the application ({user}) or choose another "
            "directory",
        ) from exc
    if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
        logger.warning(
            "session directory %s is writable by every user and has no sticky bit: "
            "anyone on this machine can delete or replace session files; use a "
            "directory only the application's user can write (chmod 700)",
            resolved,
        )
    return resolved


def _user() -> str:
    uid = os.geteuid()
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name}, uid {uid}"
    except (ImportError, KeyError):
        return f"uid {uid}"
