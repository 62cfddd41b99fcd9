"""Django session backend: ``SESSION_ENGINE = "sessionware.django"``.

Django's own ``SessionMiddleware`` keeps doing the cookies; this module only
stores. :class:`SessionStore` is a ``django.contrib.sessions`` ``SessionBase``
whose data goes through the sessionware engine and serializer named in the
``SESSIONWARE`` setting::

    SESSION_ENGINE = "sessionware.django"
    SESSIONWARE = {"engine": "db", "options": {"path": BASE_DIR / "sessions.sqlite3"}}

Every other session setting is Django's own (``SESSION_COOKIE_AGE``,
``SESSION_EXPIRE_AT_BROWSER_CLOSE``, ``SESSION_SAVE_EVERY_REQUEST``, the
cookie settings, ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` for engines and
serializers that sign): nothing is configured twice. The engine is built once
per process and rebuilt when a test overrides one of the settings it depends
on. What lives elsewhere: cookies and response rules (Django), storage
(the engine plugins).
"""

from __future__ import annotations

try:
    import django  # noqa: F401 - fail here, with the fix
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without Django
    raise ImportError(
        'sessionware.django needs Django; install it with: pip install "sessionware[django]"'
    ) from exc

import asyncio
import logging
import os
import threading
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.contrib.sessions.backends.base import (
    CreateError as DjangoCreateError,
)
from django.contrib.sessions.backends.base import (
    SessionBase,
)
from django.contrib.sessions.backends.base import (
    UpdateError as DjangoUpdateError,
)
from django.core.exceptions import (
    ImproperlyConfigured,
    SynchronousOnlyOperation,
)
from django.core.signals import setting_changed

from ._engine import Engine, Reissue, Version
from ._errors import CreateError, SessionwareError, SuspiciousSession, UpdateError, VersionConflict
from ._events import Events
from ._keys import new_session_key
from ._plugins import get_engine, get_engine_class, get_serializer, get_serializer_class, host
from ._serializer import Serializer
from ._session_drivers import _pause
from ._session_lock import atake_merge_lock, take_merge_lock
from ._session_merge import (
    LOCK_AFTER,
    LOCKED_MERGE_SECONDS,
    MERGE_ATTEMPTS,
    LockToMerge,
    merge,
    report,
)
from .http._cookies import CookieSpec

__all__ = ["SessionStore", "reset"]

#: The logger Django's own backends report corrupted session data to.
security_log = logging.getLogger("django.security.SuspiciousSession")

#: Django's default ``SESSION_SERIALIZER``; any other value is refused (see ``_build``).
DJANGO_JSON_SERIALIZER = "django.contrib.sessions.serializers.JSONSerializer"
#: The keys the ``SESSIONWARE`` setting may hold.
SESSIONWARE_KEYS = ("engine", "options", "serializer", "serializer_options", "on_conflict")
#: ``SESSIONWARE["on_conflict"]``: which value stays when two requests change one key.
ON_CONFLICT = ("last_write_wins", "first_write_wins")
#: SessionConfig fields that Django already has a setting for: naming them in
#: SESSIONWARE would configure the same thing twice.
DJANGO_NAMES = {
    "cookie_name": "SESSION_COOKIE_NAME",
    "cookie_age": "SESSION_COOKIE_AGE",
    "cookie_domain": "SESSION_COOKIE_DOMAIN",
    "cookie_path": "SESSION_COOKIE_PATH",
    "cookie_secure": "SESSION_COOKIE_SECURE",
    "cookie_httponly": "SESSION_COOKIE_HTTPONLY",
    "cookie_samesite": "SESSION_COOKIE_SAMESITE",
    "save_every_request": "SESSION_SAVE_EVERY_REQUEST",
    "expire_at_browser_close": "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "secret_key": "SECRET_KEY",
    "fallback_keys": "SECRET_KEY_FALLBACKS",
    "engine_options": "SESSIONWARE['options']",
}
#: Settings the built engine and serializer depend on.
WATCHED = frozenset({"SESSIONWARE", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "SESSION_SERIALIZER"})
_CREATE_ATTEMPTS = 16
_GONE = "the session no longer exists (deleted or expired); it is not recreated"
_COOKIE_ADVICE = (
    "Store less in the session, or use a server-side engine "
    "(SESSIONWARE['engine'] = 'db', 'file' or 'redis')"
)


