"""Merging concurrent writes to one session, at the level of its top-level keys.

On an engine that declares ``versioned``, a save writes only over the version
the session last loaded or wrote. When another request saved in between, the
engine refuses (`sessionware.VersionConflict`) and the steps here take
over: reload the newer data, apply onto it what *this* request changed, and
write again — at most `MERGE_ATTEMPTS` times.

On an engine that also declares ``locking``, a save refused `LOCK_AFTER` times
stops racing: it takes the session's lock (waiting at most `MERGE_LOCK_WAIT`
seconds, see ``_session_lock``), reloads and merges under it, and keeps trying
for up to `LOCKED_MERGE_SECONDS` (at least `MERGE_ATTEMPTS` times). Why a
count is not enough: a retry loses whenever the other writer commits between
its reload and its write. Against a writer in a tight loop that window is
nearly the other's whole cycle, so each attempt loses with a probability near
0.85 (measured, 2 processes on file and redis), and 50 attempts in a row lose
about once in 300 contended saves. Under the lock, the other writers that
lost queue instead of racing too, and a time bound outlasts the streak.

What this request changed is found by comparing, key by key, the data it
started from (the *base*: the bytes last loaded or written, decoded only now,
on a conflict) with the data it is writing. A set, a delete and a nested
mutation all show as a difference of their top-level key. After ``clear()``
(or a wholesale replacement of the data) the request's data is the whole
truth: nothing the other request saved comes back. When both requests changed
the same key, ``config.on_conflict`` decides which value stays, and the loss
is logged to ``sessionware.concurrency`` and emitted as ``session_conflict``.

A deleted session (a log-out) is never brought back: the reload finds nothing
and the save raises `sessionware.UpdateError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, NamedTuple

from ._capabilities import Version
from ._errors import LockTimeout, UpdateError, VersionConflict
from ._events import Events
from ._session_drivers import Backoff, StepDrivers, Steps
from ._session_expiry import EXPIRY_KEY, parse_expiry

__all__ = [
    "LOCKED_MERGE_SECONDS",
    "LOCK_AFTER",
    "MERGE_ATTEMPTS",
    "MERGE_LOCK_TTL",
    "MERGE_LOCK_WAIT",
    "Merge",
    "MergingSteps",
    "atake_merge_lock",
    "lock_busy",
    "merge",
    "report",
    "take_merge_lock",
]

concurrency_log = logging.getLogger("sessionware.concurrency")

#: How many times one save reloads and merges before it gives up (VersionConflict);
#: on a locking engine, how many it makes under the session's lock.
MERGE_ATTEMPTS = 50
#: On a locking engine: refused merges after which a save takes the session's lock.
LOCK_AFTER = 8
#: Seconds a save waits for the session's lock before it gives up (VersionConflict).
MERGE_LOCK_WAIT = 2.0
#: Holding the session's lock, a save keeps merging at least `MERGE_ATTEMPTS` times
#: and for up to this many seconds before it gives up.
LOCKED_MERGE_SECONDS = 2.0
#: The lease of that lock (seconds): how long a crashed saver could hold it.
MERGE_LOCK_TTL = 10.0

_ABSENT: Any = object()


class Merge(NamedTuple):
    """The result of `merge`."""

    #: The data to write.
    data: dict[str, Any]
    #: The keys this request changed (sorted).
    changed: list[str]
    #: The keys both requests changed, to different values (sorted): one side lost.
    conflicts: list[str]


def merge(
    base: dict[str, Any],
    mine: dict[str, Any],
    fresh: dict[str, Any],
    *,
    values: dict[str, Any] | None = None,
    cleared: bool = False,
    keep_mine: bool = True,
) -> Merge:
    """Apply the keys that differ between ``base`` and ``mine`` onto ``fresh``.

    ``base`` is what this request started from, ``mine`` what it would write,
    ``fresh`` what another request stored meanwhile; all three as decoded
    from the serializer, so they compare like for like. ``values`` are the
    objects to put in the result for this request's keys (default: ``mine``'s).
    ``cleared``: the result is this request's data alone. ``keep_mine``: on a
    key both changed, this request's value wins (``last_write_wins``).
    """
    values = mine if values is None else values
    changed = [
        key
        for key in (*mine, *(k for k in base if k not in mine))
        if base.get(key, _ABSENT) != mine.get(key, _ABSENT)
    ]
    if cleared:  # this request's data is the whole truth; report what the other one loses
        theirs = {k for k in (*fresh, *base) if fresh.get(k, _ABSENT) != base.get(k, _ABSENT)}
        lost = [k for k in theirs if mine.get(k, _ABSENT) != fresh.get(k, _ABSENT)]
        return Merge(dict(values), sorted(changed), sorted(lost))
    result = dict(fresh)
    conflicts: list[str] = []
    for key in changed:
        before, after, now = base.get(key, _ABSENT), mine.get(key, _ABSENT), fresh.get(key, _ABSENT)
        if now != before and now != after:  # both changed it, differently
            conflicts.append(key)
            if not keep_mine:
                continue
        if after is _ABSENT:
            result.pop(key, None)
        else:
            result[key] = values[key]
    return Merge(result, sorted(changed), sorted(conflicts))


class LockToMerge(VersionConflict):
    """Optimistic merging lost `LOCK_AFTER` times: the save takes the session's lock."""


