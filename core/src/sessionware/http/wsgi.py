"""WSGI: a session middleware for any WSGI app, and an app built from a protocol handler.

``WSGISessionMiddleware(app, **settings)`` puts the session at
``environ["sessionware.session"]`` (or use ``get_session``) and applies
the session response rules when the app calls ``start_response``: the
session is saved before the real ``start_response`` is called, and the app's
iterable is closed as PEP 3333 requires. ``WSGIApp(handler, middleware)`` serves
a middleware-protocol chain over WSGI.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication

from .._config import SessionConfig
from .._engine import Engine
from .._errors import EngineUnavailable
from .._serializer import Serializer
from .._session import SessionStore
from ._cookie_parsing import get_cookie
from ._messages import Request, Response
from ._rules import Outcome, SessionRules
from .middleware import Handler, MiddlewareFactory, build_chain

__all__ = ["ENVIRON_KEY", "WSGIApp", "WSGISessionMiddleware", "get_session"]

#: Where ``WSGISessionMiddleware`` puts the session in the environ.
ENVIRON_KEY = "sessionware.session"

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType]


def get_session(environ: dict[str, Any]) -> SessionStore:
    """The session ``WSGISessionMiddleware`` attached to this request's environ.

    It is loaded here (no I/O without a session cookie), so code that reads
    the ``dict`` through C — ``json.dumps``, orjson — sees its data; asking
    for the session counts as reading it (the response varies on Cookie).
    """
    try:
        session: SessionStore = environ[ENVIRON_KEY]
    except KeyError:
        raise LookupError(
            "no session in this WSGI environ: wrap the app in "
            "sessionware.http.wsgi.WSGISessionMiddleware"
        ) from None
    session._ensure_loaded()
    session.mark_accessed()
    return session


def _discard(data: bytes) -> None:
    return None


def _status_line(outcome: Outcome) -> str:
    return Response(status=outcome.status or 500, content_type=None).status_line


class _ReplacementBody(Iterable[bytes]):
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


class _BodyStartingLate:
    """Wraps an app that calls ``start_response`` only once iterated."""

    def __init__(self, app_iter: Iterable[bytes], start_response: _WrappedStartResponse) -> None:
        self.app_iter = app_iter
        self.iterator: Iterator[bytes] | None = None
        self.start_response = start_response

    def __iter__(self) -> Iterator[bytes]:
        self.iterator = iter(self.app_iter)
        for chunk in self.iterator:
            if self.start_response.replacement is not None:
                break
            yield chunk
        outcome = self.start_response.replacement
        if outcome is not None:
            self.start_response.original(_status_line(outcome), outcome.error_headers())
            yield outcome.body

    def close(self) -> None:
        close = getattr(self.app_iter, "close", None)
        if close is not None:
            close()


class _WrappedStartResponse:
    """One request's state: the wrapped ``start_response``."""

    __slots__ = ("had_cookie", "original", "replacement", "rules", "session", "started")

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
        self.original = start_response
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
            return self.original(status, headers)
        self.started = True
        try:
            code = int(status[:3])
        except ValueError:
            code = 500
        outcome = self.rules.finish(self.session, self.had_cookie, code)
        if outcome is None:
            return self.original(status, headers, exc_info)
        if outcome.status is not None:
            self.replacement = outcome
            return _discard
        headers = list(headers)
        outcome.apply(headers)
        return self.original(status, headers, exc_info)

    def replace(self, outcome: Outcome, app_iter: Iterable[bytes] | None) -> Iterable[bytes]:
        exc_info = sys.exc_info() if app_iter is None and self.started else None
        self.original(_status_line(outcome), outcome.error_headers(), exc_info)
        return _ReplacementBody(outcome.body, app_iter)


class WSGISessionMiddleware:
    """Wrap any WSGI app with sessions.

    ``app = WSGISessionMiddleware(app, engine="db", path="s.db")``.

    ``config`` and keyword ``settings`` are those of
    ``sessionware.session_store``; the engine is built once, here.
    """

    def __init__(
        self,
        app: WSGIApplication,
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
        start = _WrappedStartResponse(rules, session, key is not None, start_response)
        try:
            app_iter = self.app(environ, start)
        except EngineUnavailable as exc:
            return start.replace(rules.unavailable(exc), None)
        if start.replacement is not None:
            return start.replace(start.replacement, app_iter)
        if not start.started:
            return _BodyStartingLate(app_iter, start)
        return app_iter


class WSGIApp:
    """A WSGI app that serves a protocol handler through a middleware chain.

    ``WSGIApp(handler, middleware=[SessionMiddleware(...)])``: ``handler(request)``
    returns a ``Response``; the chain is built once, sync.
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
