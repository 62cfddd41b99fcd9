"""The Lua scripts of the redis engine: compare-and-set saves and lock release.

Each script touches ONE key, so it runs on a Cluster (the key's slot picks
the node) as on a single server. redis-py's ``register_script`` sends
``EVALSHA`` and falls back to ``SCRIPT LOAD`` when the server does not know
the script yet (a restart, a failover, a new cluster node).

The version of a session is the SHA-1 of its stored bytes (``version_of``):
a value written by any release, or by plain ``save``, has one, with no
header to add or strip, so older and newer processes share the keys freely.
A save that writes other bytes changes the version; bytes that come back to
an earlier state read as that earlier version, which is right for merging
(the stored state really is that state again).
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["COMPARE_AND_SET", "RELEASE", "Scripts", "version_of"]

#: KEYS[1]: the session; ARGV: expected version, data, PX in ms ("0": the
#: expiry has passed, so the session is deleted instead of written).
#: Returns 1 when written, 0 when the session is gone, -1 on a version conflict.
COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if not current then
    return 0
end
if redis.sha1hex(current) ~= ARGV[1] then
    return -1
end
if ARGV[3] == '0' then
    redis.call('DEL', KEYS[1])
else
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
"""

#: KEYS[1]: a lock; ARGV[1]: the token. Deletes the lock only if the token holds it.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

#: What ``COMPARE_AND_SET`` answers.
WRITTEN, GONE, CONFLICT = 1, 0, -1


def version_of(value: bytes) -> str:
    """The version of stored bytes: their SHA-1 in hex, as Lua's ``redis.sha1hex`` gives it."""
    return hashlib.sha1(value, usedforsecurity=False).hexdigest()


class Scripts:
    """The engine's scripts registered on one redis-py client (blocking or asyncio)."""

    __slots__ = ("compare_and_set", "release")

    def __init__(self, client: Any) -> None:
        #: ``COMPARE_AND_SET`` (a ``Script`` or ``AsyncScript``).
        self.compare_and_set: Any = client.register_script(COMPARE_AND_SET)
        #: ``RELEASE``.
        self.release: Any = client.register_script(RELEASE)
