"""The session response rules, shared by every form of SessionMiddleware.

``SessionRules`` is built once per middleware: it builds the session
class (and so the engine and its connections) once, precomputes the cookie
attributes, and for each response decides, Django's way, whether to save
the session, set or delete the cookie, add ``Vary: Cookie``, or replace the
response (400 when the session vanished meanwhile, 503 when the engine is
unreachable). Nothing here knows about WSGI, ASGI or the protocol chain;
those live in ``wsgi``, ``asgi`` and ``middleware``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from .._config import SessionConfig
from .._engine import Engine
from .._errors import EngineUnavailable, UpdateError
from .._serializer import Serializer
from .._session import SessionStore, session_store
from .._session_io import Steps
from ._cookies import CookieSpec
from ._vary import patch_vary

__all__ = ["INTERRUPTED_BODY", "UNAVAILABLE_BODY", "Outcome", "SessionRules"]

logger = logging.getLogger("sessionware.middleware")

#: Body of the 400 answered when the session was deleted while the request ran.
INTERRUPTED_BODY: Final = (
    b"Your session ended while this request was running (for example, you logged out "
    b"in another tab). Please retry the request.\n"
)
#: Body of the 503 answered when the session engine cannot be reached.
UNAVAILABLE_BODY: Final = b"The session store is unavailable right now. Please retry in a moment.\n"

_SAVE: Final = object()


class Outcome:
    """What the rules decided for one response.

    ``set_cookie`` is a ``Set-Cookie`` value to add (or ``None``), ``vary``
    says to add ``Vary: Cookie``; a non-``None`` ``status`` means: discard the
    application's response and answer ``status`` with the plain-text ``body``.
    """

    __slots__ = ("body", "set_cookie", "status", "vary")

    def __init__(
        self,
        *,
        set_cookie: str | None = None,
        vary: bool = False,
        status: int | None = None,
        body: bytes = b"",
    ) -> None:
        self.set_cookie = set_cookie
        self.vary = vary
        self.status = status
        self.body = body

    def apply(self, headers: list[tuple[str, str]]) -> None:
        """Add this outcome's ``Set-Cookie`` and ``Vary`` to a header list in place."""
        if self.vary:
            patch_vary(headers, "Cookie")
        if self.set_cookie is not None:
            headers.append(("Set-Cookie", self.set_cookie))

    def error_headers(self) -> list[tuple[str, str]]:
        """Headers of the replacement response (plain text, not cached)."""
        return [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(self.body))),
            ("Cache-Control", "no-store"),
        ]


class _GuardedStore(SessionStore):
    """Session class the middleware hands out: applies the ``on_unavailable`` policy on load.

    Under the ``"empty"`` policy a session whose load failed runs empty and is
    never saved. A log-out must not look as though it worked when it did not,
    so ``flush`` and ``cycle_key`` of such a session still act on the stored
    session the cookie named: they succeed if the store is back, and raise
    ``EngineUnavailable`` (a 503) if it is not.
    """

    #: Policy copied from the config: ``True`` for ``"empty"``.
    _run_empty: ClassVar[bool] = False
    #: The EngineUnavailable met while loading, if any (instance attribute when set).
    _unavailable: EngineUnavailable | None = None
    #: The key the cookie carried when the load failed.
    _unloaded_key: str | None = None

    def _failed(self, exc: EngineUnavailable) -> None:
        self._unavailable = exc
        if not self._run_empty:
            raise exc
        logger.warning(
            "session engine %r unavailable (%s); running the request with an empty, "
            "unsaved session",
            self.engine.name,
            exc,
        )
        self._unloaded_key = self._session_key
        self._apply(None)

    def _recovered(self) -> None:
        self._unavailable = None
        self._unloaded_key = None
        self.engine_error = None

    # The policy refines the steps, so the sync and async forms share it.

    def _load_failed(self, exc: EngineUnavailable) -> None:
        self._failed(exc)

    def _reload_steps(self) -> Steps[None]:
        """Load the session whose load failed, raising whatever the policy says."""
        key = self._unloaded_key
        assert key is not None  # only a failed load of a cookie's key is reloaded
        raw = yield from self._fetch_steps(key)  # raises while the store is still down
        self._loaded, self._session_key = False, key
        self._apply(raw)
        self._recovered()

    def _flush_steps(self) -> Steps[None]:
        lost = self._unloaded_key
        yield from super()._flush_steps()
        if lost is not None:
            yield from self._delete_steps(lost)  # raises while the store is still down
            self._recovered()

    def _cycle_steps(self) -> Steps[None]:
        if self._unloaded_key is not None:
            # The data to carry over and the key to retire are both in the store.
            yield from self._reload_steps()
        yield from super()._cycle_steps()

    async def _aensure_loaded(self) -> None:
        if self._loaded:
            return
        try:
            await super()._aensure_loaded()
        except EngineUnavailable as exc:
            self._failed(exc)


#: Values a framework puts at ``scope["session"]`` to say "no session": the
#: session is flushed. ``sessionware.litestar`` adds Litestar's ``Empty``.
CLEARED_MARKERS: list[object] = [None]


def _as_session_data(value: object) -> dict[str, Any] | None:
    """The data of a replacement session value; ``None`` for "no session" (cleared)."""
    if any(value is marker for marker in CLEARED_MARKERS):
        return None
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    dump = getattr(value, "model_dump", None)  # pydantic v2
    if callable(dump):
        return dict(dump(mode="json"))
    fields = getattr(type(value), "__struct_fields__", None)  # msgspec.Struct
    if fields is not None:
        return {name: getattr(value, name) for name in fields}
    raise TypeError(
        f"the app put a {type(value).__name__} where the session belongs; set a mapping "
        "(or a dataclass, pydantic model or msgspec struct) to replace the session's data, "
        "or None to clear it"
    )


