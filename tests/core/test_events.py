"""Events reach listeners through the Events a session class is bound to, not a global."""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from typing import Any

import pluggy
import pytest

import sessionware
from sessionware import _hookspecs, hookimpl
from sessionware._events import EVENTS, Events
from sessionware._plugins import host
from sessionware.testing import MemoryEngine, ReferenceSerializer


class _Saved:
    def __init__(self) -> None:
        self.keys: list[str | None] = []

    @hookimpl
    def session_saved(self, session: Any) -> None:
        self.keys.append(session.session_key)


def _own_events(*plugins: object) -> Events:
    pm = pluggy.PluginManager("sessionware")
    pm.add_hookspecs(_hookspecs)
    for plugin in plugins:
        pm.register(plugin)
    return Events(pm)


def test_event_names_are_the_hookspecs_marked_as_events() -> None:
    assert EVENTS == (
        "session_created",
        "session_saved",
        "session_deleted",
        "session_key_cycled",
        "session_rejected",
        "session_conflict",
    )
    specs = {
        name for name in dir(_hookspecs) if hasattr(getattr(_hookspecs, name), "sessionware_spec")
    }
    assert set(EVENTS) == specs - {"register_engines", "register_serializers"}


def test_hookspecs_import_nothing_of_sessionware() -> None:
    # No import cycle can start here: the specs are a leaf module.
    tree = ast.parse(Path(_hookspecs.__file__).read_text())
    relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 0]
    absolute = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("sessionware")
    ]
    assert relative == [] and absolute == []


def test_a_bound_class_emits_through_the_host_events_by_default(
    Store: type[sessionware.SessionStore],
) -> None:
    assert Store.events is host.events
    assert sessionware.SessionStore.events is host.events


def test_a_class_bound_before_a_plugin_registers_still_reaches_it(
    Store: type[sessionware.SessionStore],
) -> None:
    host.reset()
    host.discover()
    assert "session_saved" not in Store.events.listening
    observer = _Saved()
    host.register(observer, name="late-observer")
    try:
        assert "session_saved" in Store.events.listening
        s = Store()
        s["a"] = 1
        s.save()  # created
        s["a"] = 2
        s.save()  # saved
    finally:
        host.unregister("late-observer")
    assert observer.keys == [s.session_key]
    assert "session_saved" not in Store.events.listening


def test_events_given_at_binding_go_there_and_not_to_the_host(engine: MemoryEngine) -> None:
    mine, the_hosts = _Saved(), _Saved()
    Store = sessionware.session_store(
        engine_instance=engine,
        serializer_instance=ReferenceSerializer(),
        events=_own_events(mine),
    )
    host.reset()
    host.register(the_hosts, name="host-observer")
    try:
        s = Store()
        s["a"] = 1
        s.save()
        s["a"] = 2
        s.save()
    finally:
        host.unregister("host-observer")
    assert mine.keys == [s.session_key]
    assert the_hosts.keys == []


def test_events_without_a_manager_are_silent(engine: MemoryEngine) -> None:
    silent = Events()
    assert silent.listening == frozenset()
    silent.emit("session_saved", session=None)  # nothing to call, no error
    Store = sessionware.session_store(
        engine_instance=engine, serializer_instance=ReferenceSerializer(), events=silent
    )
    s = Store()
    s["a"] = 1
    s.save()
    s.flush()


def test_an_observer_error_is_logged_not_raised(
    engine: MemoryEngine, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        @hookimpl
        def session_deleted(self, session_key: str, engine: str) -> None:
            raise RuntimeError("observer bug")

    Store = sessionware.session_store(
        engine_instance=engine,
        serializer_instance=ReferenceSerializer(),
        events=_own_events(Broken()),
    )
    s = Store()
    s["a"] = 1
    s.save()
    with caplog.at_level(logging.ERROR, logger="sessionware.plugins"):
        s.flush()
    assert "session_deleted" in caplog.text and "observer bug" in caplog.text
