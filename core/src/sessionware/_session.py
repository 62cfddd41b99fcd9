"""SessionStore: the per-request session, a ``dict`` bound to an engine and a serializer.

Semantics follow Django's ``SessionBase``: data is loaded lazily on first
access; ``accessed`` flips on any read, ``modified`` on any top-level change;
keys come from ``secrets``; an invalid key is treated as absent before any
storage access; undecodable or tampered data loads as an empty session and is
logged to ``sessionware.security``. Django's traps are closed: a non-``str``
key raises ``TypeError`` when set, nested mutations are detected (see
``SessionStore.detect_changes``), and expiry is enforced by every engine.

The class is built in layers, each a module along a seam:

- ``_session_expiry``: Django's expiry API and how a custom expiry is stored;
- ``_session_data``: the mapping, change detection, and the laziness (one
  table of reading methods that load first);
- ``_session_drivers``: the two drivers that carry out an operation's steps,
  with blocking calls or their async twins (the only place I/O happens);
- ``_session_merge``: what a versioned save does when another request saved
  first (reload, merge key by key, report a same-key loss);
- ``_session_io``: load, save, create, exists, delete, flush, cycle — each
  written once as steps, for sync and async;
- ``_session_lock``: ``lock()``/``alock()``, a per-session lease;
- this module: ``SessionStore`` (adding the async twins of the mapping
  methods) and ``session_store``, which binds a class to an engine, a
  serializer, a configuration and the ``Events``
  its events go through (the plugin host's unless given).

The HTTP side (cookies, response rules) lives in ``sessionware.http``.
"""

from __future__ import annotations

from typing import Any

from ._config import SessionConfig
from ._engine import Engine
from ._errors import ConfigurationError
from ._events import Events
from ._plugins import get_engine, get_engine_class, get_serializer, get_serializer_class, host
from ._serializer import Serializer
from ._session_expiry import EXPIRY_KEY, _utcnow
from ._session_io import COOKIE_LIMIT, BlockingCallWarning
from ._session_lock import SessionLocking

__all__ = [
    "COOKIE_LIMIT",
    "EXPIRY_KEY",
    "BlockingCallWarning",
    "SessionStore",
    "_utcnow",
    "build_engine",
    "build_serializer",
    "session_store",
]


class SessionStore(SessionLocking):
    """A session: a ``dict`` of str keys, plus Django's session API.

    Get a class bound to an engine with ``session_store``, then
    ``SessionStore()`` for a new session or ``SessionStore(key)`` for an
    existing one. Every mutating call (``[]=``, ``del``, ``pop``, ``popitem``,
    ``setdefault`` of a new key, ``update``, ``|=``, ``clear``) sets
    ``modified``; every read sets ``accessed``. Storage operations
    have async twins (``aload``, ``asave``, ``acycle_key``, ``aflush``, ...).
    On an engine that declares ``versioned``, concurrent saves of one session
    merge key by key instead of overwriting; ``with session.lock():`` (or
    ``async with session.alock():``) serializes a read-modify-write of one key.
    """

    #: Where events go: the plugin host's, unless ``session_store`` was given others.
    events = host.events

    # -- async mapping helpers (load without blocking, then act) ---------------------

    async def aget(self, key: str, default: Any = None) -> Any:
        """Load asynchronously, then ``get``."""
        await self._aensure_loaded()
        return self.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        """Load asynchronously, then ``self[key] = value``."""
        await self._aensure_loaded()
        self[key] = value

    async def apop(self, key: str, *default: Any) -> Any:
        """Load asynchronously, then ``pop``."""
        await self._aensure_loaded()
        return self.pop(key, *default)

    async def asetdefault(self, key: str, default: Any = None) -> Any:
        """Load asynchronously, then ``setdefault``."""
        await self._aensure_loaded()
        return self.setdefault(key, default)

    async def aupdate(self, other: Any = (), /, **kwargs: Any) -> None:
        """Load asynchronously, then ``update``."""
        await self._aensure_loaded()
        self.update(other, **kwargs)

    async def ahas_key(self, key: str) -> bool:
        """Load asynchronously, then ``key in self``."""
        await self._aensure_loaded()
        return key in self

    async def aitems(self) -> list[tuple[str, Any]]:
        """Load asynchronously, then a list of the items."""
        await self._aensure_loaded()
        return list(self.items())

    async def akeys(self) -> list[str]:
        """Load asynchronously, then a list of the keys."""
        await self._aensure_loaded()
        return list(self.keys())

    async def avalues(self) -> list[Any]:
        """Load asynchronously, then a list of the values."""
        await self._aensure_loaded()
        return list(self.values())

    async def aset_expiry(self, value: Any) -> None:
        """Load asynchronously, then ``set_expiry``."""
        await self._aensure_loaded()
        self.set_expiry(value)


