"""What an engine declares about itself (``Capabilities``), and the small types it returns.

``Capabilities`` is data, not behaviour: the conformance kit, ``sessionware
check`` and the session read it. ``Reissue`` marks loaded bytes that want a
fresh cookie; ``Version`` is what a versioned engine hands out with a load.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Capabilities", "Reissue", "Version"]


#: What a versioned engine returns with a load and takes back at a save; opaque to the core.
Version = int | str | bytes


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an engine can do, declared as data.

    The conformance kit and ``sessionware check`` read these; a test that an
    engine cannot pass is skipped because of a declaration, never patched.
    """

    #: Data lives on the server; the cookie carries only the key.
    #: ``False`` for cookie engines, whose ``save`` returns the payload itself.
    server_side: bool = True
    #: ``clear_expired`` removes expired sessions (``False``: the store expires
    #: them itself, e.g. by TTL, and ``clear_expired`` returns 0).
    clear_expired: bool = True
    #: The async twins are implemented natively rather than run in a thread.
    native_async: bool = False
    #: Sessions are visible to every process that opens the same store.
    #: ``False`` for in-process stores such as the cache engine.
    shared_across_processes: bool = True
    #: No network I/O: storage is in-process or on the local disk. Informational
    #: (``sessionware check`` and the docs read it); it does not make async
    #: callers run the sync methods inline, because a local disk store can
    #: still wait on a lock another process holds — see ``inline_async``.
    local: bool = False
    #: The sync methods never wait: no disk or network I/O and no lock that
    #: another process (or a slow thread) may hold — pure computation, or
    #: in-process memory under a lock held for microseconds. The session's
    #: async methods then call them inline instead of paying for a thread hop,
    #: and a sync call on a running event loop is not warned about. Leave
    #: ``False`` for anything touching the disk or the network.
    inline_async: bool = False
    #: Loads can return a version and saves can compare-and-set on it:
    #: ``load_versioned``/``save_versioned`` and their async twins (see the
    #: concurrency guide). The session then merges concurrent writes instead
    #: of overwriting them.
    versioned: bool = False
    #: ``acquire_lock``/``release_lock`` (and async twins) give a per-session
    #: lease that never waits inside the engine: ``session.lock()``.
    locking: bool = False


class Reissue(bytes):
    """Loaded bytes the engine wants written again at the end of the request.

    A cookie engine returns its payload wrapped in ``Reissue`` when the cookie
    verified under a retired key (or an older format): the session then marks
    itself modified, so the response carries a cookie made with the current
    key. Server-side engines have no use for it.
    """

    __slots__ = ()
