"""The postgres engine through sessionware's conformance kit.

The kit is about 90 tests of the promises sessions rely on (load never
creates, create/update atomic under threads, expiry, hostile keys, the async
twins, Django's session behaviours). Never override one of its tests to make
it pass: a failure means the engine breaks a promise. Tests that do not apply
skip themselves by the engine's declared capabilities.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from typing import NoReturn

import pytest
from sessionware.testing import EngineConformance

from sessionware_postgres import PostgresEngine


class _NothingListens:
    """A client whose store is down: every call fails as a driver's would."""

    def __getattr__(self, operation: str) -> Callable[..., NoReturn]:
        def refuse(*args: object) -> NoReturn:
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"connection refused ({operation})")

        return refuse

    def close(self) -> None:
        """Closing succeeds: nothing is open."""


class TestPostgresEngineConformance(EngineConformance):
    @pytest.fixture
    def engine(self) -> Iterator[PostgresEngine]:
        """An EMPTY engine per test, closed afterwards.

        For a real store, give each test its own empty place: a directory
        under ``tmp_path``, a fresh database, a unique key prefix.
        """
        engine = PostgresEngine()
        yield engine
        engine.close()

    @pytest.fixture
    def unreachable_engine(
        self,
        monkeypatch: pytest.MonkeyPatch,
    ) -> Iterator[PostgresEngine]:
        """The engine with its store down: runs the kit's outage tests.

        Every call, sync and async, must raise EngineUnavailable naming the
        store. For a real store, drop ``_NothingListens`` and point the engine
        at an address nothing listens on, with a short timeout, e.g.
        ``PostgresEngine(url="yourstore://127.0.0.1:1", timeout=0.5)``.
        """
        engine = PostgresEngine()
        monkeypatch.setattr(engine, "_client", _NothingListens())
        yield engine
        engine.close()
