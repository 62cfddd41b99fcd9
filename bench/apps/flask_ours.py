"""Flask with sessionware's WSGI WSGISessionMiddleware around ``app.wsgi_app`` (gunicorn)."""

from __future__ import annotations

from flask import Flask, request

from apps._env import ours, touch
from sessionware.http.wsgi import WSGISessionMiddleware, get_session

app = Flask(__name__)
app.wsgi_app = WSGISessionMiddleware(app.wsgi_app, **ours())  # type: ignore[method-assign]


@app.get("/")
def index() -> tuple[str, int, dict[str, str]]:
    return str(touch(get_session(request.environ))), 200, {"Content-Type": "text/plain"}