@dataclass(frozen=True, slots=True)
class _Backend:
    engine: Engine
    serializer: Serializer
    #: Where events go (the plugin host's, taken when the backend is built).
    events: Events
    #: ``SESSIONWARE["on_conflict"]`` (versioned engines).
    on_conflict: str = "last_write_wins"


_lock = threading.Lock()
_current: _Backend | None = None


def _backend() -> _Backend:
    backend = _current
    if backend is None:
        return _build_once()
    return backend


def _build_once() -> _Backend:
    global _current
    with _lock:
        if _current is None:
            _current = _build()
        return _current


def reset() -> None:
    """Close the engine built from the settings; the next session operation builds it anew.

    Called when a test overrides ``SESSIONWARE``, ``SECRET_KEY``,
    ``SECRET_KEY_FALLBACKS`` or ``SESSION_SERIALIZER`` (Django's
    ``setting_changed`` signal), so ``override_settings`` works.
    """
    global _current
    with _lock:
        old, _current = _current, None
    if old is not None:
        old.engine.close()


def _on_setting_changed(*, setting: str, **_: Any) -> None:
    if setting in WATCHED:
        reset()


setting_changed.connect(_on_setting_changed, dispatch_uid="sessionware.django")


def _improper(message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"SESSIONWARE: {message}")


