"""session.lock() / session.alock(): a per-session lease around a read-modify-write (issue 12)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import sessionware
from sessionware import (
    BlockingCallWarning,
    Capabilities,
    ConfigurationError,
    LockTimeout,
    SessionStore,
)
from sessionware.testing import MemoryEngine, ReferenceSerializer


@pytest.fixture(params=["cache", "db"])
def Store(request: pytest.FixtureRequest, tmp_path: Path) -> type[SessionStore]:
    options = {"path": str(tmp_path / "s.db")} if request.param == "db" else {}
    return sessionware.session_store(engine=request.param, **options)


def stored(Store: type[SessionStore], **data: Any) -> str:
    s = Store()
    s.update(data)
    s.save()
    assert s.session_key is not None
    return s.session_key


def test_the_lock_makes_increments_of_one_key_exclusive(Store: type[SessionStore]) -> None:
    key = stored(Store, n=0)

    def work() -> None:
        for _ in range(25):
            s = Store(key)
            with s.lock(timeout=30):
                s["n"] += 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Store(key).load() == {"n": 100}


def test_the_block_sees_fresh_data_and_is_saved_before_release(Store: type[SessionStore]) -> None:
    key = stored(Store, n=0)
    s = Store(key)
    s.load()
    other = Store(key)
    other["n"] = 5
    other.save()
    with s.lock():
        assert s["n"] == 5  # reloaded under the lock
        s["n"] += 1
    assert Store(key).load() == {"n": 6}


def test_changes_made_before_the_lock_are_kept(Store: type[SessionStore]) -> None:
    key = stored(Store, n=0, seen=False)
    s = Store(key)
    s["seen"] = True
    other = Store(key)
    other["n"] = 3
    other.save()
    with s.lock():
        s["n"] += 1
    assert Store(key).load() == {"n": 4, "seen": True}


def test_a_block_that_raises_releases_without_saving(Store: type[SessionStore]) -> None:
    key = stored(Store, n=0)
    s = Store(key)
    with pytest.raises(RuntimeError), s.lock():
        s["n"] = 99
        raise RuntimeError("boom")
    assert Store(key).load() == {"n": 0}
    with Store(key).lock(timeout=0):  # released: free at once
        pass


def test_a_held_lock_times_out_with_lock_timeout(Store: type[SessionStore]) -> None:
    key = stored(Store, n=0)
    engine: Any = Store.engine
    assert engine.acquire_lock(key, 30) is not None
    started = time.monotonic()
    with pytest.raises(LockTimeout, match=r"within 0\.05 s"), Store(key).lock(timeout=0.05):
        pass
    assert 0.04 <= time.monotonic() - started < 1


def test_an_expired_lease_is_taken_over(Store: type[SessionStore]) -> None:
    key = stored(Store, n=0)
    engine: Any = Store.engine
    assert engine.acquire_lock(key, 0.05) is not None  # a holder that crashed
    with Store(key).lock(timeout=5) as s:
        s["n"] = 1
    assert Store(key).load() == {"n": 1}


def test_the_lock_of_one_session_never_blocks_another(Store: type[SessionStore]) -> None:
    first, second = stored(Store, n=0), stored(Store, n=0)
    engine: Any = Store.engine
    assert engine.acquire_lock(first, 30) is not None
    with Store(second).lock(timeout=0) as s:
        s["n"] = 1


def test_a_new_session_needs_no_lock_and_is_saved(Store: type[SessionStore]) -> None:
    s = Store()
    with s.lock():
        s["n"] = 1
    assert s.session_key is not None and Store(s.session_key).load() == {"n": 1}


def test_engines_without_locking_say_so() -> None:
    engine = MemoryEngine(
        capabilities=Capabilities(shared_across_processes=False, local=True, inline_async=True)
    )
    Store = sessionware.session_store(
        engine_instance=engine, serializer_instance=ReferenceSerializer()
    )
    with pytest.raises(ConfigurationError, match="kit_memory") as info, Store().lock():
        pass
    assert info.value.field == "engine"


@pytest.mark.parametrize("bad", [{"timeout": -1}, {"ttl": 0}, {"timeout": "1"}])
def test_bad_timeouts_are_refused(Store: type[SessionStore], bad: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)), Store().lock(**bad):
        pass


async def test_alock_waits_without_blocking_the_loop(Store: type[SessionStore]) -> None:
    s = Store()
    await s.aset("n", 0)
    await s.asave()
    key = s.session_key
    assert key is not None
    engine: Any = Store.engine
    token = await engine.aacquire_lock(key, 30)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def release_soon() -> None:
        await asyncio.sleep(0.1)
        await engine.arelease_lock(key, token)

    tick = asyncio.create_task(ticker())
    release = asyncio.create_task(release_soon())
    locked = Store(key)
    async with locked.alock(timeout=5):
        await locked.aset("n", (await locked.aget("n")) + 1)
    tick.cancel()
    await release
    assert ticks >= 10  # the loop kept running while alock waited
    assert await Store(key).aload() == {"n": 1}


async def test_alock_times_out(Store: type[SessionStore]) -> None:
    s = Store()
    await s.aset("n", 0)
    await s.asave()
    assert s.session_key is not None
    engine: Any = Store.engine
    await engine.aacquire_lock(s.session_key, 30)
    with pytest.raises(LockTimeout):
        async with Store(s.session_key).alock(timeout=0.05):
            pass


async def test_a_sync_lock_that_waits_on_the_loop_warns() -> None:
    Store = sessionware.session_store(engine="cache")
    s = Store()
    s["n"] = 0
    s.save()
    assert s.session_key is not None
    Store.engine.acquire_lock(s.session_key, 30)  # type: ignore[attr-defined]
    with (
        pytest.warns(BlockingCallWarning),
        pytest.raises(LockTimeout),
        Store(s.session_key).lock(timeout=0.01),
    ):
        pass
