"""The Django project both Django measurements run: settings, one view, WSGI requests.

One process, Django's own ``WSGIHandler``, its ``SessionMiddleware`` and a trivial view
at ``/baseline`` (never touches the session), ``/read`` (reads one key) and ``/write``
(changes one key, a new value every time, so SQLite really writes). Two session
engines, chosen by ``SESSION_ENGINE`` when a handler is built:

- ``sessionware.django`` with ``SESSIONWARE = {"engine": "db"}`` (sessionware-db,
  a SQLite file, WAL, ``synchronous=NORMAL``, a connection per thread kept open);
- ``django.contrib.sessions.backends.db`` on a SQLite file set to the same
  storage settings: WAL and ``synchronous=NORMAL`` (``init_command``) and a
  persistent connection (``CONN_MAX_AGE=None``), so neither side pays an
  fsync per commit or a connect per request that the other does not.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import PAYLOAD
from harness.inproc import cookie_header, wsgi_environ
from harness.services import SYNCHRONOUS, setup_django

DJANGO_DB = "django.contrib.sessions.backends.db"
OURS = "sessionware.django"
_counter = itertools.count()


def view(request: Any) -> Any:
    from django.http import HttpResponse

    mode = request.path_info.strip("/")
    if mode == "read":
        body = str(request.session["user_id"])
    elif mode == "write":
        request.session["counter"] = next(_counter)  # a new value each time: a real write
        body = "saved"
    else:
        body = "static"
    return HttpResponse(body, content_type="text/plain")


urlpatterns: list[Any] = []  # filled in setup(), once Django is configured


def setup(tmp: Path) -> None:
    """Configure Django: one database for Django's sessions, one file for sessionware's."""
    from django.urls import re_path

    setup_django(
        tmp,
        database={
            "CONN_MAX_AGE": None,
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"},
        },
        ALLOWED_HOSTS=["127.0.0.1"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
        ROOT_URLCONF=__name__,
        SESSIONWARE={
            "engine": "db",
            "options": {"path": str(tmp / "sessionware.sqlite3"), "synchronous": "NORMAL"},
        },
        LOGGING_CONFIG=None,
    )
    urlpatterns.append(re_path(r"^(?:baseline|read|write)$", view))


def storage_settings(engine: str) -> str:
    """``journal_mode, synchronous`` as the connection that serves the sessions reports them."""
    if engine == DJANGO_DB:
        from django.db import connection

        with connection.cursor() as cursor:
            journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            sync = cursor.execute("PRAGMA synchronous").fetchone()[0]
    else:
        from sessionware.django._settings import _backend

        conn: sqlite3.Connection = _backend().engine._conn()  # type: ignore[attr-defined]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    return f"{journal}, synchronous={SYNCHRONOUS.get(sync, sync)}"


def handler_for(engine: str | None) -> Any:
    """A ``WSGIHandler`` whose SessionMiddleware uses ``engine``; None: no middleware."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    if engine is None:
        middleware, settings.MIDDLEWARE = settings.MIDDLEWARE, []
        try:
            return WSGIHandler()
        finally:
            settings.MIDDLEWARE = middleware
    settings.SESSION_ENGINE = engine  # read once, when the middleware is built
    return WSGIHandler()


def seeded_cookie(engine: str) -> str:
    """A ``Cookie`` header carrying a new session of ``engine`` holding PAYLOAD."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    store = import_string(f"{engine}.SessionStore")()
    store.update(PAYLOAD)
    store.save()
    return cookie_header(settings.SESSION_COOKIE_NAME, store.session_key) or ""


def _start_response(status: str, headers: list[tuple[str, str]]) -> None:
    if not status.startswith("200"):
        raise RuntimeError(f"Django answered {status}")


def request(handler: Any, path: str, cookie: str | None) -> Callable[[], bytes]:
    """One request through ``handler``, closed as a WSGI server closes it."""
    environ = wsgi_environ(path, cookie)

    def call() -> bytes:
        body = handler(dict(environ), _start_response)
        try:
            return b"".join(body)
        finally:
            body.close()  # request_finished, as a WSGI server sends it

    return call