class MergingSteps(StepDrivers):
    """The steps that resolve a `sessionware.VersionConflict` (see the module)."""

    #: This session holds its lock (``session.lock()``, or a save that took it).
    _lock_held: bool = False

    # Provided by the persistence half (_session_io).
    def _write(self, must_create: bool) -> tuple[str, tuple[Any, ...]]:
        raise NotImplementedError

    def _written(self, value: Any, request: tuple[str, tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def _decode(self, raw: bytes) -> dict[str, Any] | None:
        raise NotImplementedError

    def _conflict_steps(self, request: tuple[str, tuple[Any, ...]]) -> Steps[None]:
        """The versioned write ``request`` was refused: reload, merge and write again."""
        escalate = not self._lock_held and getattr(self.engine.capabilities, "locking", False)
        # Holding the lock, other writers that lost queue for it: only writers
        # that have not lost yet still race this one, so keep trying a while.
        deadline = time.monotonic() + LOCKED_MERGE_SECONDS if self._lock_held else None
        attempts = 0
        while True:
            if escalate and attempts >= LOCK_AFTER:
                raise LockToMerge(f"refused {LOCK_AFTER} times: merging under the session's lock")
            if attempts >= MERGE_ATTEMPTS and (deadline is None or time.monotonic() > deadline):
                break
            attempts += 1
            loaded = yield ("load_versioned", (self._session_key,))
            if loaded is None:
                raise UpdateError(
                    "the session was deleted or expired while this request changed it (for "
                    "example, a log-out in another tab); it is not recreated"
                )
            self._rebase(loaded, request[1][1])
            request = self._write(False)
            try:
                value = yield request
            except VersionConflict:
                continue
            self._written(value, request)
            return
        held = " (the last ones holding the session's lock)" if self._lock_held else ""
        raise VersionConflict(
            f"another request saved this session first on each of {attempts} attempts to "
            f"merge this request's changes{held} on the {self.engine.name!r} engine; nothing "
            "was written (retry the request, or use session.lock() around this change)"
        )

    def _rebase(self, loaded: tuple[bytes, Version], mine_raw: bytes | None = None) -> None:
        """Make the stored ``loaded`` data, with this request's changes applied, the session's.

        ``mine_raw`` is the encoding of the data in memory, if it was just made.
        """
        raw, version = loaded
        if raw != self._raw:  # else the other write left the stored bytes as this one found them
            payload = self._payload()
            if mine_raw is None:
                mine_raw = self.serializer.dumps(payload)
            mine = self.serializer.loads(mine_raw)
            base = {} if self._raw is None else self._decode(self._raw) or {}
            fresh = self._decode(raw)
            if fresh is None:  # the stored data is broken: this request's data replaces it
                fresh, self._cleared = {}, True
            result = merge(
                base,
                mine,
                fresh,
                values=payload,
                cleared=self._cleared,
                keep_mine=self.config.on_conflict == "last_write_wins",
            )
            self._install(result.data)
            if result.changed:
                self.modified = True
            self._report(result)
        self._raw, self._version = raw, version

    def _install(self, data: dict[str, Any]) -> None:
        expiry = data.pop(EXPIRY_KEY, None)
        dict.clear(self)
        dict.update(self, data)
        self._expiry = None if expiry is None else parse_expiry(expiry)
        self._loaded = True

    def _report(self, result: Merge) -> None:
        report(
            result,
            session_key=self._session_key,
            engine=self.engine.name,
            events=self.events,
            on_conflict=self.config.on_conflict,
            cleared=self._cleared,
        )


def report(
    result: Merge,
    *,
    session_key: str | None,
    engine: str,
    events: Events,
    on_conflict: str,
    cleared: bool,
) -> None:
    """Log a merge (DEBUG), or a same-key loss (WARNING and the ``session_conflict`` event)."""
    shown = f"{(session_key or '')[:6]}..."
    if not result.conflicts:
        concurrency_log.debug(
            "session %s on engine %r: merged this request's changes to %r onto a "
            "concurrent save (no key changed by both)",
            shown,
            engine,
            result.changed,
        )
        return
    if cleared:
        kept, outcome = "last_write", "this request cleared the session: the other's values"
    elif on_conflict == "last_write_wins":
        kept, outcome = "last_write", "kept this request's values: the other's"
    else:
        kept, outcome = "first_write", "kept the stored values: this request's"
    concurrency_log.warning(
        "session %s on engine %r: this request and a concurrent one both changed %r; "
        "%s are lost (on_conflict=%r)",
        shown,
        engine,
        result.conflicts,
        outcome,
        on_conflict,
    )
    events.emit(
        "session_conflict", session_key=session_key, keys=result.conflicts, kept=kept, engine=engine
    )


def lock_busy(engine: Any, key: str, exc: LockTimeout, waited: float) -> VersionConflict:
    """The error of a save that kept losing and then waited ``waited`` s for the lock in vain."""
    error = VersionConflict(
        f"another request saved session {key[:6]}... first on each attempt to merge this "
        f"request's changes on the {engine.name!r} engine, and its lock was not free "
        f"within {waited:g} s; nothing was written (retry the request)"
    )
    error.__cause__ = exc
    return error


def take_merge_lock(engine: Any, key: str) -> str:
    """The session's lock for a save that keeps losing (polled; `VersionConflict` on timeout).

    For integrations with their own session class (Django); ``SessionStore`` does the same.
    """
    wait = Backoff(MERGE_LOCK_WAIT)
    while True:
        token = engine.acquire_lock(key, MERGE_LOCK_TTL)
        if token is not None:
            return str(token)
        delay = wait.next()
        if delay is None:
            timeout = LockTimeout(f"lock not free within {MERGE_LOCK_WAIT:g} s")
            raise lock_busy(engine, key, timeout, MERGE_LOCK_WAIT) from timeout
        time.sleep(delay)


async def atake_merge_lock(engine: Any, key: str) -> str:
    """Async twin of `take_merge_lock` (waits with ``asyncio.sleep``)."""
    wait = Backoff(MERGE_LOCK_WAIT)
    while True:
        token = await engine.aacquire_lock(key, MERGE_LOCK_TTL)
        if token is not None:
            return str(token)
        delay = wait.next()
        if delay is None:
            timeout = LockTimeout(f"lock not free within {MERGE_LOCK_WAIT:g} s")
            raise lock_busy(engine, key, timeout, MERGE_LOCK_WAIT) from timeout
        await asyncio.sleep(delay)
