"""Session locks (issue 12): flock on ``<prefix><key>.lock``, never waited for, sync and async."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sessionware_file import FileEngine, _locks
from sessionware_file._locks import LEASE

import sessionware
from sessionware.testing import count_lost_updates, expired, expires_in


def new_key() -> str:
    return sessionware.new_session_key()


def lock_file(engine: FileEngine, key: str) -> Path:
    return Path(engine.path) / f"{engine.prefix}{key}.lock"


def lease_of(engine: FileEngine, key: str) -> tuple[bytes, int, float, float]:
    return LEASE.unpack(lock_file(engine, key).read_bytes()[: LEASE.size])  # type: ignore[return-value]


def make_old(path: Path, seconds: float = 7200) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


# -- the contract ------------------------------------------------------------------------


def test_acquire_returns_a_random_token_and_a_second_acquire_returns_none(
    make_engine: Callable[..., FileEngine],
) -> None:
    one, two = make_engine(), make_engine()
    key = new_key()
    token = one.acquire_lock(key, 30)
    assert isinstance(token, str) and len(token) == 32 and int(token, 16) >= 0
    assert one.acquire_lock(key, 30) is None  # the same engine: tokens are per holder
    assert two.acquire_lock(key, 30) is None
    one.release_lock(key, token)
    again = two.acquire_lock(key, 30)
    assert again is not None and again != token


def test_release_by_a_wrong_token_or_key_does_nothing(
    make_engine: Callable[..., FileEngine],
) -> None:
    one, two = make_engine(), make_engine()
    key, other = new_key(), new_key()
    token = one.acquire_lock(key, 30)
    assert token is not None
    one.release_lock(key, "0" * 32)
    one.release_lock(other, token)
    two.release_lock(key, token)  # a token of another engine (process) releases nothing
    assert two.acquire_lock(key, 30) is None
    one.release_lock(key, token)
    one.release_lock(key, token)  # twice: no error
    assert two.acquire_lock(key, 30) is not None


def test_locks_of_two_keys_are_independent(make_engine: Callable[..., FileEngine]) -> None:
    one, two = make_engine(), make_engine()
    a, b = new_key(), new_key()
    token_a = one.acquire_lock(a, 30)
    assert token_a is not None
    token_b = two.acquire_lock(b, 30)
    assert token_b is not None
    one.release_lock(a, token_a)
    assert two.acquire_lock(a, 30) is not None
    assert one.acquire_lock(b, 30) is None


def test_an_expired_lease_of_a_live_holder_is_broken_and_its_release_is_harmless(
    make_engine: Callable[..., FileEngine], caplog: pytest.LogCaptureFixture
) -> None:
    hung, other, third = make_engine(), make_engine(), make_engine()
    key = new_key()
    old = hung.acquire_lock(key, 0.05)
    assert old is not None
    assert other.acquire_lock(key, 30) is None  # the lease still runs
    time.sleep(0.08)
    with caplog.at_level("WARNING", logger="sessionware.file"):
        new = other.acquire_lock(key, 30)
    assert new is not None
    assert "broke the lock" in caplog.text and key not in caplog.text  # never the whole key
    hung.release_lock(key, old)  # the hung holder wakes up: the new holder keeps its lock
    assert third.acquire_lock(key, 30) is None
    other.release_lock(key, new)
    assert third.acquire_lock(key, 30) is not None


def test_only_one_of_many_acquirers_breaks_an_expired_lease(
    make_engine: Callable[..., FileEngine],
) -> None:
    engines = [make_engine() for _ in range(6)]
    winners_per_round = []
    for _ in range(15):
        key = new_key()
        assert engines[0].acquire_lock(key, 0.01) is not None  # then hangs
        time.sleep(0.02)
        barrier = threading.Barrier(5)
        tokens: list[str | None] = []

        def contend(
            engine: FileEngine, key: str = key, barrier: Any = barrier, tokens: Any = tokens
        ) -> None:
            barrier.wait()
            tokens.append(engine.acquire_lock(key, 60))

        threads = [threading.Thread(target=contend, args=(e,)) for e in engines[1:]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners_per_round.append(sum(token is not None for token in tokens))
    assert max(winners_per_round) == 1, winners_per_round
    assert winners_per_round.count(1) >= 1


def test_the_lease_is_recorded_in_the_lock_file_and_cleared_on_release(
    engine: FileEngine,
) -> None:
    key = new_key()
    before = time.time()
    token = engine.acquire_lock(key, 12.5)
    assert token is not None
    magic, version, taken_at, expires_at = lease_of(engine, key)
    assert (magic, version) == (b"SWSL", 1)
    assert before <= taken_at <= time.time() and expires_at == pytest.approx(taken_at + 12.5)
    assert oct(lock_file(engine, key).stat().st_mode & 0o777) == "0o600"
    engine.release_lock(key, token)
    assert lock_file(engine, key).read_bytes()[: LEASE.size] == bytes(LEASE.size)


def test_the_lock_is_a_separate_file_and_the_engine_still_writes_the_session(
    engine: FileEngine, make_engine: Callable[..., FileEngine]
) -> None:
    key = new_key()
    engine.save(key, b"one", expires_in(), must_create=True)
    token = engine.acquire_lock(key, 30)
    assert token is not None
    other = make_engine()
    engine.save(key, b"two", expires_in())  # the holder saves under its lock
    other.save(key, b"three", expires_in())  # a writer without the lock is not blocked either
    loaded = other.load_versioned(key)
    assert loaded is not None and loaded[0] == b"three"
    assert sorted(os.listdir(engine.path)) == sorted(
        [f"{engine.prefix}{key}", f"{engine.prefix}{key}.lock"]
    )
    engine.release_lock(key, token)


def test_a_session_need_not_exist_to_be_locked(engine: FileEngine) -> None:
    key = new_key()
    token = engine.acquire_lock(key, 30)
    assert token is not None
    assert engine.load(key) is None  # locking creates no session
    engine.release_lock(key, token)


def test_invalid_key_and_ttl_are_refused(engine: FileEngine) -> None:
    with pytest.raises(sessionware.InvalidSessionKey):
        engine.acquire_lock("../etc/passwd", 30)
    for ttl in (0, -1, float("nan"), float("inf"), True, "10"):
        with pytest.raises(ValueError, match="ttl"):
            engine.acquire_lock(new_key(), ttl)  # type: ignore[arg-type]
    engine.release_lock("../etc/passwd", "x")  # nothing held: nothing happens


def test_a_lock_file_that_is_a_link_is_never_followed(engine: FileEngine, tmp_path: Path) -> None:
    key = new_key()
    target = tmp_path / "target"
    target.write_bytes(b"not yours")
    lock_file(engine, key).symlink_to(target)
    assert engine.acquire_lock(key, 30) is None
    assert target.read_bytes() == b"not yours"


def test_close_releases_every_lock_the_engine_holds(
    make_engine: Callable[..., FileEngine],
) -> None:
    one, two = make_engine(), make_engine()
    keys = [new_key() for _ in range(3)]
    for key in keys:
        assert one.acquire_lock(key, 30) is not None
    one.close()
    for key in keys:
        assert two.acquire_lock(key, 30) is not None


def test_unreachable_directory_raises_engine_unavailable(
    make_engine: Callable[..., FileEngine], tmp_path: Path
) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    engine = make_engine(path=volume)
    volume.rmdir()
    with pytest.raises(sessionware.EngineUnavailable) as raised:
        engine.acquire_lock(new_key(), 30)
    assert raised.value.address == str(volume)


# -- processes -----------------------------------------------------------------------------

HOLDER = r"""
import sys, time
from sessionware_file import FileEngine
engine = FileEngine(path=sys.argv[1])
token = engine.acquire_lock(sys.argv[2], 60)
print("held" if token else "busy", flush=True)
time.sleep(60)
"""


def test_a_holder_that_dies_frees_the_lock_at_once(engine: FileEngine) -> None:
    key = new_key()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, engine.path, key], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.perf_counter()
        assert engine.acquire_lock(key, 30) is None
        assert time.perf_counter() - started < 0.05  # tried once, never waited
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert engine.acquire_lock(key, 30) is not None  # the 60 s lease did not matter
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_holds_none_of_the_parents_locks(
    engine: FileEngine, make_engine: Callable[..., FileEngine]
) -> None:
    key = new_key()
    token = engine.acquire_lock(key, 30)
    assert token is not None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then exit without any cleanup
        try:
            child = (
                len(engine._locks),
                engine.acquire_lock(key, 30) is None,  # the parent still holds it
            )
            engine.release_lock(key, token)  # the parent's token means nothing here
            os.write(write, repr(child).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    assert report == "(0, True)"
    other = make_engine()
    assert other.acquire_lock(key, 30) is None  # neither the child's release nor its exit freed it
    engine.release_lock(key, token)
    assert other.acquire_lock(key, 30) is not None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_the_parent_releases_even_while_a_forked_child_lives(
    engine: FileEngine, make_engine: Callable[..., FileEngine]
) -> None:
    key = new_key()
    token = engine.acquire_lock(key, 30)
    assert token is not None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.read(read, 1)  # wait until the parent has released
        finally:
            os._exit(0)
    try:
        engine.release_lock(key, token)
        assert make_engine().acquire_lock(key, 30) is not None
    finally:
        os.write(write, b"x")
        os.close(write)
        os.close(read)
        os.waitpid(pid, 0)


def test_two_processes_under_the_lock_lose_no_update_of_a_shared_key(
    engine: FileEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    cycles = 2000
    result = count_lost_updates(
        FileEngine, {"path": engine.path}, mode="locked", cycles=cycles, same_key=True
    )
    with capsys.disabled():
        print(f"\nfile engine, {result}")
    assert result.overlapped
    assert result.lost == 0, result
    assert result.final == {"n": 2 * cycles}


# -- the purge ------------------------------------------------------------------------------


def test_clear_expired_removes_stale_free_lock_files_only(
    make_engine: Callable[..., FileEngine],
) -> None:
    engine, holder = make_engine(), make_engine()
    stale, fresh, held = new_key(), new_key(), new_key()
    for key in (stale, fresh):
        token = engine.acquire_lock(key, 30)
        assert token is not None
        engine.release_lock(key, token)
    assert holder.acquire_lock(held, 30) is not None
    make_old(lock_file(engine, stale))
    make_old(lock_file(engine, held))
    gone = new_key()
    engine.save(gone, b"x", expired(), must_create=True)
    assert engine.clear_expired() == 1  # the expired session; lock files are not counted
    assert not lock_file(engine, stale).exists()
    assert lock_file(engine, fresh).exists() and lock_file(engine, held).exists()
    assert engine.acquire_lock(held, 30) is None
    assert engine.acquire_lock(stale, 30) is not None  # recreated on next use


def test_a_lock_file_purged_between_open_and_flock_is_not_trusted(
    make_engine: Callable[..., FileEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, other = make_engine(), make_engine()
    key = new_key()
    token = engine.acquire_lock(key, 30)
    assert token is not None
    engine.release_lock(key, token)
    purged = []

    class FcntlView:
        """``fcntl`` as the lock module sees it: a purge strikes between open and flock."""

        def __getattr__(self, name: str) -> Any:
            return getattr(fcntl, name)

        @staticmethod
        def flock(fd: int, op: int) -> None:
            if op == fcntl.LOCK_EX | fcntl.LOCK_NB and not purged and os.fstat(fd).st_size:
                purged.append(True)
                lock_file(engine, key).unlink()  # clear_expired, between our open and flock
            fcntl.flock(fd, op)

    monkeypatch.setattr(_locks, "fcntl", FcntlView())
    new = other.acquire_lock(key, 30)
    monkeypatch.undo()
    assert purged and new is not None
    # The token names the lock file that now exists, not the unlinked one.
    assert engine.acquire_lock(key, 30) is None
    other.release_lock(key, new)


# -- async twins ------------------------------------------------------------------------------


async def test_async_twins_follow_the_same_rules(make_engine: Callable[..., FileEngine]) -> None:
    one, two = make_engine(), make_engine()
    key = new_key()
    token = await one.aacquire_lock(key, 30)
    assert token is not None
    assert await two.aacquire_lock(key, 30) is None
    await two.arelease_lock(key, token)
    await one.arelease_lock(key, "f" * 32)
    assert await two.aacquire_lock(key, 30) is None
    await one.arelease_lock(key, token)
    other = await two.aacquire_lock(key, 0.01)
    assert other is not None
    await asyncio.sleep(0.03)
    assert await one.aacquire_lock(key, 30) is not None  # the short lease ran out
