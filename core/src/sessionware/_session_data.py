"""The session's state: the mapping and change detection — no I/O here.

``SessionData`` is the ``dict`` half of ``SessionStore``.
It loads lazily through one hook, ``_ensure_loaded`` (the persistence half,
``_session_io``, provides it), called from one place: the table of reading
methods below and the few writing methods that need the stored data first.
What it holds beyond the ``dict``: the key, ``accessed``/``modified``, the
custom expiry (its API in ``_session_expiry``), and the bytes last loaded or
saved (to detect nested changes). What it reports, a rejected input, goes
through the class's ``Events``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from ._capabilities import Version
from ._config import SessionConfig
from ._engine import Engine
from ._errors import EngineUnavailable
from ._events import Events
from ._serializer import Serializer
from ._session_expiry import EXPIRY_KEY, SessionExpiry, stored_expiry

__all__ = ["EXPIRY_KEY", "SessionData"]

security_log = logging.getLogger("sessionware.security")

_MISSING: Any = object()


def _key_error(key: object) -> TypeError:
    return TypeError(
        f"session keys must be str, got {type(key).__name__} {key!r}: the serializer would "
        f"store it as {str(key)!r}, so write session[{str(key)!r}] instead"
    )


class SessionData(dict[str, Any], SessionExpiry):
    """A ``dict`` of str keys that loads itself on first use and tracks reads and changes."""

    #: The engine this class stores into (set by ``sessionware.session_store``).
    engine: ClassVar[Engine]
    #: The serializer that turns the data into bytes.
    serializer: ClassVar[Serializer]
    #: The settings in force (cookie age, expiry policy, change detection).
    config: ClassVar[SessionConfig]
    #: Where this class's events go (set when the class is bound).
    events: ClassVar[Events]

    # Per-session state starts as these class-level defaults and becomes an
    # instance attribute when first set: a session is made on every request,
    # and six assignments in __init__ cost more than the rest of construction.
    #: True once the session was changed at the top level (it will be saved).
    modified: bool = False
    #: True once the session was read or written (the response varies on Cookie).
    accessed: bool = False
    _loaded: bool = False
    _raw: bytes | None = None
    #: The engine's version of ``_raw`` (versioned engines): what a save compares against.
    _version: Version | None = None
    #: ``clear()`` (or a wholesale replacement) since the last write: a merge starts from ``{}``.
    _cleared: bool = False
    #: The bound engine declares ``versioned`` (set when a class is bound to it).
    _versioned: ClassVar[bool] = False
    _expiry: int | datetime | None = None
    _session_key: str | None = None
    #: The last EngineUnavailable any storage call of this session raised.
    engine_error: EngineUnavailable | None = None

    def __init__(self, session_key: str | None = None) -> None:
        # dict.__new__ made the empty mapping; dict.__init__ would add nothing.
        if not hasattr(type(self), "engine"):
            raise TypeError(
                "SessionStore is not bound to an engine; create a bound class with "
                "sessionware.session_store(engine='db', ...)"
            )
        if session_key is not None:
            self._set_key(session_key)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        engine = cls.__dict__.get("engine")
        if engine is not None:  # bound here: one flag read per load and save, not three
            cls._versioned = bool(getattr(engine.capabilities, "versioned", False))

    def _ensure_loaded(self) -> None:
        """Load the stored data once (provided by the persistence half)."""
        raise NotImplementedError

    # -- key -------------------------------------------------------------------

    @property
    def session_key(self) -> str | None:
        """The key the cookie carries, or ``None`` for a session never saved."""
        return self._session_key

    def _set_key(self, key: str) -> None:
        if self.engine.is_valid_key(key):
            self._session_key = key
        else:
            self._reject("invalid_key", f"key of {len(str(key))} characters refused before I/O")

    def _reject(self, reason: str, detail: str) -> None:
        security_log.warning(
            "session input rejected (%s) on engine %r: %s", reason, self.engine.name, detail
        )
        self.events.emit("session_rejected", reason=reason, engine=self.engine.name, detail=detail)

    # -- the mapping: reads (generated below) and writes -------------------------

    def __setitem__(self, key: str, value: Any) -> None:
        if type(key) is not str:
            if not isinstance(key, str):
                raise _key_error(key)
            key = str(key)
        if key == EXPIRY_KEY:
            raise KeyError(f"{EXPIRY_KEY!r} is reserved; call session.set_expiry() instead")
        if not self._loaded:
            self._ensure_loaded()
        dict.__setitem__(self, key, value)
        self.accessed = self.modified = True

    def __delitem__(self, key: str) -> None:
        if not self._loaded:
            self._ensure_loaded()
        dict.__delitem__(self, key)
        self.accessed = self.modified = True

    __hash__ = None  # type: ignore[assignment] # mutable, like dict

    def __ior__(self, other: Any) -> SessionData:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __repr__(self) -> str:
        shown = "not loaded" if not self._loaded else dict.__repr__(self)
        key = f"{self._session_key[:6]}..." if self._session_key else None
        return f"<{type(self).__name__} engine={self.engine.name!r} key={key!r} {shown}>"

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if not self._loaded:
            self._ensure_loaded()
        self.accessed = True
        if dict.__contains__(self, key):
            self.modified = True
            return dict.pop(self, key)
        if default is _MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[str, Any]:
        if not self._loaded:
            self._ensure_loaded()
        self.accessed = True
        item = dict.popitem(self)
        self.modified = True
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        if not self._loaded:
            self._ensure_loaded()
        self.accessed = True
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        self[key] = default
        return default

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        items: Iterable[tuple[Any, Any]]
        if isinstance(other, Mapping):
            items = list(other.items())
        elif hasattr(other, "keys"):
            items = [(k, other[k]) for k in other.keys()]  # noqa: SIM118 - a keys() protocol object
        else:
            items = list(other)
        for key, _ in items:
            if not isinstance(key, str):
                raise _key_error(key)
        if not self._loaded:
            self._ensure_loaded()
        for key, value in (*items, *kwargs.items()):
            self[key] = value
        self.accessed = self.modified = True

    def clear(self) -> None:
        """Remove every key (the session itself stays; see ``flush``)."""
        dict.clear(self)
        self._loaded = True
        self._expiry = None
        self._cleared = True  # a concurrent save's keys do not come back (see _session_merge)
        self.accessed = self.modified = True

    def mark_accessed(self) -> None:
        """Record that the session was read (Starlette's ``request.session`` calls this).

        Code that reads the ``dict`` through C (``json.dumps``, orjson) calls
        no method of it; handing the session out is what counts as reading it,
        so the response varies on ``Cookie``.
        """
        self.accessed = True

    def mark_modified(self) -> None:
        """Record a change made without a method call, so the session is saved."""
        self.accessed = self.modified = True

    def is_empty(self) -> bool:
        """True when there is no key and no data (touches no storage)."""
        if self._session_key:
            return False
        return not self._loaded or dict.__len__(self) == 0

    # -- change detection --------------------------------------------------------

    def _payload(self) -> dict[str, Any]:
        data = dict(dict.items(self))
        expiry = self._expiry
        if expiry is not None:
            data[EXPIRY_KEY] = stored_expiry(expiry)
        return data

    def detect_changes(self) -> bool:
        """Set ``modified`` if nested data changed since load; return ``modified``.

        ``s["cart"]["n"] = 1`` changes the session without calling a method of
        it. With ``detect_nested_changes`` (the default) the middleware calls
        this before deciding to save: it decodes the loaded bytes again and
        compares them with the current data — only for sessions that were read
        and not already marked modified.
        """
        if (
            not self.modified
            and self.accessed
            and self._raw is not None
            and self.config.detect_nested_changes
        ):
            try:
                before = self.serializer.loads(self._raw)
            except Exception:
                before = None
            if before != self._payload():
                self.modified = True
        return self.modified


_READ_TEMPLATE = """
def {name}(self{params}):
    if not self._loaded:
        self._ensure_loaded()
    {mark}return _dict_{name}(self{args})
"""


def _reading(name: str, params: str = "", *, counts_as_read: bool = True) -> Callable[..., Any]:
    """``dict.<name>``, after loading the session once (and marking it read).

    Made from a template rather than a ``*args`` wrapper: these are the
    session's hot path (every ``session["x"]``), and the exact signature
    costs nothing extra over a hand-written method.
    """
    namespace: dict[str, Any] = {f"_dict_{name}": getattr(dict, name)}
    source = _READ_TEMPLATE.format(
        name=name,
        params="".join(f", {p}" for p in params.split(", ") if p),
        args="".join(f", {p.split('=')[0]}" for p in params.split(", ") if p),
        mark="self.accessed = True\n    " if counts_as_read else "",
    )
    exec(source, namespace)  # noqa: S102 - a fixed template over dict's own method names
    method: Callable[..., Any] = namespace[name]
    method.__qualname__ = f"SessionData.{name}"
    method.__doc__ = getattr(dict, name).__doc__
    return method


def _copying(name: str) -> Callable[..., Any]:
    """A plain-``dict`` result (``copy``, ``|``), after loading the session once."""

    def copy(self: SessionData) -> dict[str, Any]:
        if not self._loaded:
            self._ensure_loaded()
        self.accessed = True
        return dict(dict.items(self))

    if name == "copy":
        copy.__doc__ = "A plain ``dict`` copy of the data."
        return copy
    if name == "__or__":
        return lambda self, other: copy(self) | dict(other)
    return lambda self, other: dict(other) | copy(self)  # __ror__


# The laziness in one place: every reading method of dict, loaded first.
for _name, _params in (
    ("__getitem__", "key"),
    ("__contains__", "key"),
    ("__iter__", ""),
    ("__reversed__", ""),
    ("__len__", ""),
    ("get", "key, default=None"),
    ("keys", ""),
    ("values", ""),
    ("items", ""),
):
    setattr(SessionData, _name, _reading(_name, _params))
for _name in ("__eq__", "__ne__"):  # comparing is not reading the session for Vary
    setattr(SessionData, _name, _reading(_name, "other", counts_as_read=False))
for _name in ("copy", "__or__", "__ror__"):
    setattr(SessionData, _name, _copying(_name))
del _name, _params