def _options(conf: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = conf.get(name, {})
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _improper(f"SESSIONWARE[{name!r}] must be a dict of option names, got {value!r}")
    options = dict(value)
    for taken, django_name in (
        ("secret_key", "SECRET_KEY"),
        ("fallback_keys", "SECRET_KEY_FALLBACKS"),
    ):
        if taken in options:
            raise _improper(
                f"SESSIONWARE[{name!r}][{taken!r}] is not read: engines and serializers that "
                f"sign get Django's {django_name}; remove it from SESSIONWARE"
            )
    return options


def _with_secret(cls: type[Any], options: dict[str, Any]) -> dict[str, Any]:
    if getattr(cls, "uses_secret", False):
        options["secret_key"] = settings.SECRET_KEY  # Django refuses an empty one itself
        options["fallback_keys"] = list(getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    return options


def _build() -> _Backend:
    """The engine and serializer the settings name; ``ImproperlyConfigured`` if they cannot be."""
    conf = getattr(settings, "SESSIONWARE", {})
    if not isinstance(conf, Mapping):
        raise _improper(f"the SESSIONWARE setting must be a dict, got {type(conf).__name__}")
    for key in conf:
        if key in SESSIONWARE_KEYS:
            continue
        if key in DJANGO_NAMES:
            raise _improper(
                f"SESSIONWARE[{key!r}] is not read under Django: set {DJANGO_NAMES[key]} instead"
            )
        raise _improper(
            f"unknown key {key!r}; SESSIONWARE takes {', '.join(map(repr, SESSIONWARE_KEYS))}"
        )
    if getattr(settings, "SESSION_SERIALIZER", DJANGO_JSON_SERIALIZER) != DJANGO_JSON_SERIALIZER:
        raise ImproperlyConfigured(
            f"SESSION_SERIALIZER={settings.SESSION_SERIALIZER!r} is not used by "
            "sessionware.django, which serializes with a sessionware serializer: remove "
            "SESSION_SERIALIZER (or set it back to Django's default JSONSerializer) and name "
            "the serializer in SESSIONWARE['serializer'] ('json', 'msgpack', 'signed' or a "
            "serializer plugin of your own)"
        )
    on_conflict = conf.get("on_conflict", "last_write_wins")
    if on_conflict not in ON_CONFLICT:
        raise _improper(
            f"on_conflict must be one of {', '.join(map(repr, ON_CONFLICT))}, got {on_conflict!r}"
        )
    engine_name = conf.get("engine", "db")
    serializer_name = conf.get("serializer", "json")
    engine_options = _options(conf, "options")
    serializer_options = _options(conf, "serializer_options")
    if not isinstance(engine_name, str) or not isinstance(serializer_name, str):
        raise _improper(
            f"engine and serializer are plugin names such as 'db' and 'json', got "
            f"{engine_name!r} and {serializer_name!r}"
        )
    try:
        engine_cls = get_engine_class(engine_name)
        serializer_cls = get_serializer_class(serializer_name)
        engine: Engine = get_engine(engine_name, **_with_secret(engine_cls, engine_options))
        serializer: Serializer = get_serializer(
            serializer_name, **_with_secret(serializer_cls, serializer_options)
        )
    except SessionwareError as exc:
        raise _improper(str(exc)) from exc
    return _Backend(engine, serializer, host.events, on_conflict)


def _io_engine(operation: str) -> Engine:
    """The engine, for a blocking call: refused on a running event loop, as Django's ORM does.

    Django's db backend raises ``SynchronousOnlyOperation`` when an async view
    touches the session synchronously; so does this one for any engine whose
    calls may wait (disk, network, another process's lock). Engines that never
    wait (``inline_async``: the cache, cookies) are fine anywhere.
    ``DJANGO_ALLOW_ASYNC_UNSAFE`` lifts it, as it does for the ORM.
    """
    engine = _backend().engine
    if (
        asyncio._get_running_loop() is not None
        and not getattr(engine.capabilities, "inline_async", False)
        and not os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    ):
        raise SynchronousOnlyOperation(
            f"session {operation} on the {engine.name!r} engine would block the event loop; "
            "in async code use the async twins: await request.session.aget(), aset(), "
            "aitems(), asave(), acycle_key(), aflush() (or alogin()/alogout())"
        )
    return engine


def _emit(hook: str, **kwargs: Any) -> None:
    _backend().events.emit(hook, **kwargs)


_Steps = Generator[tuple[str, tuple[Any, ...]], Any, str]


def _drive(engine: Engine, steps: _Steps) -> str:
    """Carry out ``steps`` (engine calls as ``(method, args)``) with the blocking methods.

    A ``VersionConflict`` is handed back after a short random pause that grows
    with each one, as the core's drivers do, so writers in lockstep fall apart.
    """
    conflicts = 0
    try:
        request = next(steps)
        while True:
            operation, args = request
            try:
                result = getattr(engine, operation)(*args)
            except VersionConflict as exc:
                conflicts += 1
                time.sleep(_pause(conflicts))
                request = steps.throw(exc)
            except Exception as exc:
                request = steps.throw(exc)
            else:
                request = steps.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def _adrive(engine: Engine, steps: _Steps) -> str:
    """Async twin of ``_drive``, with the engine's ``a<method>`` twins."""
    conflicts = 0
    try:
        request = next(steps)
        while True:
            operation, args = request
            try:
                result = await getattr(engine, "a" + operation)(*args)
            except VersionConflict as exc:
                conflicts += 1
                await asyncio.sleep(_pause(conflicts))
                request = steps.throw(exc)
            except Exception as exc:
                request = steps.throw(exc)
            else:
                request = steps.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


class SessionStore(SessionBase):  # type: ignore[misc]
    """Django's session API, stored through the sessionware engine in ``SESSIONWARE``.

    Behaves as ``django.contrib.sessions.backends.db.SessionStore`` does:
    ``create()`` retries on a key collision, ``save(must_create=True)``
    raises Django's ``CreateError`` when the key is taken, an update of a
    session deleted meanwhile raises Django's ``UpdateError`` (the middleware
    answers 400), undecodable or tampered data loads as an empty session and
    is logged to ``django.security.SuspiciousSession``. Keys that cannot be
    the engine's keys are treated as absent before any storage access.
    """

    def __init__(self, session_key: str | None = None) -> None:
        # SessionBase.__init__ would import SESSION_SERIALIZER on every request;
        # the serializer here is sessionware's, built once per process.
        self._session_key = session_key
        self.accessed = False
        self.modified = False

    #: Versioned engines: the bytes last loaded or written (a merge's base) and their version.
    _sw_raw: bytes | None = None
    _sw_version: Version | None = None
    #: ``clear()`` since the last write: a merge keeps this request's data alone.
    _sw_cleared = False

    def clear(self) -> None:
        """Remove every key (``flush()`` also deletes the stored session)."""
        super().clear()
        self._sw_cleared = True

    # -- data <-> bytes ---------------------------------------------------------------

    def encode(self, session_dict: dict[str, Any]) -> bytes:
        """The bytes the engine stores for ``session_dict`` (the sessionware serializer's)."""
        return _backend().serializer.dumps(session_dict)

    def decode(self, session_data: bytes | str) -> dict[str, Any]:
        """The session dict in ``session_data``; ``{}`` (logged) when it cannot be decoded."""
        data = self._decode(session_data)
        return {} if data is None else data

    def _decode(self, raw: bytes | str) -> dict[str, Any] | None:
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            data = _backend().serializer.loads(raw)
            if not isinstance(data, dict):
                raise TypeError(f"decoded a {type(data).__name__}, not a dict")
        except SuspiciousSession as exc:
            self._reject("tampered", f"{type(exc).__name__}: {exc}")
            return None
        except Exception as exc:  # any decoder failure is an empty session, never a 500
            self._reject("undecodable", f"{type(exc).__name__}: {exc}")
            return None
        return data

    def _reject(self, reason: str, detail: str) -> None:
        engine = _backend().engine.name
        if reason == "invalid_key":
            security_log.warning("Session key refused before any storage access: %s", detail)
        else:
            security_log.warning(
                "Session data corrupted (%s, engine %r): %s", reason, engine, detail
            )
        _emit("session_rejected", reason=reason, engine=engine, detail=detail)

    # -- loading ----------------------------------------------------------------------

    def _usable_key(self, engine: Engine) -> str | None:
        """The key to load, or ``None`` (the session is new, or its key cannot be the engine's)."""
        key: str | None = self.session_key
        if key is None:
            return None
        if not engine.is_valid_key(key):
            self._reject("invalid_key", f"a key of {len(key)} characters")
            self._session_key = None
            return None
        return key

    def _loaded(self, raw: bytes | None) -> dict[str, Any]:
        if raw is None:  # missing, expired or deleted: a new session starts
            self._session_key = None
            return {}
        data = self._decode(raw)
        if data is None:  # never build on data that could not be verified
            self._session_key = None
            return {}
        if isinstance(raw, Reissue):  # e.g. a cookie signed with a retired key
            self.modified = True
        return data

    def load(self) -> dict[str, Any]:
        """Read the session from the engine; ``{}`` if it is missing, expired or undecodable."""
        key = self._usable_key(_backend().engine)
        if key is None:
            return {}
        engine = _io_engine("load")
        try:
            if engine.capabilities.versioned:
                raw = self._keep(cast(Any, engine).load_versioned(key))
            else:
                raw = engine.load(key)
        except SuspiciousSession as exc:  # the engine saw forged input (a cookie engine)
            self._reject("tampered", f"{type(exc).__name__}: {exc}")
            raw = None
        return self._loaded(raw)

    async def aload(self) -> dict[str, Any]:
        """Async twin of :meth:`load`, through the engine's ``aload``."""
        engine = _backend().engine
        key = self._usable_key(engine)
        if key is None:
            return {}
        try:
            if engine.capabilities.versioned:
                raw = self._keep(await cast(Any, engine).aload_versioned(key))
            else:
                raw = await engine.aload(key)
        except SuspiciousSession as exc:
            self._reject("tampered", f"{type(exc).__name__}: {exc}")
            raw = None
        return self._loaded(raw)

    def _keep(self, loaded: tuple[bytes, Version] | None) -> bytes | None:
        """The bytes of a versioned load, keeping them and their version as a merge's base."""
        if loaded is None:
            return None
        self._sw_raw, self._sw_version = loaded
        return self._sw_raw

    async def _asession(self, no_load: bool = False) -> dict[str, Any]:
        # SessionBase._aget_session (Django 5), kept here so 4.2 works the same.
        self.accessed = True
        try:
            cache: dict[str, Any] = self.__dict__["_session_cache"]
        except KeyError:
            if self.session_key is None or no_load:
                cache = {}
            else:
                cache = await self.aload()
            self._session_cache = cache
        return cache

    # -- keys -------------------------------------------------------------------------

    def exists(self, session_key: str | None) -> bool:
        """True when an unexpired session is stored under ``session_key``."""
        if session_key is None or not _backend().engine.is_valid_key(session_key):
            return False
        return _io_engine("exists").exists(session_key)

    async def aexists(self, session_key: str | None) -> bool:
        """Async twin of :meth:`exists`."""
        engine = _backend().engine
        if session_key is None or not engine.is_valid_key(session_key):
            return False
        return await engine.aexists(session_key)

    def _get_new_session_key(self) -> str:
        while True:
            key = new_session_key()
            if not self.exists(key):
                return key

    async def _aget_new_session_key(self) -> str:
        while True:
            key = new_session_key()
            if not await self.aexists(key):
                return key

    # -- writing ----------------------------------------------------------------------

    def _payload(self, data: dict[str, Any]) -> tuple[bytes, float]:
        # Django's own expiry arithmetic, so set_expiry() and SESSION_COOKIE_AGE
        # mean what Django says; the engine is told the moment it ends.
        return self.encode(data), time.time() + self.get_expiry_age()

    def _stored(self, value: str) -> None:
        if value != self.session_key:  # a cookie engine: the value is the cookie itself
            self._check_cookie_size(value)
            self._session_key = value

    def _check_cookie_size(self, value: str) -> None:
        """Refuse a cookie engine's value that browsers would drop, measured as Django sends it."""
        spec = CookieSpec(  # Django's settings may change (override_settings): built per save
            settings.SESSION_COOKIE_NAME,
            path=settings.SESSION_COOKIE_PATH,
            domain=settings.SESSION_COOKIE_DOMAIN,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=settings.SESSION_COOKIE_HTTPONLY,
            samesite=settings.SESSION_COOKIE_SAMESITE or None,
        )
        # Django's SessionMiddleware: no Max-Age for a browser-session cookie.
        age = None if self.get_expire_at_browser_close() else self.get_expiry_age()
        spec.check_size(value, age, advice=_COOKIE_ADVICE)

    def save(self, must_create: bool = False) -> None:
        """Write the session; ``must_create`` raises Django's ``CreateError`` if the key is taken.

        An update of a session that no longer exists (deleted or expired, also
        when that is found out by the load this save makes) raises Django's
        ``UpdateError``, as Django's backends do: it is never recreated.
        """
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        key = self.session_key
        if key is None:  # the load this save made found it gone
            raise DjangoUpdateError(_GONE)
        engine = _io_engine("save")
        try:
            if self._versioned_write(engine, must_create):
                try:
                    value = _drive(engine, self._versioned_save_steps(key, data, must_create))
                except LockToMerge:  # it keeps losing: merge under the session's lock
                    token = take_merge_lock(engine, key)
                    try:
                        steps = self._versioned_save_steps(key, self._session_cache, False, True)
                        value = _drive(engine, steps)
                    finally:
                        cast(Any, engine).release_lock(key, token)
            else:
                raw, expires_at = self._payload(data)
                value = engine.save(key, raw, expires_at, must_create)
        except CreateError as exc:
            raise DjangoCreateError(str(exc)) from exc
        except UpdateError as exc:
            raise DjangoUpdateError(str(exc)) from exc
        self._stored(value)

    async def asave(self, must_create: bool = False) -> None:
        """Async twin of :meth:`save`, through the engine's ``asave``."""
        if self.session_key is None:
            return await self.acreate()
        data = await self._asession(no_load=must_create)
        key = self.session_key
        if key is None:
            raise DjangoUpdateError(_GONE)
        engine = _backend().engine
        try:
            if self._versioned_write(engine, must_create):
                try:
                    steps = self._versioned_save_steps(key, data, must_create)
                    value = await _adrive(engine, steps)
                except LockToMerge:
                    token = await atake_merge_lock(engine, key)
                    try:
                        steps = self._versioned_save_steps(key, self._session_cache, False, True)
                        value = await _adrive(engine, steps)
                    finally:
                        await cast(Any, engine).arelease_lock(key, token)
            else:
                raw, expires_at = self._payload(data)
                value = await engine.asave(key, raw, expires_at, must_create)
        except CreateError as exc:
            raise DjangoCreateError(str(exc)) from exc
        except UpdateError as exc:
            raise DjangoUpdateError(str(exc)) from exc
        self._stored(value)

    # -- versioned engines: compare-and-set, and a merge when another request saved first --

    def _versioned_write(self, engine: Engine, must_create: bool) -> bool:
        return bool(engine.capabilities.versioned) and (must_create or self._sw_version is not None)

    def _versioned_save_steps(
        self, key: str, data: dict[str, Any], must_create: bool, locked: bool = False
    ) -> Generator[tuple[str, tuple[Any, ...]], Any, str]:
        """Write ``data`` over the version loaded; on a conflict reload, merge, write again.

        The core's bounds (``_session_merge``): on a locking engine, ``LockToMerge``
        after ``LOCK_AFTER`` refusals; ``locked`` (the lock is held), merging goes on
        for up to ``LOCKED_MERGE_SECONDS``.
        """
        version = None if must_create else self._sw_version
        escalate = not locked and bool(getattr(_backend().engine.capabilities, "locking", False))
        deadline = time.monotonic() + LOCKED_MERGE_SECONDS if locked else None
        attempts = 0
        while True:
            raw, expires_at = self._payload(data)
            try:
                value, self._sw_version = yield ("save_versioned", (key, raw, expires_at, version))
            except VersionConflict:
                if escalate and attempts >= LOCK_AFTER:
                    raise LockToMerge(f"refused {LOCK_AFTER} times") from None
                if attempts >= MERGE_ATTEMPTS and (deadline is None or time.monotonic() > deadline):
                    break
                attempts += 1
                loaded = yield ("load_versioned", (key,))
                if loaded is None:
                    raise UpdateError(_GONE) from None
                data, version = self._merged(raw, loaded), loaded[1]
                self._sw_version = version
                continue
            self._sw_raw, self._sw_cleared = raw, False
            return str(value)
        raise VersionConflict(
            f"another request saved this session first on each of {attempts} attempts "
            "to merge this request's changes; nothing was written"
        )

    def _merged(self, mine_raw: bytes, loaded: tuple[bytes, Version]) -> dict[str, Any]:
        """This request's changes (``mine_raw`` against the base) applied onto ``loaded``."""
        backend = _backend()
        base = {} if self._sw_raw is None else self._decode(self._sw_raw) or {}
        fresh = self._decode(loaded[0])
        cleared = self._sw_cleared or fresh is None
        result = merge(
            base,
            backend.serializer.loads(mine_raw),
            fresh or {},
            values=self._session_cache,
            cleared=cleared,
            keep_mine=backend.on_conflict == "last_write_wins",
        )
        report(
            result,
            session_key=self.session_key,
            engine=backend.engine.name,
            events=backend.events,
            on_conflict=backend.on_conflict,
            cleared=cleared,
        )
        self._sw_raw = loaded[0]
        self._session_cache = result.data
        return result.data

    def create(self) -> None:
        """Store the current data under a new random key (retrying on a collision)."""
        for _ in range(_CREATE_ATTEMPTS):
            # No exists() round trip first: the create itself refuses a taken key.
            self._session_key = new_session_key()
            try:
                self.save(must_create=True)
            except DjangoCreateError:
                continue
            self.modified = True
            return
        raise DjangoCreateError(self._no_free_key())

    async def acreate(self) -> None:
        """Async twin of :meth:`create`."""
        for _ in range(_CREATE_ATTEMPTS):
            self._session_key = new_session_key()
            try:
                await self.asave(must_create=True)
            except DjangoCreateError:
                continue
            self.modified = True
            return
        raise DjangoCreateError(self._no_free_key())

    def _no_free_key(self) -> str:
        self._session_key = None
        return (
            f"no free session key after {_CREATE_ATTEMPTS} attempts: the "
            f"{_backend().engine.name!r} engine reports every new key as taken"
        )

    def _deletable(self, session_key: str | None) -> str | None:
        key = self.session_key if session_key is None else session_key
        if key is None or not _backend().engine.is_valid_key(key):
            return None  # nothing stored under it; a logout of an empty session says nothing
        return key

    def delete(self, session_key: str | None = None) -> None:
        """Delete the stored session (this one's by default); no error if it is absent."""
        key = self._deletable(session_key)
        if key is not None:
            engine = _io_engine("delete")
            engine.delete(key)
            _emit("session_deleted", session_key=key, engine=engine.name)

    async def adelete(self, session_key: str | None = None) -> None:
        """Async twin of :meth:`delete`."""
        key = self._deletable(session_key)
        if key is not None:
            engine = _backend().engine
            await engine.adelete(key)
            _emit("session_deleted", session_key=key, engine=engine.name)

    def cycle_key(self) -> None:
        """Keep the data under a new key and delete the old one (Django calls it at log-in)."""
        old = self.session_key
        super().cycle_key()
        _emit(
            "session_key_cycled", old_key=old, new_key=self.session_key, engine=self._engine_name()
        )

    async def acycle_key(self) -> None:
        """Async twin of :meth:`cycle_key`."""
        old = self.session_key
        data = await self._asession()
        await self.acreate()
        self._session_cache = data
        if old:
            await self.adelete(old)
        _emit(
            "session_key_cycled", old_key=old, new_key=self.session_key, engine=self._engine_name()
        )

    @staticmethod
    def _engine_name() -> str:
        return _backend().engine.name

    @classmethod
    def clear_expired(cls) -> int:
        """Remove expired sessions (``manage.py clearsessions``); return how many.

        Engines that expire sessions themselves (redis by TTL, cookies in the
        browser) have nothing to remove: 0, and nothing is reported wrong.
        """
        engine = _io_engine("clear_expired")
        if not engine.capabilities.clear_expired:
            return 0
        return engine.clear_expired()

    @classmethod
    async def aclear_expired(cls) -> int:
        """Async twin of :meth:`clear_expired`."""
        engine = _backend().engine
        if not engine.capabilities.clear_expired:
            return 0
        return await engine.aclear_expired()
