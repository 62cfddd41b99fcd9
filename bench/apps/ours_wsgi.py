"""A plain WSGI callable wrapped in sessionware's WSGI WSGISessionMiddleware (gunicorn)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps._env import ours, touch
from sessionware.http.wsgi import ENVIRON_KEY, WSGISessionMiddleware


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    body = str(touch(environ[ENVIRON_KEY])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


app = WSGISessionMiddleware(_app, **ours())
