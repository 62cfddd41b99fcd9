"""``sessionware.testing.registered``: in-test classes selectable by name, then gone."""

from __future__ import annotations

import pytest

import sessionware
from sessionware.testing import MemoryEngine, ReferenceSerializer, registered


def test_classes_are_selectable_by_name_inside_the_block_only() -> None:
    with registered(MemoryEngine, ReferenceSerializer) as info:
        assert info.engines == [MemoryEngine.name]
        assert info.serializers == [ReferenceSerializer.name]
        Store = sessionware.session_store(engine=MemoryEngine.name, serializer="kit_json")
        s = Store()
        s["a"] = 1
        s.save()
        assert Store(s.session_key)["a"] == 1
    with pytest.raises(sessionware.EngineNotFound):
        sessionware.get_engine(MemoryEngine.name)
    with pytest.raises(sessionware.SerializerNotFound):
        sessionware.get_serializer("kit_json")


def test_unregistered_even_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), registered(MemoryEngine, name="boom"):
        raise RuntimeError("inside")
    assert "boom" not in {p.name for p in sessionware.list_plugins()}


def test_a_name_clash_is_the_same_error_as_for_a_real_plugin() -> None:
    with registered(MemoryEngine, name="first"):
        with (
            pytest.raises(sessionware.PluginLoadError),
            pytest.warns(sessionware.PluginWarning),
            registered(MemoryEngine, name="second"),
        ):
            pass
        assert "second" not in {p.name for p in sessionware.list_plugins()}
        assert isinstance(sessionware.get_engine(MemoryEngine.name), MemoryEngine)
