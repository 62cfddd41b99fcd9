"""The plugin host: entry-point discovery, broken plugins, duplicates, selection by name."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import sessionware
from sessionware import (
    ConfigurationError,
    EngineNotFound,
    PluginLoadError,
    PluginWarning,
    SerializerNotFound,
    hookimpl,
)
from sessionware._plugins import host
from sessionware.testing import MemoryEngine, ReferenceSerializer

ENGINE_MODULE = """
from sessionware import hookimpl, EngineBase, Capabilities

class {cls}(EngineBase):
    name = {name!r}
    capabilities = Capabilities(local=True, inline_async=True)
    def __init__(self, path: str = "x", size: int = 1):
        self.path, self.size = path, size

@hookimpl
def register_engines(register):
    register({cls})
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Install fake distributions on sys.path; rediscover plugins around the test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    added: list[str] = []

    def install(dist: str, ep_name: str, module: str, source: str, version: str = "1.2.3") -> None:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        info = tmp_path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[sessionware]\n{ep_name} = {module}\n")
        added.append(module)
        host.reset()

    host.reset()
    yield install
    for module in added:
        sys.modules.pop(module, None)
    host.reset()


def test_entry_point_plugin_is_discovered(site: Callable[..., None]) -> None:
    site(
        "sessionware-fake", "fake", "fake_engine_mod", ENGINE_MODULE.format(cls="Fake", name="fake")
    )
    engine = sessionware.get_engine("fake", path="p")
    assert engine.path == "p"
    info = {p.name: p for p in sessionware.list_plugins()}["fake"]
    assert info.distribution == "sessionware-fake" and info.version == "1.2.3"
    assert info.engines == ["fake"] and info.error is None


def test_discovery_is_lazy_at_import() -> None:
    import importlib

    host.reset()
    importlib.reload(sessionware)
    assert not host._discovered


def test_broken_plugin_is_recorded_and_warned_not_raised(site: Callable[..., None]) -> None:
    site("sessionware-broken", "broken", "broken_mod", "raise ImportError('missing libfoo')\n")
    site(
        "sessionware-fake", "fake", "fake_engine_mod", ENGINE_MODULE.format(cls="Fake", name="fake")
    )
    with pytest.warns(PluginWarning, match="broken.*missing libfoo"):
        plugins = {p.name: p for p in sessionware.list_plugins()}
    assert plugins["broken"].error and "missing libfoo" in plugins["broken"].error
    assert plugins["broken"].distribution == "sessionware-broken"
    assert sessionware.get_engine("fake") is not None  # the good one still works


def test_selecting_engine_of_broken_plugin_raises_with_fix(site: Callable[..., None]) -> None:
    site("sessionware-broken", "broken", "broken_mod", "raise ImportError('missing libfoo')\n")
    with pytest.warns(PluginWarning):
        host.discover()
    with pytest.raises(PluginLoadError, match="pip install --force-reinstall sessionware-broken"):
        sessionware.get_engine("broken")


