"""Flask: a ``SessionInterface`` that keeps ``flask.session`` in a sessionware engine.

``Session(app)`` (or ``Session().init_app(app)``) replaces Flask's signed-cookie
session, so ``flask.session``, ``flash()``, Flask-Login and Flask-WTF's CSRF
token live in the configured engine with no change in views. Settings are
read once, from ``app.config`` under Flask's own names (``SESSION_COOKIE_*``,
``PERMANENT_SESSION_LIFETIME``, ``SECRET_KEY``...) plus ``SESSIONWARE_*``
for what Flask has no name for; the engine is built then, so a bad setting
fails at start-up. The response rules are the core's
(``SessionRules``); this module only
maps Flask's meanings onto them. Importable only where Flask is installed.
"""

from __future__ import annotations

try:
    import flask
    from flask.sessions import SessionInterface, SessionMixin
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        'sessionware.flask needs Flask; install it with: pip install "sessionware[flask]"'
    ) from exc

from typing import TYPE_CHECKING, Any, Final

from .._engine import Engine
from .._errors import ConfigurationError, EngineUnavailable
from .._plugins import get_engine_class, get_serializer_class
from .._serializer import Serializer
from .._session import SessionStore
from ..http._cookie_parsing import get_cookie
from ..http._rules import Outcome, SessionRules
from ._config import config_from_flask
from ._tagged import TAGGED, FlaskTaggedSerializer

if TYPE_CHECKING:
    from flask.wrappers import Request, Response

__all__ = [
    "FlaskSession",
    "FlaskTaggedSerializer",
    "Session",
    "SessionwareInterface",
    "config_from_flask",
    "cycle_key",
]

#: ``app.extensions`` key under which the installed interface is kept.
EXTENSION_KEY: Final = "sessionware"
#: Where ``open_session`` leaves an engine outage for the ``"error"`` policy's check.
_DOWN_KEY: Final = "sessionware.unavailable"


class FlaskSession(SessionStore, SessionMixin):
    """The session Flask gets: a sessionware ``SessionStore`` that is also a ``SessionMixin``.

    ``permanent`` is Flask's (the ``_permanent`` key): a non-permanent
    session gets a cookie that ends with the browser session, a permanent
    one a cookie of ``PERMANENT_SESSION_LIFETIME``; the stored session lasts
    ``PERMANENT_SESSION_LIFETIME`` either way, as Flask's signed cookie
    does. ``modified`` and ``accessed`` are sessionware's (nested changes
    included); ``new`` is true when the request brought no stored session.
    ``cycle_key()``, ``flush()`` and the rest of the sessionware API work.
    """

    #: The request carried the session cookie (set by ``open_session``).
    had_cookie: bool = False
    #: True when the request brought no stored session (set by ``open_session``).
    new: bool = True

    def get_expire_at_browser_close(self) -> bool:
        """Flask's rule: the cookie ends with the browser unless ``session.permanent``.

        An explicit ``set_expiry`` still wins.
        """
        self._ensure_loaded()
        if self._expiry is None:
            return not dict.get(self, "_permanent", False)
        return self._expiry == 0