def build_engine(config: SessionConfig) -> Engine:
    """The engine ``config`` names, with its options (and the secret, if it signs)."""
    options = dict(config.engine_options)
    if getattr(get_engine_class(config.engine), "uses_secret", False):
        if not config.secret_key:
            raise ConfigurationError(
                f"the {config.engine!r} engine signs its data and needs secret_key; set it "
                "(SESSIONWARE_SECRET_KEY) to a long random string",
                field="secret_key",
            )
        options.setdefault("secret_key", config.secret_key)
        options.setdefault("fallback_keys", config.fallback_keys)
    engine: Engine = get_engine(config.engine, **options)
    return engine


def build_serializer(config: SessionConfig) -> Serializer:
    """The serializer ``config`` names, with its options (and the secret, if it signs)."""
    options = dict(config.serializer_options)
    if getattr(get_serializer_class(config.serializer), "uses_secret", False):
        if not config.secret_key:
            raise ConfigurationError(
                f"the {config.serializer!r} serializer signs its data and needs secret_key",
                field="secret_key",
            )
        options.setdefault("secret_key", config.secret_key)
        options.setdefault("fallback_keys", config.fallback_keys)
    serializer: Serializer = get_serializer(config.serializer, **options)
    return serializer


def _bound_class_name(engine: Engine, serializer: Serializer) -> str:
    """``DbJsonSessionStore`` for the db engine and json serializer: says what it is bound to."""

    def camel(name: str) -> str:
        return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)

    engine_name = getattr(engine, "name", "") or type(engine).__name__
    serializer_name = getattr(serializer, "name", "") or type(serializer).__name__
    return f"{camel(engine_name)}{camel(serializer_name)}SessionStore"


def session_store(
    config: SessionConfig | None = None,
    *,
    engine_instance: Engine | None = None,
    serializer_instance: Serializer | None = None,
    events: Events | None = None,
    **settings: Any,
) -> type[SessionStore]:
    """A ``SessionStore`` class bound to an engine — Django's "outside a view" in one line.

    ``session_store(engine="db", path="sessions.db")``: keyword arguments that
    are ``SessionConfig`` fields configure the session; the others are
    options of the engine. Pass ``engine_instance``/``serializer_instance`` to
    share already-built ones (the engine holds the connection pool). The
    class emits its events through ``events``: by default the plugin host's,
    which stays current as plugins register and unregister.
    """
    fields = set(SessionConfig.field_names())
    config_values = {k: v for k, v in settings.items() if k in fields}
    engine_options = {k: v for k, v in settings.items() if k not in fields}
    base = config or SessionConfig()
    if engine_options:
        config_values["engine_options"] = {
            **base.engine_options,
            **config_values.get("engine_options", {}),
            **engine_options,
        }
    cfg = base.replace(**config_values) if config_values else base
    engine = engine_instance if engine_instance is not None else build_engine(cfg)
    serializer = serializer_instance if serializer_instance is not None else build_serializer(cfg)
    return type(
        _bound_class_name(engine, serializer),
        (SessionStore,),
        {
            "engine": engine,
            "serializer": serializer,
            "config": cfg,
            "events": host.events if events is None else events,
            "__module__": __name__,
        },
    )
