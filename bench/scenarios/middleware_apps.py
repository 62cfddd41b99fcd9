"""The middleware comparison's contenders: each middleware, its bare app, how to call both.

One request shape for all: ``GET /``, the session cookie among two unrelated cookies,
what to do with the session in an ``X-Mode`` header (``read``, ``write``, ``seed``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import PAYLOAD, SECRET
from harness.inproc import Reply, asgi_scope, call_asgi, call_wsgi, wsgi_environ

from sessionware.http import asgi as sw_asgi
from sessionware.http import wsgi as sw_wsgi

#: Every write stores a value never stored before, so SQLite really writes.
COUNTER = itertools.count(1)
#: (Cookie header, mode) -> a function making one request.
Requests = Callable[[str | None, str | None], Callable[[], Any]]


def act(session: Any, mode: str | None) -> bytes:
    """What every contender's app does with its session for ``mode``."""
    if session is None or mode is None:
        return b"ok"
    if mode == "read":
        return str(session["username"]).encode()
    if mode == "write":
        session["counter"] = next(COUNTER)
        return b"ok"
    if mode == "seed":
        session.update(PAYLOAD)
        return b"ok"
    raise ValueError(mode)


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The bare WSGI app (also what sessionware's WSGI middleware wraps)."""
    body = act(environ.get(sw_wsgi.ENVIRON_KEY), environ.get("HTTP_X_MODE"))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The bare ASGI app (what sessionware's and Starlette's middleware wrap)."""
    mode = None
    for name, value in scope["headers"]:
        if name == b"x-mode":
            mode = value.decode()
    body = act(scope.get("session"), mode)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


@dataclass
class Middleware:
    """One contender: how to call its bare and wrapped forms on a request."""

    label: str
    protocol: str  # "WSGI" or "ASGI"
    cookie_name: str
    bare: Requests
    wrapped: Requests
    is_async: bool = False
    cookie: str | None = None  # the preloaded session's cookie value
    set_cookie: dict[str, bool] = field(default_factory=dict)


def wsgi_requests(app: Any, call: Callable[[Any, dict[str, Any]], Reply] = call_wsgi) -> Requests:
    def request(cookie: str | None, mode: str | None) -> Callable[[], Reply]:
        env = wsgi_environ("/", cookie, mode)
        return lambda: call(app, env)

    return request


def asgi_requests(app: Any) -> Requests:
    def request(cookie: str | None, mode: str | None) -> Callable[[], Any]:
        scope = asgi_scope("/", cookie, mode)
        return lambda: call_asgi(app, scope)

    return request


def ours(tmp: Path) -> list[Middleware]:
    """sessionware's WSGI and ASGI middleware, each on db and on signed_cookies."""
    engines = {
        "db": {"engine": "db", "serializer": "json", "path": str(tmp / "sessionware.sqlite3")},
        "signed_cookies": {"engine": "signed_cookies", "serializer": "json", "secret_key": SECRET},
    }
    found = []
    for protocol, middleware, app, requests in (
        ("WSGI", sw_wsgi.WSGISessionMiddleware, wsgi_app, wsgi_requests),
        ("ASGI", sw_asgi.ASGISessionMiddleware, asgi_app, asgi_requests),
    ):
        for engine, settings in engines.items():
            wrapped = middleware(app, **settings)  # type: ignore[operator]
            label = f"sessionware {protocol}, {engine}"
            found.append(
                Middleware(
                    label,
                    protocol,
                    "sessionid",
                    requests(app),
                    requests(wrapped),
                    is_async=protocol == "ASGI",
                )
            )
    return found


def django() -> list[Middleware]:
    """Django's SessionMiddleware around a view, on db and on signed_cookies."""
    from django.conf import settings
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpResponse

    def view(request: Any) -> Any:
        body = act(getattr(request, "session", None), request.META.get("HTTP_X_MODE"))
        return HttpResponse(body, content_type="text/plain")

    def call(handler: Callable[[Any], Any], env: dict[str, Any]) -> Reply:
        response = handler(WSGIRequest(dict(env)))
        # What a WSGI server needs from the response: every header, cookies included.
        headers = list(response.items())
        headers.extend(("Set-Cookie", m.OutputString()) for m in response.cookies.values())
        # response.close() is not called: it sends request_finished, on which Django
        # (CONN_MAX_AGE=0) closes the database connection; see the note.
        return response.status_code, headers, response.content

    found = []
    for backend in ("db", "signed_cookies"):
        # The middleware picks its SessionStore class when built: one instance per backend.
        settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{backend}"
        wrapped = SessionMiddleware(view)
        found.append(
            Middleware(
                f"Django, {backend}",
                "WSGI",
                settings.SESSION_COOKIE_NAME,
                wsgi_requests(view, call),
                wsgi_requests(wrapped, call),
            )
        )
    return found


def starlette() -> Middleware:
    """Starlette's SessionMiddleware (itsdangerous) around the bare ASGI app."""
    from starlette.middleware.sessions import SessionMiddleware

    wrapped = SessionMiddleware(asgi_app, secret_key=SECRET)
    return Middleware(
        "Starlette (itsdangerous)",
        "ASGI",
        "session",
        asgi_requests(asgi_app),
        asgi_requests(wrapped),
        is_async=True,
    )


def flask() -> Middleware:
    """Flask's cookie session; bare: the same app without a secret key (its null session)."""
    import flask

    def build(secret: str | None) -> flask.Flask:
        app = flask.Flask("bench_flask")
        app.secret_key = secret

        @app.route("/")
        def index() -> Any:
            session = flask.session if secret is not None else None
            body = act(session, flask.request.headers.get("X-Mode"))
            return flask.Response(body, content_type="text/plain")

        return app

    app = build(SECRET)
    name = app.config["SESSION_COOKIE_NAME"]
    label = "Flask (SecureCookieSession)"
    return Middleware(label, "WSGI", name, wsgi_requests(build(None)), wsgi_requests(app))