class SessionwareInterface(SessionInterface):
    """Flask's ``SessionInterface`` backed by a sessionware engine; built by ``Session``.

    ``open_session`` loads the session at once when the request carries its
    cookie (Flask's own session decodes on every request too, and code that
    reads the dict through C, like Flask's JSON provider, must see the data);
    ``save_session`` applies the core's response rules.
    """

    pickle_based = False

    def __init__(self, rules: SessionRules, *, refresh_each_request: bool) -> None:
        #: The core's response rules (and so the engine, built once).
        self.rules = rules
        #: The session class handed to each request.
        self.session_class: type[FlaskSession] = type(
            f"Flask{rules.store_class.__name__}",
            (FlaskSession, rules.store_class),
            {"__module__": __name__},
        )
        #: ``SESSION_REFRESH_EACH_REQUEST``: re-save a permanent session on every request.
        self.refresh_each_request = refresh_each_request
        self._cookie_name = rules.cookie_name
        self._error_on_unavailable = rules.config.on_unavailable == "error"

    # -- the cookie, as Flask's helpers report it ----------------------------

    def get_cookie_name(self, app: flask.Flask) -> str:
        """The session cookie's name, as configured at ``init_app``."""
        return self.rules.config.cookie_name

    def get_cookie_domain(self, app: flask.Flask) -> str | None:
        """The session cookie's ``Domain``, as configured at ``init_app``."""
        return self.rules.config.cookie_domain

    def get_cookie_path(self, app: flask.Flask) -> str:
        """The session cookie's ``Path``, as configured at ``init_app``."""
        return self.rules.config.cookie_path

    def get_cookie_httponly(self, app: flask.Flask) -> bool:
        """Whether the session cookie is ``HttpOnly``."""
        return self.rules.config.cookie_httponly

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        """Whether the session cookie is ``Secure``."""
        return self.rules.config.cookie_secure

    def get_cookie_samesite(self, app: flask.Flask) -> str | None:
        """The session cookie's ``SameSite``."""
        return self.rules.config.cookie_samesite

    def get_cookie_partitioned(self, app: flask.Flask) -> bool:
        """Whether the session cookie is ``Partitioned``."""
        return self.rules.config.cookie_partitioned

    # -- the request ---------------------------------------------------------

    def open_session(self, app: flask.Flask, request: Request) -> FlaskSession:
        """The request's session; loaded now when the request carries the cookie."""
        environ = request.environ
        # An empty value is no cookie, as for Flask's own session (not a hostile key).
        key = get_cookie(environ.get("HTTP_COOKIE"), self._cookie_name) or None
        session = self.session_class(key)  # a malformed key is refused here, before I/O
        if key is not None:
            session.had_cookie = True
            try:
                session._ensure_loaded()
            except EngineUnavailable as exc:
                # The "error" policy: answer 503 from the first before_request hook
                # (a 503 raised here would reach Flask as a 500); meanwhile the session
                # is empty and is never saved.
                session._apply(None)
                environ[_DOWN_KEY] = exc
            else:
                session.new = session.session_key is None
        return session

    def check_available(self) -> None:
        """``before_request`` hook: raise the outage ``open_session`` met (policy ``"error"``)."""
        exc = flask.request.environ.get(_DOWN_KEY)
        if exc is not None:
            raise exc

    def unavailable_response(self, exc: EngineUnavailable) -> Response:
        """Error handler for ``EngineUnavailable``: a plain 503."""
        return _answer(flask.current_app.response_class(), self.rules.unavailable(exc))

    def save_session(self, app: flask.Flask, session: SessionMixin, response: Response) -> None:
        """Save, set or delete the cookie, add ``Vary``: the core's rules, Flask's meanings."""
        if not isinstance(session, FlaskSession):  # not ours: nothing stored, nothing to do
            return
        status = response.status_code
        if getattr(session, "_unavailable", None) is None and status < 500:
            if session.modified and session.session_key is not None and not dict.__len__(session):
                # Flask's meaning of an emptied session (logout_user, session.clear()):
                # the session ends. A failed delete must not answer as if it had.
                try:
                    session.delete()
                except EngineUnavailable as exc:
                    _answer(response, self.rules.unavailable(exc))
                    return
                session._session_key = None
            elif (
                self.refresh_each_request
                and dict.get(session, "_permanent", False)
                and dict.__len__(session)
            ):
                session.modified = True  # extends the stored session and its cookie
        outcome = self.rules.finish(session, session.had_cookie, status)
        if outcome is None:
            return
        if outcome.status is not None:
            if status < 500:  # an error page the app made stays; a success must not
                _answer(response, outcome)
            return
        if outcome.vary:
            response.vary.add("Cookie")
        if outcome.set_cookie is not None:
            response.headers.add("Set-Cookie", outcome.set_cookie)


