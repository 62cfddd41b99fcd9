"""The plugin host: discovery through entry points and the engine/serializer registry.

Plugins are found in the ``sessionware`` entry-point group. Each entry point is
loaded on its own: a broken one is recorded and warned about, never raised,
until the engine or serializer it should have provided is asked for (or
``SESSIONWARE_STRICT_PLUGINS=1``). Discovery is lazy: it happens on the first
lookup, not at ``import sessionware``.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from . import _hookspecs
from ._errors import (
    ConfigurationError,
    EngineNotFound,
    PluginLoadError,
    SerializerNotFound,
)
from ._events import Events

__all__ = [
    "FIRST_PARTY",
    "PluginInfo",
    "PluginWarning",
    "get_engine",
    "get_engine_class",
    "get_serializer",
    "get_serializer_class",
    "host",
    "list_plugins",
]

logger = logging.getLogger("sessionware.plugins")

ENTRY_POINT_GROUP = "sessionware"

#: The distributions this project publishes, by what they provide.
FIRST_PARTY: dict[str, str] = {
    "db": "sessionware-db",
    "file": "sessionware-file",
    "cache": "sessionware-cache",
    "redis": "sessionware-redis",
    "postgres": "sessionware-postgres",
    "signed_cookies": "sessionware-signed-cookies",
    "json": "sessionware-json",
    "msgpack": "sessionware-msgpack",
    "signed": "sessionware-signed",
}


class PluginWarning(UserWarning):
    """A plugin could not be loaded; the rest of sessionware keeps working."""


@dataclass
class PluginInfo:
    """What one plugin is and what it provides (``sessionware plugins``)."""

    name: str
    distribution: str | None
    version: str | None
    engines: list[str] = field(default_factory=list)
    serializers: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping of this record."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "engines": list(self.engines),
            "serializers": list(self.serializers),
            "error": self.error,
        }


@dataclass
class _Registered:
    cls: type[Any]
    plugin: PluginInfo


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _describe(plugin: PluginInfo) -> str:
    if plugin.distribution:
        return f"{plugin.distribution} {plugin.version or ''}".strip()
    return f"plugin {plugin.name!r} (registered in code)"


class PluginHost:
    """The pluggy manager plus the name registries. One per process: ``host``."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("sessionware")
        self.pm.add_hookspecs(_hookspecs)
        self._lock = threading.RLock()
        self._discovered = False
        self.plugins: dict[str, PluginInfo] = {}
        self.engines: dict[str, _Registered] = {}
        self.serializers: dict[str, _Registered] = {}
        #: The event hooks and who listens to them; bound session classes take
        #: this object when they are built, and it is kept current from here.
        self.events = Events(self.pm)

    # -- discovery -----------------------------------------------------------

    def discover(self) -> None:
        """Load every entry point of the group once (idempotent, thread safe)."""
        if self._discovered:
            return
        with self._lock:
            if not self._discovered:
                self._discover_entry_points()

    def _discover_entry_points(self) -> None:
        disabled = _env_list("SESSIONWARE_DISABLE_PLUGINS") or set()
        only = _env_list("SESSIONWARE_LOAD_PLUGINS")
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else None
            version = ep.dist.version if ep.dist is not None else None
            if ep.name in disabled or (dist is not None and dist in disabled):
                continue
            if only is not None and not ({ep.name, dist} & only):
                continue
            info = PluginInfo(name=ep.name, distribution=dist, version=version)
            try:
                module = ep.load()
            except Exception as exc:  # any import failure: record, never raise
                self._record_failure(info, f"{type(exc).__name__}: {exc}")
                continue
            self._register(module, info)
        self._discovered = True
        self.events.refresh()

    def register(self, plugin: ModuleType | object, name: str | None = None) -> PluginInfo:
        """Register a plugin object in code (apps and tests); returns its record.

        Raises ``PluginLoadError`` if it fails or provides a
        name that is already taken.
        """
        self.discover()
        with self._lock:
            pname = name or getattr(plugin, "__name__", None) or type(plugin).__name__
            if pname in self.plugins:
                raise PluginLoadError(
                    f"a plugin named {pname!r} is already registered; pass another name",
                    plugin=pname,
                )
            info = PluginInfo(name=pname, distribution=None, version=None)
            self._register(plugin, info)
            self.events.refresh()
            if info.error:
                raise PluginLoadError(info.error, plugin=pname)
            return info

    def unregister(self, name: str) -> None:
        """Remove a plugin registered in code, with everything it provided."""
        with self._lock:
            info = self.plugins.pop(name, None)
            if info is None:
                raise KeyError(f"no plugin named {name!r} is registered")
            for registry in (self.engines, self.serializers):
                for key in [k for k, r in registry.items() if r.plugin is info]:
                    del registry[key]
            if self.pm.get_plugin(name) is not None:
                self.pm.unregister(name=name)
            self.events.refresh()

    def _record_failure(self, info: PluginInfo, error: str) -> None:
        info.error = error
        self.plugins[info.name] = info
        message = (
            f"sessionware plugin {info.name!r} from {_describe(info)} failed to load "
            f"({error}); it is skipped. Reinstall or uninstall it, or set "
            f"SESSIONWARE_DISABLE_PLUGINS={info.name} to silence this."
        )
        if os.environ.get("SESSIONWARE_STRICT_PLUGINS", "").strip() in {"1", "true", "yes"}:
            raise PluginLoadError(message, plugin=info.name, distribution=info.distribution)
        warnings.warn(message, PluginWarning, stacklevel=3)

    def _register(self, plugin: object, info: PluginInfo) -> None:
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as exc:
            self._record_failure(info, f"{type(exc).__name__}: {exc}")
            return
        self.plugins[info.name] = info
        staged_engines: dict[str, _Registered] = {}
        staged_serializers: dict[str, _Registered] = {}

        def collector(
            kind: str, staged: dict[str, _Registered], existing: dict[str, _Registered]
        ) -> Callable[[type[Any]], None]:
            def register(cls: type[Any]) -> None:
                cname = getattr(cls, "name", None)
                if not isinstance(cname, str) or not cname.isidentifier():
                    raise PluginLoadError(
                        f"{cls!r} has no valid 'name' class attribute (a Python identifier "
                        f"such as 'redis'); every registered {kind} needs one",
                        plugin=info.name,
                        distribution=info.distribution,
                    )
                other = existing.get(cname) or staged.get(cname)
                if other is not None:
                    raise PluginLoadError(
                        f"{kind} name {cname!r} is provided by both {_describe(other.plugin)} "
                        f"and {_describe(info)}; uninstall one of them, or disable one with "
                        f"SESSIONWARE_DISABLE_PLUGINS",
                        plugin=info.name,
                        distribution=info.distribution,
                    )
                staged[cname] = _Registered(cls, info)

            return register

        try:
            for impl in self.pm.hook.register_engines.get_hookimpls():
                if impl.plugin is plugin:
                    impl.function(register=collector("engine", staged_engines, self.engines))
            for impl in self.pm.hook.register_serializers.get_hookimpls():
                if impl.plugin is plugin:
                    impl.function(
                        register=collector("serializer", staged_serializers, self.serializers)
                    )
        except Exception as exc:
            self.pm.unregister(plugin)
            self._record_failure(info, f"{type(exc).__name__}: {exc}")
            return
        self.engines.update(staged_engines)
        self.serializers.update(staged_serializers)
        info.engines = sorted(staged_engines)
        info.serializers = sorted(staged_serializers)

    def emit(self, hook: str, **kwargs: Any) -> None:
        """Call an event hook; errors in observers are logged, never raised (see ``Events``)."""
        self.events.emit(hook, **kwargs)

    # -- lookup --------------------------------------------------------------

    def _lookup(self, kind: str, name: str) -> type[Any]:
        self.discover()
        registry = self.engines if kind == "engine" else self.serializers
        found = registry.get(name)
        if found is not None:
            return found.cls
        installed = sorted(registry)
        error_cls = EngineNotFound if kind == "engine" else SerializerNotFound
        broken = [p for p in self.plugins.values() if p.error and name in {p.name, p.distribution}]
        if broken:
            p = broken[0]
            raise PluginLoadError(
                f"the {kind} {name!r} comes from {_describe(p)}, which failed to load: "
                f"{p.error}. Reinstall it: pip install --force-reinstall {p.distribution or name}",
                plugin=p.name,
                distribution=p.distribution,
            )
        hint = ""
        dist = FIRST_PARTY.get(name)
        if dist is not None:
            hint = f" It is provided by {dist}: pip install {dist}"
        elif isinstance(name, str):
            import difflib

            close = difflib.get_close_matches(name, installed, n=1)
            if close:
                hint = f" Did you mean {close[0]!r}?"
        listing = ", ".join(repr(n) for n in installed) or "none"
        raise error_cls(
            f"no {kind} named {name!r} is installed (installed: {listing}).{hint}",
            name=name,
            installed=installed,
        )

    def list_plugins(self) -> list[PluginInfo]:
        """Every plugin seen, loaded or broken, sorted by name."""
        self.discover()
        return sorted(self.plugins.values(), key=lambda p: p.name)

    def reset(self) -> None:
        """Forget everything and discover again on next use (tests, after pip installs)."""
        with self._lock:
            for name in list(self.plugins):
                if self.pm.get_plugin(name) is not None:
                    self.pm.unregister(name=name)
            self.plugins.clear()
            self.engines.clear()
            self.serializers.clear()
            self._discovered = False
            self.events.refresh()


