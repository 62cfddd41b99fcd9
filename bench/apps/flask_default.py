"""Flask with its default session: a signed cookie (itsdangerous, tagged JSON) (gunicorn)."""

from __future__ import annotations

from flask import Flask, session

from apps._env import SECRET, touch

app = Flask(__name__)
app.secret_key = SECRET


@app.get("/")
def index() -> tuple[str, int, dict[str, str]]:
    return str(touch(session)), 200, {"Content-Type": "text/plain"}
