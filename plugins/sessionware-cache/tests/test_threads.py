"""Many threads on one engine: nothing lost, nothing resurrected, one winner per create race."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import pytest
from sessionware_cache import CacheEngine

import sessionware
from sessionware.testing import expires_in, run_in_threads

THREADS = 8


@pytest.fixture(autouse=True)
def switch_often() -> Iterator[None]:
    # Switch threads every few bytecodes rather than every 5 ms, so the
    # threads really interleave inside the engine calls.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def new_key() -> str:
    return sessionware.new_session_key()


def test_concurrent_create_update_delete_keeps_counts_consistent(engine: CacheEngine) -> None:
    rounds = 300

    def worker(i: int) -> tuple[set[str], dict[str, bytes]]:
        kept: dict[str, bytes] = {}
        deleted: set[str] = set()
        for n in range(rounds):
            key = new_key()
            engine.save(key, b"v0", expires_in(), must_create=True)
            engine.save(key, f"{i}:{n}".encode(), expires_in())
            if n % 3 == 0:
                engine.delete(key)
                deleted.add(key)
            else:
                kept[key] = f"{i}:{n}".encode()
        return deleted, kept

    results, errors = run_in_threads(THREADS, worker)
    assert errors == []
    kept = {k: v for r in results if r for k, v in r[1].items()}
    deleted = {k for r in results if r for k in r[0]}
    assert len(kept) == THREADS * rounds * 2 // 3
    assert engine.size == len(kept)
    assert all(engine.load(k) == v for k, v in kept.items())
    assert not any(engine.exists(k) for k in deleted)
    assert engine.evictions == 0


def test_concurrent_updates_of_one_session_all_succeed(engine: CacheEngine) -> None:
    key = new_key()
    engine.save(key, b"start", expires_in(), must_create=True)
    written = {f"{i}:{n}".encode() for i in range(THREADS) for n in range(200)}

    def worker(i: int) -> None:
        for n in range(200):
            engine.save(key, f"{i}:{n}".encode(), expires_in())

    _, errors = run_in_threads(THREADS, worker)
    assert errors == []
    assert engine.load(key) in written
    assert engine.size == 1


@pytest.mark.parametrize("round_", range(20))
def test_racing_creates_of_one_key_have_exactly_one_winner(
    engine: CacheEngine, round_: int
) -> None:
    key = new_key()
    racers = 16

    def create(i: int) -> bool:
        try:
            engine.save(key, f"racer {i}".encode(), expires_in(), must_create=True)
        except sessionware.CreateError:
            return False
        return True

    results, errors = run_in_threads(racers, create)
    assert errors == []
    winners = [i for i, won in enumerate(results) if won]
    assert len(winners) == 1
    assert engine.load(key) == f"racer {winners[0]}".encode()


@pytest.mark.parametrize("round_", range(10))
def test_updates_racing_a_delete_never_resurrect_the_session(
    engine: CacheEngine, round_: int
) -> None:
    key = new_key()
    engine.save(key, b"alive", expires_in(), must_create=True)

    def race(i: int) -> None:
        if i == 0:
            engine.delete(key)
            return
        for _ in range(200):
            try:
                engine.save(key, b"update", expires_in())
            except sessionware.UpdateError:
                return

    _, errors = run_in_threads(4, race)
    assert errors == []
    assert engine.exists(key) is False
    assert engine.load(key) is None


def test_concurrent_creates_in_a_full_cache_stay_within_maxsize(
    make_engine: Callable[..., CacheEngine],
) -> None:
    engine = make_engine(maxsize=50)
    per_thread = 200

    def worker(i: int) -> list[str]:
        keys = [new_key() for _ in range(per_thread)]
        for key in keys:
            engine.save(key, b"x", expires_in(), must_create=True)
            assert engine.size <= 50
        return keys

    results, errors = run_in_threads(THREADS, worker)
    assert errors == []
    created = [k for r in results if r for k in r]
    assert engine.size == 50
    assert engine.evictions == len(created) - 50
    assert sum(engine.exists(k) for k in created) == 50
