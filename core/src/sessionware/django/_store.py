"""``SessionStore``: Django's ``SessionBase`` with its data in a sessionware engine."""

from __future__ import annotations

import time
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

from .._capabilities import Reissue, Version
from .._engine import Engine
from .._errors import CreateError, SuspiciousSession, UpdateError
from .._keys import new_session_key
from .._session_drivers import arun_steps, run_steps
from .._session_merge import (
    LockToMerge,
    atake_merge_lock,
    take_merge_lock,
)
from ..http._cookies import CookieSpec
from ._driver import VersionedSaves
from ._settings import (
    _COOKIE_ADVICE,
    _CREATE_ATTEMPTS,
    _GONE,
    _backend,
    _emit,
    _io_engine,
    security_log,
)

__all__ = ["SessionStore"]


class SessionStore(VersionedSaves, SessionBase):  # type: ignore[misc]
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
        """Async twin of ``load``, through the engine's ``aload``."""
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
        """Async twin of ``exists``."""
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
                    value = run_steps(engine, self._versioned_save_steps(key, data, must_create))
                except LockToMerge:  # it keeps losing: merge under the session's lock
                    token = take_merge_lock(engine, key)
                    try:
                        steps = self._versioned_save_steps(key, self._session_cache, False, True)
                        value = run_steps(engine, steps)
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
        """Async twin of ``save``, through the engine's ``asave``."""
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
                    value = await arun_steps(engine, steps)
                except LockToMerge:
                    token = await atake_merge_lock(engine, key)
                    try:
                        steps = self._versioned_save_steps(key, self._session_cache, False, True)
                        value = await arun_steps(engine, steps)
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
        """Async twin of ``create``."""
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
        """Async twin of ``delete``."""
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
        """Async twin of ``cycle_key``."""
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
        """Async twin of ``clear_expired``."""
        engine = _backend().engine
        if not engine.capabilities.clear_expired:
            return 0
        return await engine.aclear_expired()