class SessionRules:
    """Django's session response rules for one middleware instance.

    ``config`` and keyword ``settings`` are combined as
    ``sessionware.session_store`` does (settings that are not
    ``SessionConfig`` fields are engine options);
    ``engine_instance``/``serializer_instance`` share pre-built ones.
    """

    #: Write the cookie's attribute names in lower case (Starlette's parity).
    lowercase_cookie_attributes: ClassVar[bool] = False

    def __init__(
        self,
        config: SessionConfig | None = None,
        *,
        engine_instance: Engine | None = None,
        serializer_instance: Serializer | None = None,
        **settings: Any,
    ) -> None:
        base = session_store(
            config,
            engine_instance=engine_instance,
            serializer_instance=serializer_instance,
            **settings,
        )
        cfg = base.config
        #: The configuration in force.
        self.config: SessionConfig = cfg
        #: The session class handed to each request (built once).
        self.store_class: type[SessionStore] = type(
            f"Guarded{base.__name__}",
            (_GuardedStore, base),
            {"_run_empty": cfg.on_unavailable == "empty", "__module__": base.__module__},
        )
        #: Name of the session cookie.
        self.cookie_name: str = cfg.cookie_name
        self._save_every_request = cfg.save_every_request
        self._error_on_unavailable = cfg.on_unavailable == "error"
        spec = cfg.cookie_spec
        if self.lowercase_cookie_attributes:
            spec = spec.replace(lowercase_attributes=True)
        #: How the session cookie is written (validated once, with the config).
        self.cookie_spec: CookieSpec = spec
        #: The outcome when an emptied session's cookie is deleted (computed once).
        self._deletion_outcome = Outcome(set_cookie=spec.delete_header, vary=True)
        self._vary = Outcome(vary=True)
        self._interrupted = Outcome(status=400, body=INTERRUPTED_BODY)
        self._unavailable = Outcome(status=503, body=UNAVAILABLE_BODY)

    def open(self, session_key: str | None) -> SessionStore:
        """A lazy session for the cookie's value (``None``: no cookie). No I/O."""
        return self.store_class(session_key)

    def adopt(self, session: SessionStore, value: object) -> bool:
        """Take over what the app put in place of the session; ``True`` means it was cleared.

        Frameworks replace the session object rather than mutate it: Litestar's
        ``request.set_session(data)`` puts a new mapping (or a dataclass, a
        pydantic model, a msgspec struct) at ``scope["session"]``, and
        ``clear_session()`` puts its ``Empty`` sentinel there. The new data
        becomes this session's data (saved under the same key); a cleared
        session must then be flushed by the caller, which does the I/O.
        """
        data = _as_session_data(value)
        if data is None:
            return True
        session.clear()
        session.update(data)
        return False

    def unavailable(self, exc: EngineUnavailable) -> Outcome:
        """The answer when the engine failed outside the rules (e.g. raised through the app)."""
        logger.error("session engine unavailable; answering 503: %s", exc)
        return self._unavailable

    def plan(self, session: SessionStore, had_cookie: bool, status: int) -> Any:
        """Decide without I/O: an ``Outcome``, ``None`` (nothing to do) or save-first."""
        failed = session.engine_error
        if failed is not None and status >= 500:
            # The app failed after a storage call raised: say what happened (503,
            # retry) instead of the app's 500, under either policy.
            return self.unavailable(failed)
        if getattr(session, "_unavailable", None) is not None:
            return self._vary if session.accessed else None  # ran empty: never saved
        accessed = session.accessed
        if accessed:
            session.detect_changes()
        if session.is_empty():
            return self._deletion_outcome if had_cookie else (self._vary if accessed else None)
        if (session.modified or self._save_every_request) and status < 500:
            return _SAVE
        return self._vary if accessed else None

    def saved(self, session: SessionStore) -> Outcome:
        """The outcome after a successful save: the session cookie, and Vary if accessed."""
        key = session.session_key
        assert key is not None  # just saved
        age = session.saved_age()  # None: the cookie ends with the browser session
        return Outcome(set_cookie=self.cookie_spec.session_header(key, age), vary=session.accessed)

    def save_failed(self, session: SessionStore, exc: Exception) -> Outcome | None:
        """The outcome when saving raised ``UpdateError`` or ``EngineUnavailable``."""
        if isinstance(exc, UpdateError):
            logger.warning(
                "session deleted by another request before this one could save it; "
                "answering 400 instead of recreating it (%s)",
                exc,
            )
            return self._interrupted
        if self._error_on_unavailable:
            logger.error("session engine unavailable while saving; answering 503: %s", exc)
            return self._unavailable
        logger.warning("session engine unavailable while saving; the change is lost: %s", exc)
        return self._vary if session.accessed else None

    def finish(self, session: SessionStore, had_cookie: bool, status: int) -> Outcome | None:
        """Apply the rules for a response of ``status``, saving synchronously if needed."""
        step = self.plan(session, had_cookie, status)
        if step is not _SAVE:
            return step  # type: ignore[no-any-return]
        try:
            session.save()
        except (UpdateError, EngineUnavailable) as exc:
            return self.save_failed(session, exc)
        return self.saved(session)

    async def afinish(self, session: SessionStore, had_cookie: bool, status: int) -> Outcome | None:
        """Async twin of ``finish`` (saves with ``asave``)."""
        step = self.plan(session, had_cookie, status)
        if step is not _SAVE:
            return step  # type: ignore[no-any-return]
        try:
            await session.asave()
        except (UpdateError, EngineUnavailable) as exc:
            return self.save_failed(session, exc)
        return self.saved(session)
