"""SessionStore: the per-request session, a ``dict`` bound to an engine and a serializer.

Semantics follow Django's ``SessionBase``: data is loaded lazily on first
access; ``accessed`` flips on any read, ``modified`` on any top-level change;
keys come from :mod:`secrets`; an invalid key is treated as absent before any
storage access; undecodable or tampered data loads as an empty session and is
logged to ``sessionware.security``. Django's traps are closed: a non-``str``
key raises :class:`TypeError` when set, nested mutations are detected (see
:meth:`SessionStore.detect_changes`), and expiry is enforced by every engine.

The HTTP side (cookies, response rules) lives in ``_session_middleware``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ._config import SessionConfig
from ._engine import Engine, Reissue
from ._errors import (
    ConfigurationError,
    CookieTooLarge,
    CreateError,
    EngineUnavailable,
    SessionwareError,
    SuspiciousSession,
)
from ._http import cookie_attributes
from ._keys import new_session_key
from ._plugins import get_engine, get_engine_class, get_serializer, get_serializer_class, host
from ._serializer import Serializer

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values

__all__ = [
    "BlockingCallWarning",
    "SessionStore",
    "build_engine",
    "build_serializer",
    "session_store",
]

security_log = logging.getLogger("sessionware.security")

#: Reserved data key under which a custom expiry (``set_expiry``) is stored.
EXPIRY_KEY = "_session_expiry"
_MISSING: Any = object()
_CREATE_ATTEMPTS = 16
#: Browsers drop a cookie whose name, value and attributes pass this many bytes.
COOKIE_LIMIT = 4096
#: The longest stored expiry age accepted at load (100 years): beyond it a
#: date computed from it overflows, so such an entry is judged broken.
_MAX_EXPIRY_AGE = 100 * 365 * 86400
_T = TypeVar("_T")
_PACKAGE_DIR = __file__.rsplit("/", 1)[0]


class BlockingCallWarning(RuntimeWarning):
    """A blocking session call (storage I/O, or waiting on a lock) ran on a running event loop.

    Every request served by that loop waits for it. In ``async def`` code use
    the async twins: ``await session.aload()``, ``asave()``, ``acycle_key()``,
    ``aflush()``, ``adelete()``, ``aexists()``.
    """


def _warn_if_on_loop(engine: Engine, operation: str) -> None:
    """Warn when a blocking engine call is made from a coroutine (the loop is running)."""
    if engine.capabilities.inline_async or asyncio._get_running_loop() is None:
        return
    # Point the warning at the first frame outside sessionware: the caller's code.
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    warnings.warn(
        f"session {operation} on the {engine.name!r} engine ran on the running event loop "
        "and blocks every request it serves; in async code call the async twin "
        "(await session.aload(), asave(), acycle_key(), aflush(), adelete(), aexists())",
        BlockingCallWarning,
        stacklevel=level,
    )


def _unavailable(engine: Engine, operation: str, exc: Exception) -> EngineUnavailable:
    """What an engine let escape during I/O, as the outage the core knows how to answer."""
    error = EngineUnavailable(
        f"the {engine.name!r} engine failed during {operation}: {type(exc).__name__}: {exc} "
        "(an engine should report outages as sessionware.EngineUnavailable; this one let "
        "its own error escape, so it is treated as one)"
    )
    error.__cause__ = exc
    return error


def _engine_io(engine: Engine, operation: str, call: Callable[..., _T], *args: Any) -> _T:
    """Run a blocking engine call; whatever foreign error escapes becomes EngineUnavailable."""
    _warn_if_on_loop(engine, operation)
    try:
        return call(*args)
    except SessionwareError:
        raise
    except Exception as exc:
        raise _unavailable(engine, operation, exc) from exc


async def _engine_aio(
    engine: Engine, operation: str, call: Callable[..., Awaitable[_T]], *args: Any
) -> _T:
    """Async twin of :func:`_engine_io`."""
    try:
        return await call(*args)
    except SessionwareError:
        raise
    except Exception as exc:
        raise _unavailable(engine, operation, exc) from exc


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _parse_expiry(value: object) -> int | datetime | None:
    """A stored expiry as the session keeps it, or ``None`` when it is unusable.

    Only what :meth:`SessionStore.set_expiry` writes is accepted: an age in
    whole seconds within bounds, or an ISO date with a UTC offset. Anything
    else (a naive date, an age too large for a date, a float, a bool) would
    make the next save or cookie fail, so the entry is judged broken instead.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= _MAX_EXPIRY_AGE else None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.utcoffset() is None:
            return None
        try:
            moment.astimezone(UTC) + timedelta(seconds=0)
        except OverflowError:
            return None
        return moment
    return None


