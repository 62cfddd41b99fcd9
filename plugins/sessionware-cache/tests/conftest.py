"""Fixtures for the cache engine tests: engines, a store, and a clock the tests move."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sessionware_cache import CacheEngine

import sessionware
from sessionware.testing import engine_factory, session_store_for


class Clock:
    """A clock for one engine: ``engine.now()`` returns ``self.time`` until moved."""

    def __init__(self, start: float) -> None:
        self.time = start

    def __call__(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds


@pytest.fixture
def make_engine() -> Iterator[Callable[..., CacheEngine]]:
    """Build engines by name; every one is closed at teardown."""
    with engine_factory("cache", CacheEngine) as make:
        yield make


@pytest.fixture
def engine(make_engine: Callable[..., CacheEngine]) -> CacheEngine:
    return make_engine()


@pytest.fixture
def clock(engine: CacheEngine, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze ``engine``'s clock at the present; tests move it with ``advance``."""
    clock = Clock(engine.now())
    monkeypatch.setattr(engine, "now", clock)
    return clock


@pytest.fixture
def Store() -> Iterator[type[sessionware.SessionStore]]:
    # The kit's reference serializer keeps these tests independent of the json plugin,
    # so they pass with only the core and this plugin installed.
    with session_store_for("cache", maxsize=3) as store:
        yield store


def new_key() -> str:
    return sessionware.new_session_key()
