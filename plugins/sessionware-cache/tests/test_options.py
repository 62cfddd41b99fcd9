"""Discovery, capabilities and the one option, maxsize."""

from __future__ import annotations

from typing import Any

import pytest
from sessionware_cache import CacheEngine

import sessionware
from sessionware.testing import ReferenceSerializer


def test_get_engine_finds_cache_through_entry_points() -> None:
    engine = sessionware.get_engine("cache")
    try:
        assert isinstance(engine, CacheEngine)
        assert isinstance(engine, sessionware.Engine)
    finally:
        engine.close()


def test_list_plugins_reports_the_distribution() -> None:
    info = {p.name: p for p in sessionware.list_plugins()}["cache"]
    assert info.distribution == "sessionware-cache"
    assert info.engines == ["cache"]
    assert info.error is None


def test_capabilities_declare_one_process() -> None:
    assert CacheEngine.capabilities == sessionware.Capabilities(
        server_side=True,
        clear_expired=True,
        local=True,
        inline_async=True,
        shared_across_processes=False,
        versioned=True,
        locking=True,
    )


def test_default_maxsize_is_ten_thousand() -> None:
    assert CacheEngine().maxsize == 10_000


def test_maxsize_is_applied_to_the_cache(make_engine: Any) -> None:
    engine = make_engine(maxsize=7)
    assert engine.maxsize == 7
    assert engine._cache.maxsize == 7


@pytest.mark.parametrize("value", [0, -1, 2.5, 1e6, "10", None, True, False, [10]])
def test_invalid_maxsize_names_the_option(value: Any) -> None:
    with pytest.raises(sessionware.ConfigurationError, match="'maxsize'") as info:
        sessionware.get_engine("cache", maxsize=value)
    assert info.value.field == "engine_options.maxsize"
    assert repr(value) in str(info.value)


def test_invalid_maxsize_fails_when_the_store_is_built() -> None:
    with pytest.raises(sessionware.ConfigurationError) as info:
        sessionware.session_store(
            engine="cache", maxsize=0, serializer_instance=ReferenceSerializer()
        )
    assert info.value.field == "engine_options.maxsize"


def test_unknown_option_is_a_configuration_error() -> None:
    with pytest.raises(sessionware.ConfigurationError, match="ttl") as info:
        sessionware.get_engine("cache", ttl=60)
    assert "maxsize" in str(info.value)


def test_the_package_exports_what_it_documents() -> None:
    import sessionware_cache

    assert sessionware_cache.__all__ == ["CacheEngine", "__version__", "register_engines"]
    assert sessionware_cache.__version__ == "0.1.0"
