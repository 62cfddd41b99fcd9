"""The engine operations: load, save, exists, delete, clear_expired, failures, threads."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sessionware_db import DbEngine
from sessionware_db._purge import checkpoint

import sessionware

HOSTILE_KEYS: list[Any] = [
    "/",
    "..",
    "../../etc/passwd",
    "a" * 31 + "/",
    "abc\x00" + "a" * 32,
    "x" * 10_000,
    "A" * 32,
    "' OR 1=1 --" + "a" * 32,
    "",
    None,
    42,
    b"a" * 32,
    ["a" * 32],
]
#: Connection settings clear_expired changes while it runs and must put back.
SETTINGS = ("cache_size", "wal_autocheckpoint")


def new_key() -> str:
    return sessionware.new_session_key()


def test_load_returns_the_saved_bytes(engine: DbEngine) -> None:
    key = new_key()
    engine.save(key, b"payload", engine.now() + 60, must_create=True)
    assert engine.load(key) == b"payload"


def test_save_returns_the_key(engine: DbEngine) -> None:
    key = new_key()
    assert engine.save(key, b"x", engine.now() + 60, must_create=True) == key
    assert engine.save(key, b"y", engine.now() + 60) == key


def test_load_of_a_missing_key_is_none_and_creates_no_row(
    engine: DbEngine, rows: Callable[..., int]
) -> None:
    assert engine.load(new_key()) is None
    assert rows() == 0


def test_load_of_an_expired_session_is_none(engine: DbEngine) -> None:
    key = new_key()
    engine.save(key, b"x", engine.now() - 1, must_create=True)
    assert engine.load(key) is None
    assert engine.exists(key) is False


def test_expiry_is_checked_against_the_engine_clock(
    engine: DbEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    start = engine.now()
    engine.save(key, b"x", start + 60, must_create=True)
    monkeypatch.setattr(engine, "now", lambda: start + 61)
    assert engine.load(key) is None


def test_must_create_raises_create_error_when_the_key_is_taken(engine: DbEngine) -> None:
    key = new_key()
    engine.save(key, b"first", engine.now() + 60, must_create=True)
    with pytest.raises(sessionware.CreateError):
        engine.save(key, b"second", engine.now() + 60, must_create=True)
    assert engine.load(key) == b"first"


def test_must_create_replaces_an_expired_row(engine: DbEngine, rows: Callable[..., int]) -> None:
    key = new_key()
    engine.save(key, b"old", engine.now() - 1, must_create=True)
    engine.save(key, b"new", engine.now() + 60, must_create=True)
    assert engine.load(key) == b"new"
    assert rows() == 1


def test_save_updates_an_existing_session(engine: DbEngine) -> None:
    key = new_key()
    engine.save(key, b"one", engine.now() + 60, must_create=True)
    engine.save(key, b"two", engine.now() + 120)
    assert engine.load(key) == b"two"


def test_save_of_a_missing_session_raises_update_error(
    engine: DbEngine, rows: Callable[..., int]
) -> None:
    with pytest.raises(sessionware.UpdateError):
        engine.save(new_key(), b"x", engine.now() + 60)
    assert rows() == 0


def test_save_of_a_deleted_session_raises_update_error(engine: DbEngine) -> None:
    key = new_key()
    engine.save(key, b"x", engine.now() + 60, must_create=True)
    engine.delete(key)
    with pytest.raises(sessionware.UpdateError):
        engine.save(key, b"resurrected?", engine.now() + 60)
    assert engine.load(key) is None


def test_save_of_an_expired_session_raises_update_error(engine: DbEngine) -> None:
    key = new_key()
    engine.save(key, b"x", engine.now() - 1, must_create=True)
    with pytest.raises(sessionware.UpdateError):
        engine.save(key, b"y", engine.now() + 60)


def test_save_stores_the_expiry(engine: DbEngine, raw: sqlite3.Connection) -> None:
    key = new_key()
    engine.save(key, b"x", 4_000_000_000.5, must_create=True)
    assert raw.execute("SELECT expires_at FROM sessionware_session").fetchone()[0] == (
        4_000_000_000.5
    )


def test_exists_sees_only_unexpired_sessions(engine: DbEngine) -> None:
    live, dead = new_key(), new_key()
    engine.save(live, b"x", engine.now() + 60, must_create=True)
    engine.save(dead, b"x", engine.now() - 60, must_create=True)
    assert engine.exists(live) is True
    assert engine.exists(dead) is False
    assert engine.exists(new_key()) is False


def test_delete_removes_the_row(engine: DbEngine, rows: Callable[..., int]) -> None:
    key = new_key()
    engine.save(key, b"x", engine.now() + 60, must_create=True)
    engine.delete(key)
    assert rows() == 0


def test_delete_of_an_absent_key_is_silent(engine: DbEngine) -> None:
    engine.delete(new_key())


@pytest.mark.parametrize("payload", [bytes(range(256)) * 4, b"", b"\x00" * 1_000_000])
def test_binary_payloads_round_trip(engine: DbEngine, payload: bytes) -> None:
    key = new_key()
    engine.save(key, payload, engine.now() + 60, must_create=True)
    assert engine.load(key) == payload


def test_bytes_like_payloads_are_stored_as_bytes(engine: DbEngine) -> None:
    key = new_key()
    engine.save(key, bytearray(b"ba"), engine.now() + 60, must_create=True)  # type: ignore[arg-type]
    assert engine.load(key) == b"ba"


def test_text_written_behind_the_engine_loads_as_bytes(
    engine: DbEngine, raw: sqlite3.Connection
) -> None:
    key = new_key()
    raw.execute(
        "INSERT INTO sessionware_session (session_key, session_data, expires_at) VALUES (?, ?, ?)",
        (key, "{}", engine.now() + 60),
    )
    assert engine.load(key) == b"{}"


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=lambda k: repr(k)[:20])
def test_hostile_key_loads_as_none_without_touching_the_database(
    engine: DbEngine, rows: Callable[..., int], monkeypatch: pytest.MonkeyPatch, key: Any
) -> None:
    def no_io() -> None:
        raise AssertionError("the database was touched")

    monkeypatch.setattr(engine, "_conn", no_io)
    assert engine.load(key) is None
    assert engine.exists(key) is False
    engine.delete(key)
    monkeypatch.undo()
    assert rows() == 0


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=lambda k: repr(k)[:20])
def test_hostile_key_save_raises_invalid_session_key_and_stores_nothing(
    engine: DbEngine, rows: Callable[..., int], key: Any
) -> None:
    for must_create in (True, False):
        with pytest.raises(sessionware.InvalidSessionKey):
            engine.save(key, b"x", engine.now() + 60, must_create=must_create)
    assert rows() == 0


def test_clear_expired_removes_only_expired_sessions(engine: DbEngine) -> None:
    live = [new_key() for _ in range(3)]
    for key in live:
        engine.save(key, b"live", engine.now() + 60, must_create=True)
    for _ in range(5):
        engine.save(new_key(), b"dead", engine.now() - 60, must_create=True)
    assert engine.clear_expired() == 5
    assert all(engine.load(key) == b"live" for key in live)
    assert engine.clear_expired() == 0


def test_clear_expired_deletes_in_batches(
    make_engine: Callable[..., DbEngine], raw: sqlite3.Connection
) -> None:
    engine = make_engine(batch_size=100)
    past = engine.now() - 60
    raw.executemany(
        "INSERT INTO sessionware_session (session_key, session_data, expires_at) "
        "VALUES (?, x'00', ?)",
        [(new_key(), past - i) for i in range(450)],
    )
    seen: list[int] = []
    assert engine.clear_expired(progress=seen.append) == 450
    assert seen == [100, 200, 300, 400, 450]


def test_clear_expired_with_nothing_to_do_reports_no_progress(engine: DbEngine) -> None:
    seen: list[int] = []
    assert engine.clear_expired(progress=seen.append) == 0
    assert seen == []


def test_clear_expired_uses_the_expiry_index(engine: DbEngine) -> None:
    conn = engine._conn()
    plan = conn.execute("EXPLAIN QUERY PLAN " + engine._sql_expired, (0.0, 1)).fetchall()
    assert any("COVERING INDEX sessionware_session_expires_at" in str(step) for step in plan)
    plan = conn.execute("EXPLAIN QUERY PLAN " + engine._sql_purge, (1, 0.0)).fetchall()
    assert any("INTEGER PRIMARY KEY" in str(step) for step in plan)


def test_clear_expired_keeps_a_row_saved_with_a_later_expiry_meanwhile(
    make_engine: Callable[..., DbEngine], raw: sqlite3.Connection
) -> None:
    engine = make_engine(batch_size=2)
    past = engine.now() - 60
    keys = [new_key() for _ in range(5)]
    raw.executemany(
        "INSERT INTO sessionware_session (session_key, session_data, expires_at) "
        "VALUES (?, x'00', ?)",
        [(key, past) for key in keys],
    )

    def revive(removed: int) -> None:
        # Between two batches, a request extends the last session (as a save would).
        raw.execute(
            "UPDATE sessionware_session SET expires_at = ? WHERE session_key = ?",
            (engine.now() + 60, keys[-1]),
        )

    assert engine.clear_expired(progress=revive) == 4
    assert engine.load(keys[-1]) == b"\x00"


def test_clear_expired_restores_the_connection_settings(engine: DbEngine) -> None:
    conn = engine._conn()
    before = [conn.execute(f"PRAGMA {name}").fetchone() for name in SETTINGS]
    engine.save(new_key(), b"x", engine.now() - 1, must_create=True)
    assert engine.clear_expired() == 1
    assert [conn.execute(f"PRAGMA {name}").fetchone() for name in SETTINGS] == before


def test_clear_expired_logs_each_batch_at_debug(
    make_engine: Callable[..., DbEngine],
    raw: sqlite3.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = make_engine(batch_size=3)
    past = engine.now() - 60
    raw.executemany(
        "INSERT INTO sessionware_session (session_key, session_data, expires_at) "
        "VALUES (?, x'00', ?)",
        [(new_key(), past) for _ in range(5)],
    )
    with caplog.at_level(logging.DEBUG, logger="sessionware.db"):
        assert engine.clear_expired() == 5
    batches = [r for r in caplog.records if hasattr(r, "lock_seconds")]
    assert [r.rows for r in batches] == [3, 2]
    assert all(r.lock_seconds >= 0 and r.checkpoint_seconds >= 0 for r in batches)


class ScriptedCheckpoints:
    """Stands in for the connection in ``_checkpoint``: PRAGMA wal_checkpoint answers, scripted."""

    def __init__(self, *answers: tuple[int, int, int]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def execute(self, sql: str) -> ScriptedCheckpoints:
        assert sql == "PRAGMA wal_checkpoint(PASSIVE)"
        self.calls += 1
        return self

    def fetchone(self) -> tuple[int, int, int]:
        return self.answers.pop(0)


@pytest.mark.parametrize(
    ("answers", "calls"),
    [
        # A small WAL: one checkpoint, no pause.
        ([(0, 3000, 3000)], 1),
        # Another connection is checkpointing: leave it to it.
        ([(1, -1, -1)], 1),
        # A large WAL that a request's write starts over after two pauses.
        ([(0, 9000, 9000), (0, 9004, 9000), (1, -1, -1), (0, 6, 6)], 4),
        # All copied and no one wrote during a pause: the purge's next write starts it over.
        ([(0, 9000, 9000), (0, 9000, 9000)], 2),
        # Requests keep writing and never let it start over: the pauses are bounded.
        ([(0, 9000, 9000)] + [(0, 9000 + 4 * i, 9000) for i in range(1, 11)], 11),
    ],
)
def test_the_purge_waits_boundedly_for_the_wal_to_start_over(
    engine: DbEngine,
    monkeypatch: pytest.MonkeyPatch,
    answers: list[tuple[int, int, int]],
    calls: int,
) -> None:
    monkeypatch.setattr("sessionware_db._purge._WAL_RESTART_FRAMES", 8192)
    monkeypatch.setattr("sessionware_db._purge._WAL_RESTART_TRIES", 10)
    monkeypatch.setattr("sessionware_db._purge.time.sleep", lambda seconds: None)
    conn = ScriptedCheckpoints(*answers)
    checkpoint(conn)  # type: ignore[arg-type]
    assert (conn.calls, conn.answers) == (calls, [])


async def test_async_twins_run_the_sync_operations(engine: DbEngine) -> None:
    key = new_key()
    await engine.asave(key, b"x", engine.now() + 60, True)
    assert await engine.aload(key) == b"x"
    assert await engine.aexists(key) is True
    await engine.adelete(key)
    assert await engine.aload(key) is None
    engine.save(new_key(), b"x", engine.now() - 1, must_create=True)
    assert await engine.aclear_expired() == 1


def test_each_thread_gets_its_own_connection(engine: DbEngine) -> None:
    seen: list[sqlite3.Connection] = []

    def grab() -> None:
        seen.append(engine._conn())

    threads = [threading.Thread(target=grab) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seen.append(engine._conn())
    assert len({id(c) for c in seen}) == 4
    assert engine._conn() is seen[-1]


def test_close_closes_the_connections_of_every_thread(engine: DbEngine) -> None:
    opened: list[sqlite3.Connection] = [engine._conn()]
    release = threading.Event()
    ready = threading.Event()

    def hold() -> None:
        opened.append(engine._conn())
        ready.set()
        release.wait(5)

    worker = threading.Thread(target=hold)
    worker.start()
    ready.wait(5)
    engine.close()
    release.set()
    worker.join()
    for conn in opened:
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT 1")


def test_engine_reopens_after_close(engine: DbEngine) -> None:
    key = new_key()
    engine.save(key, b"x", engine.now() + 60, must_create=True)
    engine.close()
    assert engine.load(key) == b"x"
    engine.close()
    engine.close()


def test_connections_of_finished_threads_are_closed(engine: DbEngine) -> None:
    first: list[sqlite3.Connection] = []
    worker = threading.Thread(target=lambda: first.append(engine._conn()))
    worker.start()
    worker.join()
    # Opening a connection in a new thread sweeps those of threads that ended.
    later = threading.Thread(target=engine._conn)
    later.start()
    later.join()
    with pytest.raises(sqlite3.ProgrammingError):
        first[0].execute("SELECT 1")


def test_threads_writing_concurrently_lose_nothing(engine: DbEngine) -> None:
    keys: list[list[str]] = [[new_key() for _ in range(50)] for _ in range(6)]
    errors: list[BaseException] = []

    def work(mine: list[str]) -> None:
        try:
            for key in mine:
                engine.save(key, key.encode(), engine.now() + 60, must_create=True)
                engine.save(key, key.encode() * 2, engine.now() + 60)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(engine.load(k) == k.encode() * 2 for mine in keys for k in mine)


def test_database_locked_past_the_timeout_raises_engine_unavailable(
    make_engine: Callable[..., DbEngine], raw: sqlite3.Connection, db_path: Path
) -> None:
    engine = make_engine(timeout=0.05)
    raw.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sessionware.EngineUnavailable, match="busy timeout") as info:
            engine.save(new_key(), b"x", engine.now() + 60, must_create=True)
    finally:
        raw.execute("ROLLBACK")
    assert info.value.address == str(db_path)
    key = new_key()
    engine.save(key, b"x", engine.now() + 60, must_create=True)
    assert engine.load(key) == b"x"


def test_readers_are_not_blocked_by_a_writer(
    make_engine: Callable[..., DbEngine], raw: sqlite3.Connection
) -> None:
    engine = make_engine(timeout=0.05)
    key = new_key()
    engine.save(key, b"x", engine.now() + 60, must_create=True)
    raw.execute("BEGIN IMMEDIATE")
    try:
        assert engine.load(key) == b"x"
    finally:
        raw.execute("ROLLBACK")


def test_corrupted_file_raises_engine_unavailable(engine: DbEngine, db_path: Path) -> None:
    key = new_key()
    engine.save(key, b"x", engine.now() + 60, must_create=True)
    engine.close()
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    db_path.write_bytes(b"garbage, not a database " * 500)
    with pytest.raises(sessionware.EngineUnavailable, match="corrupted") as info:
        engine.load(key)
    assert info.value.address == str(db_path)
    with pytest.raises(sessionware.EngineUnavailable):
        engine.save(key, b"y", engine.now() + 60)
