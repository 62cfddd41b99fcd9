"""A versioned save of the Django store, written once as steps.

``VersionedSaves._versioned_save_steps`` writes over the version loaded and,
when another request saved first, reloads, merges this request's changes
(the core's ``_session_merge`` rules) and writes again. The steps are engine
calls as ``(method, args)``, carried out by the core's own drivers
(``run_steps``/``arun_steps``, the ones ``SessionStore`` uses), so the pauses
between conflicts and the handling of engine errors are the same.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

from .._capabilities import Version
from .._engine import Engine
from .._errors import UpdateError, VersionConflict
from .._session_merge import (
    LOCK_AFTER,
    LOCKED_MERGE_SECONDS,
    MERGE_ATTEMPTS,
    LockToMerge,
    merge,
    report,
)
from ._settings import _GONE, _backend

_Steps = Generator[tuple[str, tuple[Any, ...]], Any, str]


class VersionedSaves:
    """The versioned half of ``SessionStore.save`` (a mixin: the store provides the rest)."""

    _session_cache: dict[str, Any]
    _sw_version: Version | None
    _sw_raw: bytes | None
    _sw_cleared: bool
    session_key: str | None

    def _payload(self, data: dict[str, Any]) -> tuple[bytes, float]:
        raise NotImplementedError

    def _decode(self, raw: bytes | str) -> dict[str, Any] | None:
        raise NotImplementedError

    def _versioned_write(self, engine: Engine, must_create: bool) -> bool:
        return bool(engine.capabilities.versioned) and (must_create or self._sw_version is not None)

    def _versioned_save_steps(
        self, key: str, data: dict[str, Any], must_create: bool, locked: bool = False
    ) -> Generator[tuple[str, tuple[Any, ...]], Any, str]:
        """Write ``data`` over the version loaded; on a conflict reload, merge, write again.

        The core's bounds (``_session_merge``): on a locking engine, ``LockToMerge``
        after ``LOCK_AFTER`` refusals; ``locked`` (the lock is held), merging goes on
        for up to ``LOCKED_MERGE_SECONDS``.
        """
        version = None if must_create else self._sw_version
        escalate = not locked and bool(getattr(_backend().engine.capabilities, "locking", False))
        deadline = time.monotonic() + LOCKED_MERGE_SECONDS if locked else None
        attempts = 0
        while True:
            raw, expires_at = self._payload(data)
            try:
                value, self._sw_version = yield ("save_versioned", (key, raw, expires_at, version))
            except VersionConflict:
                if escalate and attempts >= LOCK_AFTER:
                    raise LockToMerge(f"refused {LOCK_AFTER} times") from None
                if attempts >= MERGE_ATTEMPTS and (deadline is None or time.monotonic() > deadline):
                    break
                attempts += 1
                loaded = yield ("load_versioned", (key,))
                if loaded is None:
                    raise UpdateError(_GONE) from None
                data, version = self._merged(raw, loaded), loaded[1]
                self._sw_version = version
                continue
            self._sw_raw, self._sw_cleared = raw, False
            return str(value)
        raise VersionConflict(
            f"another request saved this session first on each of {attempts} attempts "
            "to merge this request's changes; nothing was written"
        )

    def _merged(self, mine_raw: bytes, loaded: tuple[bytes, Version]) -> dict[str, Any]:
        """This request's changes (``mine_raw`` against the base) applied onto ``loaded``."""
        backend = _backend()
        base = {} if self._sw_raw is None else self._decode(self._sw_raw) or {}
        fresh = self._decode(loaded[0])
        cleared = self._sw_cleared or fresh is None
        result = merge(
            base,
            backend.serializer.loads(mine_raw),
            fresh or {},
            values=self._session_cache,
            cleared=cleared,
            keep_mine=backend.on_conflict == "last_write_wins",
        )
        report(
            result,
            session_key=self.session_key,
            engine=backend.engine.name,
            events=backend.events,
            on_conflict=backend.on_conflict,
            cleared=cleared,
        )
        self._sw_raw = loaded[0]
        self._session_cache = result.data
        return result.data
