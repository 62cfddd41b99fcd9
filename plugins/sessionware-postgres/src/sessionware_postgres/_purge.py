"""The postgres engine's purge of expired rows, as a mixin `PostgresEngine` inherits.

`clear_expired` deletes in bounded batches, each one `DELETE ... WHERE
session_key = ANY(ARRAY(SELECT ... LIMIT n FOR UPDATE SKIP LOCKED))` on the
expiry index and its own short transaction, so requests never wait behind
it; `count_expired` is one `count(*)` on that index. Blocking and asyncio
twins side by side. The SQL is in `_schema`; the pools and the failure
mapping stay in `_engine`, which this module only uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sessionware import EngineBase

if TYPE_CHECKING:
    from ._engine import Params, Row
    from ._schema import Statements

__all__ = ["PurgeOps"]


class PurgeOps(EngineBase):
    """`clear_expired`, `count_expired` and their async twins.

    Mixed into `PostgresEngine`, which provides `_run`/`_arun` (one
    statement on a pooled connection) and `batch_size`.
    """

    batch_size: int
    _sql: Statements

    if TYPE_CHECKING:

        def _run(self, operation: str, query: str, params: Params) -> tuple[int, Row | None]: ...
        async def _arun(
            self, operation: str, query: str, params: Params
        ) -> tuple[int, Row | None]: ...

    @staticmethod
    def _purge(batch: tuple[float, int]) -> Params:
        cutoff, size = batch
        return (cutoff, size, cutoff)

    @staticmethod
    def _count(row: Row | None) -> int:
        return 0 if row is None else int(row[0])

    # -- blocking ----------------------------------------------------------------------

    def clear_expired(self, progress: Callable[[int], None] | None = None) -> int:
        """Delete expired rows, at most `batch_size` per statement; return how many.

        Each batch is one `DELETE ... WHERE session_key = ANY(ARRAY(SELECT ...
        LIMIT n FOR UPDATE SKIP LOCKED))` on the expiry index, its own short
        transaction on a connection taken from the pool for that batch only:
        requests never wait behind the purge, rows a request is writing are
        skipped (left for the next purge), and several machines can purge at
        once without deleting a row twice or waiting for each other.
        `progress`, if given, is called with the running total after each
        batch that removed rows (committed). Rows that expire while the purge
        runs are left for the next one. Lock leases that ran out are deleted
        too (not counted).
        """
        batch = (self.now(), self.batch_size)
        removed = 0
        while (count := self._run("clear_expired", self._sql.purge, self._purge(batch))[0]) > 0:
            removed += count
            if progress is not None:
                progress(removed)
        self._run("clear_expired (locks)", self._sql.purge_locks, ())
        return removed

    def count_expired(self) -> int:
        """How many rows have expired: one `count(*)` on the expiry index."""
        return self._count(self._run("count_expired", self._sql.count_expired, (self.now(),))[1])

    # -- asyncio (no threads) ----------------------------------------------------------

    async def aclear_expired(self, progress: Callable[[int], None] | None = None) -> int:
        """Async twin of `clear_expired`."""
        batch = (self.now(), self.batch_size)
        removed = 0
        while (
            count := (await self._arun("clear_expired", self._sql.purge, self._purge(batch)))[0]
        ) > 0:
            removed += count
            if progress is not None:
                progress(removed)
        await self._arun("clear_expired (locks)", self._sql.purge_locks, ())
        return removed

    async def acount_expired(self) -> int:
        """Async twin of `count_expired`."""
        _, row = await self._arun("count_expired", self._sql.count_expired, (self.now(),))
        return self._count(row)
