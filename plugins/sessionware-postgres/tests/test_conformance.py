"""The postgres engine through sessionware's conformance kit, on a real server.

Every kit test gets an engine on a table of its own (so it starts empty);
`second_engine` is another engine on the same table (a second process's),
`unreachable_engine` one pointed at a port nothing listens on. The async
tests run with `asyncio.to_thread` forbidden and, in the kit's `test_async_*`
tests, without the blocking pool: the async twins are native.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, NoReturn

import pytest
from sessionware_postgres import PostgresEngine

from sessionware.testing import EngineConformance

Make = Callable[..., PostgresEngine]


async def _no_threads(*args: Any, **kwargs: Any) -> NoReturn:
    raise AssertionError("an async call of the postgres engine ran in a thread")


def _no_blocking_pool() -> NoReturn:
    raise AssertionError("an async call of the postgres engine used the blocking pool")


class TestPostgresConformance(EngineConformance):
    @pytest.fixture(autouse=True)
    def _async_stays_native(
        self,
        request: pytest.FixtureRequest,
        engine: PostgresEngine,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(asyncio, "to_thread", _no_threads)
        if request.node.name.startswith("test_async"):
            monkeypatch.setattr(engine, "_pool", _no_blocking_pool)

    @pytest.fixture
    def engine(self, make_engine: Make) -> PostgresEngine:
        return make_engine()

    @pytest.fixture
    def second_engine(self, make_engine: Make, engine: PostgresEngine) -> PostgresEngine:
        # Another engine (its own pools) on the same table: a second process's engine.
        return make_engine(table=engine.table)

    @pytest.fixture
    def unreachable_engine(self, make_engine: Make) -> PostgresEngine:
        # Port 1 on loopback: nothing listens, so every connection is refused at once.
        return make_engine(url="postgresql://postgres:hunter2@127.0.0.1:1/test")
