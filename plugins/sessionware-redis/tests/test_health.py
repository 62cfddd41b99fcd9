"""``health`` (what ``sessionware check`` calls): a PING, sync and async, against real servers."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from sessionware_redis import RedisEngine

from sessionware import EngineUnavailable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_health_passes_when_redis_answers(engine: RedisEngine) -> None:
    engine.health()


async def test_ahealth_passes_when_redis_answers(engine: RedisEngine) -> None:
    await engine.ahealth()


def test_health_reports_an_address_nothing_listens_on(
    make_engine: Callable[..., RedisEngine],
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    engine = make_engine(url=url)
    with pytest.raises(EngineUnavailable, match="for PING") as info:
        engine.health()
    assert info.value.address == url


async def test_ahealth_reports_an_address_nothing_listens_on(
    make_engine: Callable[..., RedisEngine],
) -> None:
    engine = make_engine(url=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(EngineUnavailable, match="for PING"):
        await engine.ahealth()
    await engine.aclose()


def test_health_in_a_cluster_pings_it(cluster_engine: RedisEngine) -> None:
    cluster_engine.health()
