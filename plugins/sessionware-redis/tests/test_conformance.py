"""The redis engine through sessionware's conformance kit: single node, Cluster, Sentinel.

The kit's async tests run on ``asyncio.run`` loops. Here they must use the
engine's native twins: ``asyncio.to_thread`` fails any test that calls it, and
in the ``test_async_*`` tests the engine's blocking client refuses to be used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sessionware_redis import RedisEngine

from sessionware.testing import EngineConformance


def _no_threads(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the redis engine ran a call in a thread (asyncio.to_thread)")


def _no_blocking_client() -> Any:
    raise AssertionError("an async call of the redis engine used the blocking client")


class NativeAsync:
    """Mixin: no thread anywhere, and no blocking client in the kit's ``test_async_*`` tests."""

    @pytest.fixture(autouse=True)
    def _async_stays_native(
        self, request: pytest.FixtureRequest, engine: RedisEngine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(asyncio, "to_thread", _no_threads)
        if request.node.name.startswith("test_async"):
            monkeypatch.setattr(engine, "_client", _no_blocking_client)


class TestRedisSingleNode(NativeAsync, EngineConformance):
    @pytest.fixture
    def engine(self, make_engine: Callable[..., RedisEngine]) -> RedisEngine:
        return make_engine()

    @pytest.fixture
    def second_engine(
        self, make_engine: Callable[..., RedisEngine], engine: RedisEngine
    ) -> RedisEngine:
        # Another client on the same server and prefix: a second process's engine.
        return make_engine(prefix=engine.prefix)

    @pytest.fixture
    def unreachable_engine(self, make_engine: Callable[..., RedisEngine]) -> RedisEngine:
        # Port 1 on loopback: nothing listens, so every connection is refused at once.
        return make_engine(url="redis://127.0.0.1:1/0", socket_connect_timeout=0.2)


class TestRedisCluster(NativeAsync, EngineConformance):
    @pytest.fixture
    def engine(self, cluster_engine: RedisEngine) -> RedisEngine:
        return cluster_engine


class TestRedisSentinel(NativeAsync, EngineConformance):
    @pytest.fixture
    def engine(self, make_sentinel_engine: Callable[..., RedisEngine]) -> RedisEngine:
        return make_sentinel_engine()