def _key_error(key: object) -> TypeError:
    return TypeError(
        f"session keys must be str, got {type(key).__name__} {key!r}: the serializer would "
        f"store it as {str(key)!r}, so write session[{str(key)!r}] instead"
    )


class SessionStore(dict[str, Any]):
    """A session: a ``dict`` of str keys, plus Django's session API.

    Get a class bound to an engine with :func:`session_store`, then
    ``SessionStore()`` for a new session or ``SessionStore(key)`` for an
    existing one. Every mutating call (``[]=``, ``del``, ``pop``, ``popitem``,
    ``setdefault`` of a new key, ``update``, ``|=``, ``clear``) sets
    :attr:`modified`; every read sets :attr:`accessed`.
    """

    #: The engine this class stores into (set by :func:`session_store`).
    engine: ClassVar[Engine]
    #: The serializer that turns the data into bytes.
    serializer: ClassVar[Serializer]
    #: The settings in force (cookie age, expiry policy, change detection).
    config: ClassVar[SessionConfig]

    # Per-session state starts as these class-level defaults and becomes an
    # instance attribute when first set: a session is made on every request,
    # and six assignments in __init__ cost more than the rest of construction.
    #: True once the session was changed at the top level (it will be saved).
    modified: bool = False
    #: True once the session was read or written (the response varies on Cookie).
    accessed: bool = False
    _loaded: bool = False
    _raw: bytes | None = None
    _expiry: int | datetime | None = None
    _session_key: str | None = None
    _age: int | None = None  # the expiry age of the last encode
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

    # -- key -----------------------------------------------------------------

    @property
    def session_key(self) -> str | None:
        """The key the cookie carries, or ``None`` for a session never saved."""
        return self._session_key

    def _set_key(self, key: str) -> None:
        if self.engine.is_valid_key(key):
            self._session_key = key
        else:
            self._reject("invalid_key", f"key of {len(str(key))} characters refused before I/O")

    def _io(self, operation: str, call: Callable[..., _T], *args: Any) -> _T:
        try:
            return _engine_io(self.engine, operation, call, *args)
        except EngineUnavailable as exc:
            self.engine_error = exc  # the middleware answers 503, not the app's 500
            raise

    async def _aio(self, operation: str, call: Callable[..., Awaitable[_T]], *args: Any) -> _T:
        try:
            return await _engine_aio(self.engine, operation, call, *args)
        except EngineUnavailable as exc:
            self.engine_error = exc
            raise

    def _reject(self, reason: str, detail: str) -> None:
        security_log.warning(
            "session input rejected (%s) on engine %r: %s", reason, self.engine.name, detail
        )
        host.emit("session_rejected", reason=reason, engine=self.engine.name, detail=detail)

    # -- loading -------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        key = self._session_key
        if key is None:
            return self._apply(None)
        try:
            raw = self._io("load", self.engine.load, key)
        except SuspiciousSession as exc:  # the engine saw forged input (e.g. a cookie)
            self._reject("tampered", f"{type(exc).__name__}: {exc}")
            raw = None
        self._apply(raw)

    async def _aensure_loaded(self) -> None:
        if self._loaded:
            return
        key = self._session_key
        if key is None or self.engine.capabilities.inline_async:
            return self._ensure_loaded()
        try:
            raw = await self._aio("load", self.engine.aload, key)
        except SuspiciousSession as exc:
            self._reject("tampered", f"{type(exc).__name__}: {exc}")
            raw = None
        self._apply(raw)

    def _apply(self, raw: bytes | None) -> None:
        """Install loaded bytes as the session's data (``None``: no such session)."""
        self._loaded = True
        if raw is None:
            self._session_key = None
            return
        data = self._decode(raw)
        if data is None:
            self._session_key = None
            return
        if EXPIRY_KEY in data:
            expiry = _parse_expiry(data.pop(EXPIRY_KEY))
            if expiry is None:  # it could never be saved again: the entry is broken
                self._reject("undecodable", f"unusable {EXPIRY_KEY!r} value in the stored data")
                self._session_key = None
                return
            self._expiry = expiry
        self._raw = raw
        dict.update(self, data)
        if isinstance(raw, Reissue):  # e.g. a cookie signed with a retired key
            self.modified = True

    def _decode(self, raw: bytes) -> dict[str, Any] | None:
        try:
            data = self.serializer.loads(raw)
            if not isinstance(data, dict):
                raise TypeError(f"decoded a {type(data).__name__}, not a dict")
        except SuspiciousSession as exc:
            self._reject("tampered", f"{type(exc).__name__}: {exc}")
            return None
        except Exception as exc:  # any decoder failure: an empty session, never a 500
            self._reject("undecodable", f"{type(exc).__name__}: {exc}")
            return None
        return data

    def load(self) -> dict[str, Any]:
        """Load from the engine (once) and return a copy of the data."""
        self._ensure_loaded()
        return dict(dict.items(self))

    async def aload(self) -> dict[str, Any]:
        """Async twin of :meth:`load`."""
        await self._aensure_loaded()
        return dict(dict.items(self))

    # -- the mapping ---------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        self._ensure_loaded()
        self.accessed = True
        return dict.__getitem__(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if type(key) is not str:
            if not isinstance(key, str):
                raise _key_error(key)
            key = str(key)
        if key == EXPIRY_KEY:
            raise KeyError(f"{EXPIRY_KEY!r} is reserved; call session.set_expiry() instead")
        self._ensure_loaded()
        dict.__setitem__(self, key, value)
        self.accessed = self.modified = True

    def __delitem__(self, key: str) -> None:
        self._ensure_loaded()
        dict.__delitem__(self, key)
        self.accessed = self.modified = True

    def __contains__(self, key: object) -> bool:
        self._ensure_loaded()
        self.accessed = True
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[str]:
        self._ensure_loaded()
        self.accessed = True
        return dict.__iter__(self)

    def __reversed__(self) -> Iterator[str]:
        self._ensure_loaded()
        self.accessed = True
        return dict.__reversed__(self)

    def __len__(self) -> int:
        self._ensure_loaded()
        self.accessed = True
        return dict.__len__(self)

    def __eq__(self, other: object) -> bool:
        self._ensure_loaded()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        self._ensure_loaded()
        return dict.__ne__(self, other)

    __hash__ = None  # mutable, like dict

    def __or__(self, other: Any) -> dict[str, Any]:  # type: ignore[override]
        self._ensure_loaded()
        self.accessed = True
        return dict(dict.items(self)) | dict(other)

    def __ror__(self, other: Any) -> dict[str, Any]:  # type: ignore[override]
        self._ensure_loaded()
        self.accessed = True
        return dict(other) | dict(dict.items(self))

    def __ior__(self, other: Any) -> SessionStore:  # type: ignore[override]
        self.update(other)
        return self

    def __repr__(self) -> str:
        shown = "not loaded" if not self._loaded else dict.__repr__(self)
        key = f"{self._session_key[:6]}..." if self._session_key else None
        return f"<{type(self).__name__} engine={self.engine.name!r} key={key!r} {shown}>"

    def get(self, key: str, default: Any = None) -> Any:
        self._ensure_loaded()
        self.accessed = True
        return dict.get(self, key, default)

    def keys(self) -> dict_keys[str, Any]:
        self._ensure_loaded()
        self.accessed = True
        return dict.keys(self)

    def values(self) -> dict_values[str, Any]:
        self._ensure_loaded()
        self.accessed = True
        return dict.values(self)

    def items(self) -> dict_items[str, Any]:
        self._ensure_loaded()
        self.accessed = True
        return dict.items(self)

    def copy(self) -> dict[str, Any]:
        """A plain ``dict`` copy of the data."""
        self._ensure_loaded()
        self.accessed = True
        return dict(dict.items(self))

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        self._ensure_loaded()
        self.accessed = True
        if dict.__contains__(self, key):
            self.modified = True
            return dict.pop(self, key)
        if default is _MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[str, Any]:
        self._ensure_loaded()
        self.accessed = True
        item = dict.popitem(self)
        self.modified = True
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
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
        self._ensure_loaded()
        for key, value in (*items, *kwargs.items()):
            self[key] = value
        self.accessed = self.modified = True

    def clear(self) -> None:
        """Remove every key (the session itself stays; see :meth:`flush`)."""
        dict.clear(self)
        self._loaded = True
        self._expiry = None
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

    # -- change detection ----------------------------------------------------

    def _payload(self) -> dict[str, Any]:
        data = dict(dict.items(self))
        expiry = self._expiry
        if expiry is not None:
            data[EXPIRY_KEY] = expiry.isoformat() if isinstance(expiry, datetime) else expiry
        return data

    def detect_changes(self) -> bool:
        """Set :attr:`modified` if nested data changed since load; return :attr:`modified`.

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

    # -- expiry --------------------------------------------------------------

    def get_session_cookie_age(self) -> int:
        """The configured lifetime in seconds (``cookie_age``)."""
        return self.config.cookie_age

    def set_expiry(self, value: int | float | datetime | timedelta | None) -> None:
        """Set when this session expires.

        An int is seconds of inactivity; ``0`` expires it when the browser
        closes; a ``datetime`` or ``timedelta`` fixes the moment; ``None``
        returns to the configured policy.
        """
        self._ensure_loaded()
        if value is None:
            self._expiry = None
        elif isinstance(value, timedelta):
            self._expiry = _utcnow() + value
        elif isinstance(value, datetime):
            self._expiry = value if value.tzinfo else value.replace(tzinfo=UTC)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if not 0 <= value <= _MAX_EXPIRY_AGE:
                raise ValueError(
                    f"set_expiry() takes an age from 0 to {_MAX_EXPIRY_AGE} seconds, got {value}"
                )
            self._expiry = int(value)
        else:
            raise TypeError(
                "set_expiry() takes an int (seconds), a datetime, a timedelta or None, "
                f"got {type(value).__name__}"
            )
        self.accessed = self.modified = True

    def get_expiry_age(self) -> int:
        """Seconds from now until this session expires."""
        self._ensure_loaded()
        expiry = self._expiry
        if not expiry:
            return self.config.cookie_age
        if isinstance(expiry, int):
            return expiry
        return max(0, int((expiry - _utcnow()).total_seconds()))

    def get_expiry_date(self) -> datetime:
        """The moment (UTC) this session expires."""
        self._ensure_loaded()
        expiry = self._expiry
        if isinstance(expiry, datetime):
            return expiry
        return _utcnow() + timedelta(seconds=expiry or self.config.cookie_age)

    def get_expire_at_browser_close(self) -> bool:
        """True when the cookie should end with the browser session."""
        self._ensure_loaded()
        if self._expiry is None:
            return self.config.expire_at_browser_close
        return self._expiry == 0

    # -- storage operations --------------------------------------------------

    def _encode(self) -> tuple[bytes, float]:
        data = self.serializer.dumps(self._payload())
        age = self._age = self.get_expiry_age()
        return data, time.time() + age

    def saved_age(self) -> int | None:
        """The cookie's Max-Age for the data just saved; ``None`` for a browser-session cookie.

        Uses the age computed when the data was encoded, so the cookie and the
        stored expiry agree even when the save straddled a second.
        """
        if self.get_expire_at_browser_close():
            return None
        age = self._age
        return self.get_expiry_age() if age is None else age

    def _saved(self, value: str, created: bool, data: bytes) -> None:
        self._session_key = value
        self._raw = data  # what is stored now: later nested changes are compared with it
        event = "session_created" if created else "session_saved"
        if host.listening.get(event):  # the common case, nobody listening, costs one lookup
            host.emit(event, session=self)

    def cookie_size(self, value: str) -> int:
        """Bytes of the ``Set-Cookie`` value the middleware would send for ``value``.

        Name, value and every attribute, as browsers count them against their
        4096-byte limit (RFC 6265, section 6.1).
        """
        cls = type(self)
        fixed = cls.__dict__.get("_cookie_fixed_size")
        if fixed is None:  # name, "=" and attributes: computed once per bound class
            cfg = self.config
            tail = cookie_attributes(
                path=cfg.cookie_path,
                domain=cfg.cookie_domain,
                secure=cfg.cookie_secure,
                httponly=cfg.cookie_httponly,
                samesite=cfg.cookie_samesite,
                partitioned=cfg.cookie_partitioned,
            )
            fixed = len(cfg.cookie_name) + 1 + len(tail)
            cls._cookie_fixed_size = fixed  # type: ignore[attr-defined]
        size: int = fixed + len(value.encode())
        age = self.saved_age()
        if age is not None:
            # "; Expires=<29-character IMF-fixdate>; Max-Age=<seconds>"
            size += len("; Expires=") + 29 + len("; Max-Age=") + len(str(age))
        return size

    def _check_cookie_size(self, value: str) -> None:
        """Refuse a cookie engine's value that browsers would silently drop."""
        size = self.cookie_size(value)
        if size > COOKIE_LIMIT:
            raise CookieTooLarge(
                f"the session cookie would be {size} bytes with its attributes; browsers "
                f"drop cookies over {COOKIE_LIMIT} bytes. Store less in the session, or move "
                f"to a server-side engine (engine='db', 'file' or 'redis') whose cookie holds "
                f"only the key",
                size=size,
                limit=COOKIE_LIMIT,
            )

    def _vanished(self) -> bool:
        return self._session_key is None

    def save(self, must_create: bool = False) -> None:
        """Write the session; a session without a key is created.

        ``must_create`` raises :class:`~sessionware.CreateError` if the key is
        taken; an update of a session that vanished raises
        :class:`~sessionware.UpdateError` (it is never resurrected).
        """
        if self._session_key is None:
            return self.create()
        if must_create:
            self._loaded = True
        else:
            self._ensure_loaded()
            if self._vanished():  # it expired or was deleted before we loaded it
                return self.create()
        data, expires_at = self._encode()
        key = self._session_key
        value = self._io("save", self.engine.save, key, data, expires_at, must_create)
        if not self.engine.capabilities.server_side:
            self._check_cookie_size(value)
        self._saved(value, must_create, data)

    async def asave(self, must_create: bool = False) -> None:
        """Async twin of :meth:`save`."""
        if self.engine.capabilities.inline_async:
            return self.save(must_create)
        if self._session_key is None:
            return await self.acreate()
        if must_create:
            self._loaded = True
        else:
            await self._aensure_loaded()
            if self._vanished():
                return await self.acreate()
        data, expires_at = self._encode()
        key = self._session_key
        value = await self._aio("save", self.engine.asave, key, data, expires_at, must_create)
        if not self.engine.capabilities.server_side:
            self._check_cookie_size(value)
        self._saved(value, must_create, data)

    def create(self) -> None:
        """Store this session's data under a new random key."""
        self._loaded = True
        previous = self._session_key
        for _ in range(_CREATE_ATTEMPTS):
            self._session_key = new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            except BaseException:
                self._session_key = previous  # a key that was never stored is no key
                raise
            self.modified = True
            return
        raise CreateError(
            f"no free session key after {_CREATE_ATTEMPTS} attempts; the {self.engine.name!r} "
            "engine reports every new key as taken"
        )

    async def acreate(self) -> None:
        """Async twin of :meth:`create`."""
        if self.engine.capabilities.inline_async:
            return self.create()
        self._loaded = True
        previous = self._session_key
        for _ in range(_CREATE_ATTEMPTS):
            self._session_key = new_session_key()
            try:
                await self.asave(must_create=True)
            except CreateError:
                continue
            except BaseException:
                self._session_key = previous
                raise
            self.modified = True
            return
        raise CreateError(f"no free session key after {_CREATE_ATTEMPTS} attempts")

    def exists(self, session_key: str) -> bool:
        """True when an unexpired session is stored under ``session_key``."""
        engine = self.engine
        return engine.is_valid_key(session_key) and self._io("exists", engine.exists, session_key)

    async def aexists(self, session_key: str) -> bool:
        """Async twin of :meth:`exists`."""
        if not self.engine.is_valid_key(session_key):
            return False
        if self.engine.capabilities.inline_async:
            return self._io("exists", self.engine.exists, session_key)
        return await self._aio("exists", self.engine.aexists, session_key)

    def delete(self, session_key: str | None = None) -> None:
        """Delete the stored session (this one's by default); the data in memory stays."""
        key = self._session_key if session_key is None else session_key
        if key is None or not self.engine.is_valid_key(key):
            return
        self._io("delete", self.engine.delete, key)
        host.emit("session_deleted", session_key=key, engine=self.engine.name)

    async def adelete(self, session_key: str | None = None) -> None:
        """Async twin of :meth:`delete`."""
        key = self._session_key if session_key is None else session_key
        if key is None or not self.engine.is_valid_key(key):
            return
        if self.engine.capabilities.inline_async:
            self._io("delete", self.engine.delete, key)
        else:
            await self._aio("delete", self.engine.adelete, key)
        host.emit("session_deleted", session_key=key, engine=self.engine.name)

    def flush(self) -> None:
        """Delete the stored session and empty this one (log-out)."""
        self.clear()
        self.delete()
        self._session_key = None

    async def aflush(self) -> None:
        """Async twin of :meth:`flush`."""
        self.clear()
        await self.adelete()
        self._session_key = None

    def cycle_key(self) -> None:
        """Keep the data under a new key and delete the old one (do it at log-in)."""
        self._ensure_loaded()
        old = self._session_key
        self.create()
        if old is not None:
            self.delete(old)
        host.emit(
            "session_key_cycled", old_key=old, new_key=self._session_key, engine=self.engine.name
        )

    async def acycle_key(self) -> None:
        """Async twin of :meth:`cycle_key`."""
        await self._aensure_loaded()
        old = self._session_key
        await self.acreate()
        if old is not None:
            await self.adelete(old)
        host.emit(
            "session_key_cycled", old_key=old, new_key=self._session_key, engine=self.engine.name
        )

    @classmethod
    def clear_expired(cls) -> int:
        """Remove expired sessions from the engine; return how many."""
        return _engine_io(cls.engine, "clear_expired", cls.engine.clear_expired)

    @classmethod
    async def aclear_expired(cls) -> int:
        """Async twin of :meth:`clear_expired`."""
        if cls.engine.capabilities.inline_async:
            return cls.engine.clear_expired()
        return await _engine_aio(cls.engine, "clear_expired", cls.engine.aclear_expired)

    # -- async mapping helpers (load without blocking, then act) ---------------

    async def aget(self, key: str, default: Any = None) -> Any:
        """Load asynchronously, then ``get``."""
        await self._aensure_loaded()
        return self.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        """Load asynchronously, then ``self[key] = value``."""
        await self._aensure_loaded()
        self[key] = value

    async def apop(self, key: str, default: Any = _MISSING) -> Any:
        """Load asynchronously, then ``pop``."""
        await self._aensure_loaded()
        return self.pop(key, default)

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

    async def aset_expiry(self, value: int | float | datetime | timedelta | None) -> None:
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


def session_store(
    config: SessionConfig | None = None,
    *,
    engine_instance: Engine | None = None,
    serializer_instance: Serializer | None = None,
    **settings: Any,
) -> type[SessionStore]:
    """A :class:`SessionStore` class bound to an engine — Django's "outside a view" in one line.

    ``session_store(engine="db", path="sessions.db")``: keyword arguments that
    are :class:`SessionConfig` fields configure the session; the others are
    options of the engine. Pass ``engine_instance``/``serializer_instance`` to
    share already-built ones (the engine holds the connection pool).
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
        "SessionStore",
        (SessionStore,),
        {"engine": engine, "serializer": serializer, "config": cfg, "__module__": __name__},
    )
