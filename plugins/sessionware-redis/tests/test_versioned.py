"""Versioned loads and compare-and-set saves (issue 12) on a real Redis, sync and async."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
import redis.cluster
from sessionware_redis import RedisEngine

import sessionware
from sessionware.testing import count_lost_updates, expired, expires_in

Make = Callable[..., RedisEngine]


def new_key() -> str:
    return sessionware.new_session_key()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def created(engine: RedisEngine, data: bytes = b"one") -> tuple[str, sessionware.Version]:
    key = new_key()
    assert engine.save_versioned(key, data, expires_in(), None)[0] == key
    loaded = engine.load_versioned(key)
    assert loaded is not None
    return key, loaded[1]


def test_capabilities_declare_versioned_and_locking() -> None:
    caps = RedisEngine.capabilities
    assert (caps.versioned, caps.locking, caps.native_async) == (True, True, True)


# -- load_versioned -------------------------------------------------------------------------


def test_load_versioned_returns_the_data_and_the_version_save_versioned_returned(
    engine: RedisEngine,
) -> None:
    key = new_key()
    cookie, version = engine.save_versioned(key, b"one", expires_in(), None)
    assert cookie == key
    assert engine.load_versioned(key) == (b"one", version)


def test_load_versioned_is_none_for_missing_expired_and_invalid_keys(
    engine: RedisEngine, raw: redis.Redis
) -> None:
    assert engine.load_versioned(new_key()) is None
    short = new_key()
    engine.save(short, b"x", time.time() + 0.05, must_create=True)
    time.sleep(0.1)
    assert engine.load_versioned(short) is None
    assert engine.load_versioned("../x") is None
    assert not list(raw.scan_iter(match=f"{engine.prefix}*"))  # never creates


# -- save_versioned --------------------------------------------------------------------------


def test_fresh_save_succeeds_changes_the_version_and_keeps_the_ttl(
    engine: RedisEngine, raw: redis.Redis
) -> None:
    key, v1 = created(engine)
    cookie, v2 = engine.save_versioned(key, b"two", expires_in(300), v1)
    assert cookie == key and v2 != v1
    assert engine.load_versioned(key) == (b"two", v2)
    assert 299_000 < raw.pttl(engine.prefix + key) <= 300_000


def test_stale_save_is_refused_and_writes_nothing(engine: RedisEngine, raw: redis.Redis) -> None:
    key, v1 = created(engine)
    _, v2 = engine.save_versioned(key, b"two", expires_in(300), v1)
    with pytest.raises(sessionware.VersionConflict, match="another writer"):
        engine.save_versioned(key, b"stale", expires_in(900), v1)
    assert engine.load_versioned(key) == (b"two", v2)
    assert raw.pttl(engine.prefix + key) <= 300_000  # the expiry was not touched either


def test_plain_save_changes_the_version_so_a_versioned_writer_conflicts(
    engine: RedisEngine,
) -> None:
    key, v1 = created(engine)
    engine.save(key, b"plain", expires_in())
    loaded = engine.load_versioned(key)
    assert loaded is not None and loaded == (b"plain", loaded[1]) and loaded[1] != v1
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"lost?", expires_in(), v1)
    assert engine.load(key) == b"plain"


def test_create_with_none_refuses_an_existing_key(engine: RedisEngine) -> None:
    key, version = created(engine)
    with pytest.raises(sessionware.CreateError):
        engine.save_versioned(key, b"other", expires_in(), None)
    assert engine.load_versioned(key) == (b"one", version)


def test_versioned_update_of_a_deleted_or_expired_session_raises_update_error(
    engine: RedisEngine, raw: redis.Redis
) -> None:
    key, version = created(engine)
    engine.delete(key)
    with pytest.raises(sessionware.UpdateError):
        engine.save_versioned(key, b"zombie", expires_in(), version)
    assert raw.exists(engine.prefix + key) == 0  # never resurrected
    short = new_key()
    _, version = engine.save_versioned(short, b"short", time.time() + 0.05, None)
    time.sleep(0.1)
    with pytest.raises(sessionware.UpdateError):
        engine.save_versioned(short, b"zombie", expires_in(), version)
    assert raw.exists(engine.prefix + short) == 0


def test_missing_session_wins_over_a_wrong_version(engine: RedisEngine) -> None:
    with pytest.raises(sessionware.UpdateError):
        engine.save_versioned(new_key(), b"x", expires_in(), "not a version")


def test_a_versioned_save_with_a_past_expiry_deletes_only_if_the_version_matches(
    engine: RedisEngine, raw: redis.Redis
) -> None:
    key, version = created(engine)
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"x", expired(), "0" * 40)
    assert engine.load(key) == b"one"
    engine.save_versioned(key, b"x", expired(), version)
    assert raw.exists(engine.prefix + key) == 0


def test_versions_of_other_types_never_match(engine: RedisEngine) -> None:
    key, version = created(engine)
    assert isinstance(version, str)
    for wrong in (version.encode(), 0, version.upper(), "-"):
        with pytest.raises(sessionware.VersionConflict):
            engine.save_versioned(key, b"x", expires_in(), wrong)
    assert engine.load(key) == b"one"


def test_values_written_before_versioning_are_versioned_by_their_digest(
    engine: RedisEngine, raw: redis.Redis
) -> None:
    # A value as earlier releases (and plain save) wrote it: the serializer's bytes alone.
    key = new_key()
    raw.set(engine.prefix + key, b"\x00old\xff", px=60_000)
    loaded = engine.load_versioned(key)
    assert loaded == (
        b"\x00old\xff",
        hashlib.sha1(b"\x00old\xff", usedforsecurity=False).hexdigest(),
    )
    _, version = engine.save_versioned(key, b"new", expires_in(), loaded[1])
    assert raw.get(engine.prefix + key) == b"new"  # still no header: older readers read it
    assert engine.load_versioned(key) == (b"new", version)


def test_invalid_key_data_and_expiry_are_refused_as_by_save(engine: RedisEngine) -> None:
    with pytest.raises(sessionware.InvalidSessionKey):
        engine.save_versioned("../x", b"x", expires_in(), "v")
    with pytest.raises(TypeError):
        engine.save_versioned(new_key(), "text", expires_in(), "v")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        engine.save_versioned(new_key(), b"x", float("nan"), "v")


def test_a_non_string_value_under_the_prefix_is_a_configuration_error(
    engine: RedisEngine, raw: redis.Redis
) -> None:
    key = new_key()
    raw.hset(engine.prefix + key, "a", "b")
    with pytest.raises(sessionware.ConfigurationError, match="prefix"):
        engine.save_versioned(key, b"x", expires_in(), "v")


def test_the_script_is_loaded_again_after_the_server_forgets_it(
    engine: RedisEngine, raw: redis.Redis
) -> None:
    key, version = created(engine)
    raw.script_flush()  # a restart or a failover to a node that never saw the script
    _, version = engine.save_versioned(key, b"two", expires_in(), version)
    assert engine.load_versioned(key) == (b"two", version)


def test_unreachable_redis_raises_engine_unavailable() -> None:
    engine = RedisEngine(url=closed_port_url(), socket_connect_timeout=1)
    for call in (
        lambda: engine.load_versioned(new_key()),
        lambda: engine.save_versioned(new_key(), b"x", expires_in(), None),
        lambda: engine.save_versioned(new_key(), b"x", expires_in(), "v"),
    ):
        with pytest.raises(sessionware.EngineUnavailable) as info:
            call()
        assert info.value.address == engine.address
    engine.close()


# -- async twins, natively ------------------------------------------------------------------


async def test_async_twins_follow_the_same_rules_without_threads(
    engine: RedisEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_threads(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a native async twin ran in a thread")

    monkeypatch.setattr(asyncio, "to_thread", no_threads)
    key = new_key()
    assert await engine.aload_versioned(key) is None
    _, v1 = await engine.asave_versioned(key, b"one", expires_in(), None)
    assert await engine.aload_versioned(key) == (b"one", v1)
    with pytest.raises(sessionware.CreateError):
        await engine.asave_versioned(key, b"again", expires_in(), None)
    _, v2 = await engine.asave_versioned(key, b"two", expires_in(), v1)
    assert v2 != v1
    with pytest.raises(sessionware.VersionConflict):
        await engine.asave_versioned(key, b"stale", expires_in(), v1)
    assert await engine.aload_versioned(key) == (b"two", v2)
    await engine.asave(key, b"plain", expires_in())
    with pytest.raises(sessionware.VersionConflict):
        await engine.asave_versioned(key, b"stale", expires_in(), v2)
    await engine.adelete(key)
    with pytest.raises(sessionware.UpdateError):
        await engine.asave_versioned(key, b"zombie", expires_in(), v2)
    assert await engine.aload_versioned(key) is None


async def test_async_unreachable_redis_raises_engine_unavailable() -> None:
    engine = RedisEngine(url=closed_port_url(), socket_connect_timeout=1)
    with pytest.raises(sessionware.EngineUnavailable):
        await engine.asave_versioned(new_key(), b"x", expires_in(), "v")
    with pytest.raises(sessionware.EngineUnavailable):
        await engine.aload_versioned(new_key())
    await engine.aclose()


async def test_concurrent_async_cas_on_one_loop_loses_nothing(engine: RedisEngine) -> None:
    key = new_key()
    await engine.asave_versioned(key, b"0", expires_in(), None)
    conflicts = 0

    async def bump() -> None:
        nonlocal conflicts
        while True:
            loaded = await engine.aload_versioned(key)
            assert loaded is not None
            try:
                await engine.asave_versioned(
                    key, str(int(loaded[0]) + 1).encode(), expires_in(), loaded[1]
                )
                return
            except sessionware.VersionConflict:
                conflicts += 1

    await asyncio.gather(*(bump() for _ in range(50)))
    assert await engine.aload(key) == b"50"
    assert conflicts > 0  # they really overlapped


# -- Cluster -------------------------------------------------------------------------------


def test_versioned_saves_work_on_a_cluster(
    make_cluster_engine: Make, cluster_raw: redis.cluster.RedisCluster
) -> None:
    engine = make_cluster_engine()
    keys = [new_key() for _ in range(12)]
    versions = {k: engine.save_versioned(k, b"one", expires_in(), None)[1] for k in keys}
    owners = {cluster_raw.get_node_from_key(engine.prefix + k).name for k in keys}
    assert len(owners) > 1  # the script ran on more than one node
    for k in keys:
        _, new = engine.save_versioned(k, b"two", expires_in(), versions[k])
        with pytest.raises(sessionware.VersionConflict):
            engine.save_versioned(k, b"stale", expires_in(), versions[k])
        assert engine.load_versioned(k) == (b"two", new)


async def test_async_versioned_saves_work_on_a_cluster(make_cluster_engine: Make) -> None:
    engine = make_cluster_engine()
    key = new_key()
    _, version = await engine.asave_versioned(key, b"one", expires_in(), None)
    _, new = await engine.asave_versioned(key, b"two", expires_in(), version)
    with pytest.raises(sessionware.VersionConflict):
        await engine.asave_versioned(key, b"stale", expires_in(), version)
    assert await engine.aload_versioned(key) == (b"two", new)
    await engine.aclose()


# -- a real race ---------------------------------------------------------------------------

#: Fewer than the issue's 2 x 2,000 to keep the test short (a Redis round trip costs
#: ~0.4 ms on the test machine): bench/race_engines.py runs the full size.
CYCLES = 1000


def test_two_processes_of_versioned_cycles_lose_no_update(
    engine: RedisEngine, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    options = {"url": redis_url, "prefix": engine.prefix}
    result = count_lost_updates(RedisEngine, options, mode="versioned", cycles=CYCLES)
    plain = count_lost_updates(RedisEngine, options, mode="plain", cycles=CYCLES)
    with capsys.disabled():
        print(f"\nredis engine, {result}\nredis engine, {plain}")
    assert result.overlapped
    assert result.lost == 0, result
    assert result.final == {"w0": CYCLES, "w1": CYCLES}
