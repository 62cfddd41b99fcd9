"""WSGI: a session middleware for any WSGI app, and an app built from a protocol handler.

``SessionMiddleware(app, **settings)`` puts the session at
``environ["sessionware.session"]`` (or use :func:`get_session`) and applies
the session response rules when the app calls ``start_response``: the
session is saved before the real ``start_response`` is called, and the app's
iterable is closed as PEP 3333 requires. ``App(handler, middleware)`` serves
a middleware-protocol chain over WSGI.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication

from ._config import SessionConfig
from ._engine import Engine
from ._errors import EngineUnavailable
from ._http import Request, Response, get_cookie
from ._serializer import Serializer
from ._session import SessionStore
from ._session_middleware import Outcome, SessionRules
from .middleware import Handler, MiddlewareFactory, build_chain

__all__ = ["ENVIRON_KEY", "App", "SessionMiddleware", "get_session"]

#: Where :class:`SessionMiddleware` puts the session in the environ.
ENVIRON_KEY = "sessionware.session"

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType]
WSGIApp = WSGIApplication


def get_session(environ: dict[str, Any]) -> SessionStore:
    """The session :class:`SessionMiddleware` attached to this request's environ.

    It is loaded here (no I/O without a session cookie), so code that reads
    the ``dict`` through C — ``json.dumps``, orjson — sees its data; asking
    for the session counts as reading it (the response varies on Cookie).
    """
    try:
        session: SessionStore = environ[ENVIRON_KEY]
    except KeyError:
        raise LookupError(
            "no session in this WSGI environ: wrap the app in sessionware.wsgi.SessionMiddleware"
        ) from None
    session._ensure_loaded()
    session.mark_accessed()
    return session


def _discard(data: bytes) -> None:
    return None


def _status_line(outcome: Outcome) -> str:
    return Response(status=outcome.status or 500, content_type=None).status_line


class _Replaced(Iterable[bytes]):
    """The replacement body; closes the app's iterable as PEP 3333 asks."""

    def __init__(self, body: bytes, app_iter: Iterable[bytes] | None) -> None:
        self.body = body
        self.app_iter = app_iter

    def __iter__(self) -> Iterator[bytes]:
        yield self.body

    def close(self) -> None:
        close = getattr(self.app_iter, "close", None)
        if close is not None:
            close()


class _Lazy:
    """Wraps an app that calls ``start_response`` only once iterated."""

    def __init__(self, app_iter: Iterable[bytes], call: _Call) -> None:
        self.app_iter = app_iter
        self.iterator: Iterator[bytes] | None = None
        self.call = call

    def __iter__(self) -> Iterator[bytes]:
        self.iterator = iter(self.app_iter)
        for chunk in self.iterator:
            if self.call.replacement is not None:
                break
            yield chunk
        outcome = self.call.replacement
        if outcome is not None:
            self.call.start_response(_status_line(outcome), outcome.error_headers())
            yield outcome.body

    def close(self) -> None:
        close = getattr(self.app_iter, "close", None)
        if close is not None:
            close()


class _Call:
    """One request's state: the wrapped ``start_response``."""

    __slots__ = ("had_cookie", "replacement", "rules", "session", "start_response", "started")

    def __init__(
        self,
        rules: SessionRules,
        session: SessionStore,
        had_cookie: bool,
        start_response: StartResponse,
    ) -> None:
        self.rules = rules
        self.session = session
        self.had_cookie = had_cookie
        self.start_response = start_response
        self.replacement: Outcome | None = None
        self.started = False

    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: _ExcInfo | tuple[None, None, None] | None = None,
        /,
    ) -> Callable[[bytes], object]:
        if self.started and exc_info is None:
            return self.start_response(status, headers)
        self.started = True
        try:
            code = int(status[:3])
        except ValueError:
            code = 500
        outcome = self.rules.finish(self.session, self.had_cookie, code)
        if outcome is None:
            return self.start_response(status, headers, exc_info)
        if outcome.status is not None:
            self.replacement = outcome
            return _discard
        headers = list(headers)
        outcome.apply(headers)
        return self.start_response(status, headers, exc_info)

    def replace(self, outcome: Outcome, app_iter: Iterable[bytes] | None) -> Iterable[bytes]:
        exc_info = sys.exc_info() if app_iter is None and self.started else None
        self.start_response(_status_line(outcome), outcome.error_headers(), exc_info)
        return _Replaced(outcome.body, app_iter)


class SessionMiddleware:
    """Wrap any WSGI app with sessions: ``app = SessionMiddleware(app, engine="db", path="s.db")``.

    ``config`` and keyword ``settings`` are those of
    :func:`sessionware.session_store`; the engine is built once, here.
    """

    def __init__(
        self,
        app: WSGIApp,
        config: SessionConfig | None = None,
        *,
        engine_instance: Engine | None = None,
        serializer_instance: Serializer | None = None,
        **settings: Any,
    ) -> None:
        self.app = app
        #: The session rules (and ``rules.store_class``, the session class).
        self.rules = SessionRules(
            config,
            engine_instance=engine_instance,
            serializer_instance=serializer_instance,
            **settings,
        )
        self._name = self.rules.cookie_name

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request."""
        rules = self.rules
        key = get_cookie(environ.get("HTTP_COOKIE"), self._name)
        session = environ[ENVIRON_KEY] = rules.open(key)
        call = _Call(rules, session, key is not None, start_response)
        try:
            app_iter = self.app(environ, call)
        except EngineUnavailable as exc:
            return call.replace(rules.unavailable(exc), None)
        if call.replacement is not None:
            return call.replace(call.replacement, app_iter)
        if not call.started:
            return _Lazy(app_iter, call)
        return app_iter


class App:
    """A WSGI app that serves a protocol handler through a middleware chain.

    ``App(handler, middleware=[SessionMiddleware(...)])``: ``handler(request)``
    returns a :class:`~sessionware.Response`; the chain is built once, sync.
    """

    def __init__(self, handler: Handler, middleware: Iterable[MiddlewareFactory] = ()) -> None:
        #: The built chain: ``chain(request) -> Response``.
        self.chain = build_chain(handler, middleware, mode="sync")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request."""
        response = self.chain(Request.from_environ(environ))
        headers = list(response.headers)
        if not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(len(response.body))))
        start_response(response.status_line, headers)
        return [response.body]