host = PluginHost()


def _instantiate(kind: str, cls: type[Any], options: dict[str, Any]) -> Any:
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if not takes_any:
        accepted = {
            n
            for n, p in params.items()
            if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        }
        unknown = sorted(set(options) - accepted)
        if unknown:
            valid = ", ".join(sorted(accepted)) or "none"
            raise ConfigurationError(
                f"unknown option(s) {', '.join(repr(u) for u in unknown)} for the "
                f"{cls.name!r} {kind} (its options: {valid})",
                field=f"{kind}_options.{unknown[0]}",
            )
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigurationError):
            raise
        raise ConfigurationError(
            f"the {cls.name!r} {kind} rejected its options: {exc}", field=f"{kind}_options"
        ) from exc


def get_engine_class(name: str) -> type[Any]:
    """The engine class registered under ``name`` (raises ``EngineNotFound``)."""
    return host._lookup("engine", name)


def get_serializer_class(name: str) -> type[Any]:
    """The serializer class registered under ``name`` (raises ``SerializerNotFound``)."""
    return host._lookup("serializer", name)


def get_engine(name: str, **options: Any) -> Any:
    """A new engine instance by name, e.g. ``get_engine("db", path="sessions.db")``.

    Unknown names raise ``EngineNotFound`` (listing what is
    installed); unknown options raise ``ConfigurationError``.
    """
    return _instantiate("engine", get_engine_class(name), options)


def get_serializer(name: str, **options: Any) -> Any:
    """A new serializer instance by name, e.g. ``get_serializer("json")``."""
    return _instantiate("serializer", get_serializer_class(name), options)


def list_plugins() -> list[PluginInfo]:
    """Every discovered plugin with its distribution, version, provisions and load error."""
    return host.list_plugins()