def _answer(response: Response, outcome: Outcome) -> Response:
    """Turn ``response`` into the plain-text error ``outcome`` describes, in place."""
    close = getattr(response.response, "close", None)
    if close is not None:
        close()
    response.status_code = outcome.status or 500
    response.headers.clear()
    response.headers.extend(outcome.error_headers())
    response.direct_passthrough = False
    response.set_data(outcome.body)
    return response


class Session:
    """The Flask extension: ``Session(app)`` or ``Session().init_app(app)``.

    Keyword ``settings`` override ``app.config``; they are
    ``sessionware.session_store``'s (``SessionConfig`` field names, the
    rest engine options), e.g. ``Session(app, engine="redis",
    url="redis://localhost:6379/0")``. ``engine_instance`` and
    ``serializer_instance`` share already-built ones.
    """

    def __init__(
        self,
        app: flask.Flask | None = None,
        *,
        engine_instance: Engine | None = None,
        serializer_instance: Serializer | None = None,
        **settings: Any,
    ) -> None:
        if "expire_at_browser_close" in settings:
            raise ConfigurationError(
                "sessionware.flask follows session.permanent (Flask's meaning) for the "
                "cookie's lifetime; set session.permanent = True instead of "
                "expire_at_browser_close",
                field="expire_at_browser_close",
            )
        self.settings = settings
        self.engine_instance = engine_instance
        self.serializer_instance = serializer_instance
        if app is not None:
            self.init_app(app)

    def _signs(self, engine: str, serializer: str) -> bool:
        """Whether the engine or serializer that will be built signs (needs the secret)."""
        if self.engine_instance is None and getattr(get_engine_class(engine), "uses_secret", False):
            return True
        if self.serializer_instance is not None or serializer == TAGGED:
            return False
        return bool(getattr(get_serializer_class(serializer), "uses_secret", False))

    def init_app(self, app: flask.Flask) -> SessionwareInterface:
        """Build the engine and install the session interface on ``app``; return it."""
        config = config_from_flask(app.config)
        settings = self.settings
        engine = settings.get("engine", config.engine)
        serializer_name = settings.get("serializer", config.serializer)
        if self._signs(engine, serializer_name):
            config = config_from_flask(app.config, secret=True)
            if config.secret_key is None and "secret_key" not in settings:
                raise ConfigurationError(
                    f"SECRET_KEY is not set: the {engine!r} engine or the {serializer_name!r} "
                    "serializer signs the session and needs a secret; set "
                    "app.config['SECRET_KEY'] to a long random string",
                    field="secret_key",
                )
        serializer = self.serializer_instance
        if serializer is None and serializer_name == TAGGED:
            serializer = FlaskTaggedSerializer()
        rules = SessionRules(
            config,
            engine_instance=self.engine_instance,
            serializer_instance=serializer,
            **settings,
        )
        interface = SessionwareInterface(
            rules, refresh_each_request=bool(app.config.get("SESSION_REFRESH_EACH_REQUEST", True))
        )
        app.session_interface = interface
        app.extensions[EXTENSION_KEY] = interface
        app.register_error_handler(EngineUnavailable, interface.unavailable_response)
        if interface._error_on_unavailable:
            # First, so no other hook (Flask-WTF's CSRF check) reads the empty session.
            app.before_request_funcs.setdefault(None, []).insert(0, interface.check_available)
        return interface


def cycle_key() -> None:
    """Give the current request's session a new key, keeping its data; call it at log-in.

    The old key is deleted from the store at once, so a session id an
    attacker planted before the log-in is worthless after it.
    """
    session = flask.session._get_current_object()  # type: ignore[attr-defined]
    if not isinstance(session, FlaskSession):
        raise RuntimeError(
            "flask.session is not a sessionware session: install it with "
            "sessionware.flask.Session(app) before calling cycle_key()"
        )
    session.cycle_key()
