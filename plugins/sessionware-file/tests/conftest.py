"""Fixtures for the file engine tests: engines on a fresh directory, raw file helpers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sessionware_file import FileEngine, _engine, _files, _purge, _writes

import sessionware
from sessionware.testing import engine_factory, session_store_for


@pytest.fixture
def session_dir(tmp_path: Path) -> Path:
    path = tmp_path / "sessions"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def make_engine(session_dir: Path) -> Iterator[Callable[..., FileEngine]]:
    """Build engines by name (default: on ``session_dir``); every one is closed at teardown."""
    with engine_factory("file", FileEngine, path=session_dir) as make:
        yield make


@pytest.fixture
def engine(make_engine: Callable[..., FileEngine]) -> FileEngine:
    return make_engine()


@pytest.fixture
def Store(session_dir: Path) -> Iterator[type[sessionware.SessionStore]]:
    # The kit's reference serializer keeps these tests independent of the json plugin,
    # so they pass with only the core and this plugin installed.
    with session_store_for("file", path=session_dir) as store:
        yield store


@pytest.fixture
def listing(session_dir: Path) -> Callable[[], list[str]]:
    """The names in the session directory, sorted."""

    def names() -> list[str]:
        return sorted(os.listdir(session_dir))

    return names


#: The modules of the engine that call ``os`` and ``fcntl``: a test replacing
#: one of them replaces it in all.
ENGINE_MODULES = (_engine, _files, _purge, _writes)


class _OsView:
    """The ``os`` module as the engine sees it, with some functions replaced."""

    def __init__(self, replaced: dict[str, Callable[..., Any]]) -> None:
        self.replaced = replaced

    def __getattr__(self, name: str) -> Any:
        return self.replaced.get(name) or getattr(os, name)


@pytest.fixture
def patch_os(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, Callable[..., Any]], None]:
    """Replace ``os.<name>`` for the engine's modules only (pytest keeps the real ``os``)."""
    view = _OsView({})
    for module in ENGINE_MODULES:
        monkeypatch.setattr(module, "os", view)

    def patch(name: str, replacement: Callable[..., Any]) -> None:
        view.replaced[name] = replacement

    return patch
