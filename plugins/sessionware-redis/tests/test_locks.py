"""Session locks (issue 12) on a real Redis: SET NX PX with a token, compare-and-delete."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
import redis.cluster
from sessionware_redis import RedisEngine

import sessionware
from sessionware.testing import count_lost_updates

Make = Callable[..., RedisEngine]


def new_key() -> str:
    return sessionware.new_session_key()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_acquire_sets_a_token_with_a_ttl_and_a_second_acquire_returns_none(
    make_engine: Make, raw: redis.Redis
) -> None:
    one = make_engine()
    two = make_engine(prefix=one.prefix)  # another process of the same site
    key = new_key()
    token = one.acquire_lock(key, 12.5)
    assert isinstance(token, str) and len(token) == 32 and int(token, 16) >= 0
    name = f"{one.prefix}lock:{key}"
    assert raw.get(name) == token.encode()
    assert 12_000 < raw.pttl(name) <= 12_500
    assert one.acquire_lock(key, 30) is None
    assert two.acquire_lock(key, 30) is None
    one.release_lock(key, token)
    assert raw.exists(name) == 0
    again = two.acquire_lock(key, 30)
    assert again is not None and again != token


def test_release_by_a_wrong_token_or_key_does_nothing(make_engine: Make) -> None:
    engine = make_engine()
    key, other = new_key(), new_key()
    token = engine.acquire_lock(key, 30)
    assert token is not None
    engine.release_lock(key, "0" * 32)
    engine.release_lock(other, token)
    engine.release_lock("../x", token)
    assert engine.acquire_lock(key, 30) is None
    engine.release_lock(key, token)
    engine.release_lock(key, token)  # twice: no error
    assert engine.acquire_lock(key, 30) is not None


def test_a_token_is_the_holder_not_the_process(make_engine: Make) -> None:
    # In Redis the lease lives on the server: whoever has the token may release it
    # (the session hands it over), and nobody else.
    one = make_engine()
    two = make_engine(prefix=one.prefix)
    key = new_key()
    token = one.acquire_lock(key, 30)
    assert token is not None
    two.release_lock(key, token)
    assert one.acquire_lock(key, 30) is not None


def test_locks_of_two_keys_are_independent(engine: RedisEngine) -> None:
    a, b = new_key(), new_key()
    token_a = engine.acquire_lock(a, 30)
    assert token_a is not None
    assert engine.acquire_lock(b, 30) is not None
    engine.release_lock(a, token_a)
    assert engine.acquire_lock(a, 30) is not None
    assert engine.acquire_lock(b, 30) is None


def test_an_expired_lease_can_be_taken_and_the_old_holder_cannot_release_it(
    engine: RedisEngine,
) -> None:
    key = new_key()
    old = engine.acquire_lock(key, 0.05)
    assert old is not None
    assert engine.acquire_lock(key, 30) is None
    time.sleep(0.08)
    new = engine.acquire_lock(key, 30)
    assert new is not None
    engine.release_lock(key, old)  # the crashed-and-back holder: no effect on the new one
    assert engine.acquire_lock(key, 30) is None
    engine.release_lock(key, new)
    assert engine.acquire_lock(key, 30) is not None


def test_the_lock_key_never_names_a_session_and_locking_creates_none(
    engine: RedisEngine, raw: redis.Redis
) -> None:
    key = new_key()
    token = engine.acquire_lock(key, 30)
    assert token is not None
    assert engine.load(key) is None and engine.exists(key) is False
    engine.save(key, b"one", time.time() + 60, must_create=True)  # the holder writes freely
    engine.save(key, b"two", time.time() + 60)
    assert engine.load_versioned(key) is not None
    engine.release_lock(key, token)
    assert engine.load(key) == b"two"
    assert not engine.is_valid_key(f"lock:{key}")


def test_invalid_key_and_ttl_are_refused(engine: RedisEngine) -> None:
    with pytest.raises(sessionware.InvalidSessionKey):
        engine.acquire_lock("../etc/passwd", 30)
    for ttl in (0, -1, float("nan"), float("inf"), True, "10"):
        with pytest.raises(ValueError, match="ttl"):
            engine.acquire_lock(new_key(), ttl)  # type: ignore[arg-type]


def test_a_sub_millisecond_ttl_still_sets_a_lease(engine: RedisEngine, raw: redis.Redis) -> None:
    key = new_key()
    assert engine.acquire_lock(key, 0.0001) is not None  # PX 1, never PX 0 (an error)


def test_unreachable_redis_raises_engine_unavailable() -> None:
    engine = RedisEngine(url=closed_port_url(), socket_connect_timeout=1)
    with pytest.raises(sessionware.EngineUnavailable) as info:
        engine.acquire_lock(new_key(), 30)
    assert info.value.address == engine.address
    with pytest.raises(sessionware.EngineUnavailable):
        engine.release_lock(new_key(), "0" * 32)
    engine.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_holds_no_lock_of_the_parent(engine: RedisEngine) -> None:
    key = new_key()
    token = engine.acquire_lock(key, 30)
    assert token is not None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, b"busy" if engine.acquire_lock(key, 30) is None else b"took")
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    assert report == b"busy"
    engine.release_lock(key, token)


# -- async twins, natively ------------------------------------------------------------------


async def test_async_twins_follow_the_same_rules_without_threads(
    make_engine: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_threads(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a native async twin ran in a thread")

    monkeypatch.setattr(asyncio, "to_thread", no_threads)
    engine = make_engine()
    key, other = new_key(), new_key()
    token = await engine.aacquire_lock(key, 30)
    assert token is not None
    assert await engine.aacquire_lock(key, 30) is None
    assert await engine.aacquire_lock(other, 30) is not None
    await engine.arelease_lock(key, "f" * 32)
    assert await engine.aacquire_lock(key, 30) is None
    await engine.arelease_lock(key, token)
    short = await engine.aacquire_lock(key, 0.02)
    assert short is not None
    await asyncio.sleep(0.05)
    assert await engine.aacquire_lock(key, 30) is not None  # the short lease ran out
    await engine.arelease_lock(key, short)  # harmless


async def test_async_unreachable_redis_raises_engine_unavailable() -> None:
    engine = RedisEngine(url=closed_port_url(), socket_connect_timeout=1)
    with pytest.raises(sessionware.EngineUnavailable):
        await engine.aacquire_lock(new_key(), 30)
    with pytest.raises(sessionware.EngineUnavailable):
        await engine.arelease_lock(new_key(), "0" * 32)
    await engine.aclose()


def test_locks_work_on_a_cluster(make_cluster_engine: Make) -> None:
    engine = make_cluster_engine()
    keys = [new_key() for _ in range(8)]
    tokens = [engine.acquire_lock(k, 30) for k in keys]
    assert all(tokens)
    assert all(engine.acquire_lock(k, 30) is None for k in keys)
    for k, token in zip(keys, tokens, strict=True):
        assert token is not None
        engine.release_lock(k, token)
    assert all(engine.acquire_lock(k, 30) for k in keys)


def test_two_processes_under_the_lock_lose_no_update_of_a_shared_key(
    engine: RedisEngine, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cycles = 1000  # the full 2 x 2,000: bench/race_engines.py
    result = count_lost_updates(
        RedisEngine,
        {"url": redis_url, "prefix": engine.prefix},
        mode="locked",
        cycles=cycles,
        same_key=True,
    )
    with capsys.disabled():
        print(f"\nredis engine, {result}")
    assert result.overlapped
    assert result.lost == 0, result
    assert result.final == {"n": 2 * cycles}
