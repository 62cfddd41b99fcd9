"""Flask with sessionware's WSGI SessionMiddleware around ``app.wsgi_app`` (gunicorn)."""

from __future__ import annotations

from flask import Flask, request

from apps._env import ours, touch
from sessionware.wsgi import SessionMiddleware, get_session

app = Flask(__name__)
app.wsgi_app = SessionMiddleware(app.wsgi_app, **ours())  # type: ignore[method-assign]


@app.get("/")
def index() -> tuple[str, int, dict[str, str]]:
    return str(touch(get_session(request.environ))), 200, {"Content-Type": "text/plain"}
