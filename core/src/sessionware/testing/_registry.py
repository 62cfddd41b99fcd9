"""Register in-test engines and serializers by name for the length of a block."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any

from .._errors import PluginLoadError
from .._hookspecs import hookimpl
from .._plugins import PluginInfo, host

__all__ = ["registered"]

_serial = count(1)


class _InTestPlugin:
    """A plugin object whose hooks register the given classes."""

    def __init__(self, engines: list[type[Any]], serializers: list[type[Any]]) -> None:
        self._engines = engines
        self._serializers = serializers

    @hookimpl
    def register_engines(self, register: Callable[[type[Any]], None]) -> None:
        for cls in self._engines:
            register(cls)

    @hookimpl
    def register_serializers(self, register: Callable[[type[Any]], None]) -> None:
        for cls in self._serializers:
            register(cls)


@contextmanager
def registered(*classes: type[Any], name: str | None = None) -> Iterator[PluginInfo]:
    """Make engine and serializer classes selectable by name inside the block.

    ``with registered(MyEngine, MySerializer): get_engine("mine")`` — each class
    carries its ``name``; a class with ``dumps``/``loads`` is a serializer, any
    other an engine. Names clash with installed plugins exactly as a real
    plugin's would (``PluginLoadError``). Everything is
    unregistered on exit, even after an error.
    """
    serializers = [c for c in classes if hasattr(c, "dumps") and hasattr(c, "loads")]
    engines = [c for c in classes if c not in serializers]
    plugin_name = name or f"in-test-{next(_serial)}"
    try:
        info = host.register(_InTestPlugin(engines, serializers), plugin_name)
    except PluginLoadError:
        if plugin_name in host.plugins:  # recorded as broken: leave no trace
            host.unregister(plugin_name)
        raise
    try:
        yield info
    finally:
        host.unregister(plugin_name)
