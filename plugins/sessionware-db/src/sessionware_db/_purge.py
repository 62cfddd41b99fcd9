"""The db engine's purge of expired rows: short batches, and a WAL that does not grow.

``purge_expired`` reads the expired rows' rowids from the ``expires_at``
index without the write lock, then deletes them ``batch_size`` at a time,
each batch its own short ``BEGIN IMMEDIATE`` transaction followed by a WAL
checkpoint (``checkpoint``), so that requests keep writing during a large
purge and the WAL stays small. Failures propagate as ``sqlite3.Error``;
the engine maps them.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator

__all__ = ["checkpoint", "purge_expired"]

logger = logging.getLogger("sessionware.db")

#: ``purge_expired`` reads the rowids of at most this many batches at a time
#: (about 36 bytes each), which bounds its memory on a huge backlog.
_PURGE_WINDOW_BATCHES = 256
#: WAL size (frames: pages) above which the purge, after a batch's checkpoint, waits
#: for the WAL to start over before it writes again (see ``checkpoint``).
_WAL_RESTART_FRAMES = 8192
#: How long, and how many times, it waits for that at most, per batch.
_WAL_RESTART_PAUSE = 0.01
_WAL_RESTART_TRIES = 10
#: Page cache of the purging connection, in KiB (SQLite's negative ``cache_size``):
#: a batch's index pages stay in memory instead of spilling to the WAL mid-transaction.
_PURGE_CACHE_KIB = 65536


def purge_expired(
    conn: sqlite3.Connection,
    expired_sql: str,
    purge_sql: str,
    cutoff: float,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> int:
    """Delete the rows expired at ``cutoff``, ``batch_size`` per transaction; return how many.

    ``expired_sql`` selects the expired rowids (at most a window's worth),
    ``purge_sql`` deletes one of them if it is still expired. ``progress``,
    if given, is called with the running total after each batch that
    removed rows.
    """
    window = batch_size * _PURGE_WINDOW_BATCHES
    removed = 0
    with _purging(conn):
        while True:
            rowids = sorted(row[0] for row in conn.execute(expired_sql, (cutoff, window)))
            for start in range(0, len(rowids), batch_size):
                batch = [(rowid, cutoff) for rowid in rowids[start : start + batch_size]]
                count = _purge_batch(conn, purge_sql, batch)
                if count > 0:
                    removed += count
                    if progress is not None:
                        progress(removed)
            if len(rowids) < window:
                return removed


@contextlib.contextmanager
def _purging(conn: sqlite3.Connection) -> Iterator[None]:
    """A larger page cache and no automatic checkpoint (the purge checkpoints itself)."""
    settings = {
        name: int(conn.execute(f"PRAGMA {name}").fetchone()[0])
        for name in ("cache_size", "wal_autocheckpoint")
    }
    conn.execute(f"PRAGMA cache_size = {-_PURGE_CACHE_KIB}")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield
    finally:
        # The connection may have been dropped by a failure meanwhile.
        with contextlib.suppress(sqlite3.Error):
            for name, value in settings.items():
                conn.execute(f"PRAGMA {name} = {value}")


def _purge_batch(conn: sqlite3.Connection, purge_sql: str, batch: list[tuple[int, float]]) -> int:
    """Delete one batch in its own transaction, then checkpoint the WAL; return the count.

    At DEBUG level each batch is logged with its row count, the seconds
    its transaction held the write lock and the seconds of the checkpoint
    after it, which holds no lock (record attributes ``rows``,
    ``lock_seconds``, ``checkpoint_seconds``).
    """
    conn.execute("BEGIN IMMEDIATE")
    locked = time.perf_counter()
    try:
        count = conn.executemany(purge_sql, batch).rowcount
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    committed = time.perf_counter()
    checkpoint(conn)
    if logger.isEnabledFor(logging.DEBUG):
        lock_seconds = committed - locked
        checkpoint_seconds = time.perf_counter() - committed
        logger.debug(
            "clear_expired: %d rows; write lock held %.1f ms, then checkpoint %.1f ms",
            count,
            lock_seconds * 1e3,
            checkpoint_seconds * 1e3,
            extra={
                "rows": count,
                "lock_seconds": lock_seconds,
                "checkpoint_seconds": checkpoint_seconds,
            },
        )
    return count


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the WAL back into the database file, and keep the WAL from growing.

    A PASSIVE checkpoint right after the commit, as SQLite's automatic
    one would do, copies the batch's pages back without blocking anyone;
    a request that commits next finds them copied and does not checkpoint
    them itself.

    SQLite starts the WAL over from its beginning only at a write that
    begins when everything in it has been copied back. Under concurrent
    writes that moment never comes if the purge goes straight on:
    requests commit while the checkpoint copies (their own automatic
    checkpoint gives up, this one is running) and the purge's next batch
    begins before anyone copied their pages. The WAL would grow by every
    batch (3 GB for half of a million rows), and every request's commit
    would checkpoint. So when the WAL holds more than
    ``_WAL_RESTART_FRAMES`` pages, the purge pauses, holding nothing,
    until a request's write has started the WAL over, or everything is
    copied and no one wrote for a moment (then its own next write starts
    it over), at most ``_WAL_RESTART_TRIES`` pauses.
    """
    busy, in_log, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    if busy or in_log < _WAL_RESTART_FRAMES:
        return
    previous = in_log
    for _ in range(_WAL_RESTART_TRIES):
        time.sleep(_WAL_RESTART_PAUSE)
        busy, in_log, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if busy:  # a request is checkpointing
            continue
        if in_log < previous or copied == in_log == previous:
            return  # started over; or all copied and no one wrote since
        previous = in_log