def test_strict_mode_raises_on_broken_plugin(
    site: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    site("sessionware-broken", "broken", "broken_mod", "raise ImportError('missing libfoo')\n")
    monkeypatch.setenv("SESSIONWARE_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError) as info:
        sessionware.list_plugins()
    assert info.value.distribution == "sessionware-broken"


def test_plugin_whose_hook_raises_is_recorded(site: Callable[..., None]) -> None:
    source = """
    from sessionware import hookimpl
    @hookimpl
    def register_engines(register):
        raise RuntimeError("boom in hook")
    """
    site("sessionware-hookfail", "hookfail", "hookfail_mod", source)
    with pytest.warns(PluginWarning, match="boom in hook"):
        plugins = {p.name: p for p in sessionware.list_plugins()}
    assert "boom in hook" in (plugins["hookfail"].error or "")


def test_duplicate_engine_name_names_both_distributions(site: Callable[..., None]) -> None:
    site("sessionware-one", "one", "one_mod", ENGINE_MODULE.format(cls="One", name="dup"))
    site("sessionware-two", "two", "two_mod", ENGINE_MODULE.format(cls="Two", name="dup"))
    with pytest.warns(PluginWarning) as record:
        sessionware.list_plugins()
    message = str(record[0].message)
    assert "sessionware-one" in message and "sessionware-two" in message and "'dup'" in message
    # the first one registered keeps the name; the second is recorded as broken
    assert sessionware.get_engine("dup") is not None


def test_disable_plugins_by_name(
    site: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    site(
        "sessionware-fake", "fake", "fake_engine_mod", ENGINE_MODULE.format(cls="Fake", name="fake")
    )
    monkeypatch.setenv("SESSIONWARE_DISABLE_PLUGINS", "fake, other")
    with pytest.raises(EngineNotFound):
        sessionware.get_engine("fake")


def test_load_plugins_restricts_to_listed_distributions(
    site: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    site("sessionware-one", "one", "one_mod", ENGINE_MODULE.format(cls="One", name="one"))
    site("sessionware-two", "two", "two_mod", ENGINE_MODULE.format(cls="Two", name="two"))
    monkeypatch.setenv("SESSIONWARE_LOAD_PLUGINS", "sessionware-two")
    names = {p.name for p in sessionware.list_plugins()}
    assert "two" in names and "one" not in names


def test_unknown_first_party_engine_names_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONWARE_DISABLE_PLUGINS", "redis")  # as if not installed
    host.reset()
    with pytest.raises(EngineNotFound, match="pip install sessionware-redis") as info:
        sessionware.get_engine("redis")
    assert info.value.name == "redis"
    host.reset()


def test_unknown_engine_suggests_close_name(site: Callable[..., None]) -> None:
    site(
        "sessionware-fake",
        "fake",
        "fake_engine_mod",
        ENGINE_MODULE.format(cls="Fake", name="fakedb"),
    )
    with pytest.raises(EngineNotFound, match="Did you mean 'fakedb'") as info:
        sessionware.get_engine("fakdb")
    assert "fakedb" in info.value.installed


def test_unknown_serializer_lists_installed() -> None:
    with pytest.raises(SerializerNotFound, match="installed"):
        sessionware.get_serializer("yaml")


def test_unknown_engine_option_is_an_error_listing_valid_ones(site: Callable[..., None]) -> None:
    site(
        "sessionware-fake", "fake", "fake_engine_mod", ENGINE_MODULE.format(cls="Fake", name="fake")
    )
    with pytest.raises(ConfigurationError, match=r"'pth'.*its options: path, size") as info:
        sessionware.get_engine("fake", pth="x")
    assert info.value.field == "engine_options.pth"


class _CodePlugin:
    @hookimpl
    def register_engines(self, register: Any) -> None:
        register(MemoryEngine)

    @hookimpl
    def register_serializers(self, register: Any) -> None:
        register(ReferenceSerializer)


def test_plugin_registered_in_code_selects_by_name() -> None:
    host.reset()
    host.register(_CodePlugin(), name="code")
    try:
        Store = sessionware.session_store(engine="kit_memory", serializer="kit_json")
        s = Store()
        s["a"] = 1
        s.save()
        assert Store(s.session_key)["a"] == 1
    finally:
        host.unregister("code")
    with pytest.raises(EngineNotFound):
        sessionware.get_engine("kit_memory")


def test_registered_class_without_name_is_refused() -> None:
    class Nameless:
        @hookimpl
        def register_engines(self, register: Any) -> None:
            register(object)

    host.reset()
    with pytest.warns(PluginWarning), pytest.raises(PluginLoadError, match="no valid 'name'"):
        host.register(Nameless(), name="nameless")


class _Observer:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    @hookimpl
    def session_created(self, session: Any) -> None:
        self.events.append(("created", session.session_key))

    @hookimpl
    def session_saved(self, session: Any) -> None:
        self.events.append(("saved", session.session_key))

    @hookimpl
    def session_deleted(self, session_key: str, engine: str) -> None:
        self.events.append(("deleted", session_key))

    @hookimpl
    def session_key_cycled(self, old_key: str, new_key: str, engine: str) -> None:
        self.events.append(("cycled", (old_key, new_key)))

    @hookimpl
    def session_rejected(self, reason: str, engine: str, detail: str) -> None:
        self.events.append(("rejected", reason))


def test_event_hooks_observe_the_session_lifecycle(Store: type[sessionware.SessionStore]) -> None:
    host.reset()
    observer = _Observer()
    host.register(observer, name="observer")
    try:
        s = Store()
        s["a"] = 1
        s.save()
        first = s.session_key
        s["a"] = 2
        s.save()
        s.cycle_key()
        s.flush()
        Store("../bad")
    finally:
        host.unregister("observer")
    kinds = [kind for kind, _ in observer.events]
    assert kinds == ["created", "saved", "created", "deleted", "cycled", "deleted", "rejected"]
    assert observer.events[0] == ("created", first)


def test_failing_observer_never_breaks_the_session(
    Store: type[sessionware.SessionStore], caplog: pytest.LogCaptureFixture
) -> None:
    class Bad:
        @hookimpl
        def session_saved(self, session: Any) -> None:
            raise RuntimeError("observer bug")

    host.reset()
    host.register(Bad(), name="bad")
    try:
        s = Store()
        s["a"] = 1
        s.save()
        s["a"] = 2
        s.save()
    finally:
        host.unregister("bad")
    assert "observer bug" in caplog.text


def test_no_listener_means_no_hook_call(monkeypatch: pytest.MonkeyPatch) -> None:
    host.reset()
    host.discover()
    calls: list[str] = []
    monkeypatch.setattr(host.pm.hook, "session_saved", lambda **kw: calls.append("x"))
    host.emit("session_saved", session=None)
    assert calls == []
