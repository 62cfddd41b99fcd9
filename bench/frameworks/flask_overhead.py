"""Flask: per-request overhead of sessionware.flask (db engine) next to Flask's own cookie session.

Three Flask apps with the same view, called in-process as WSGI apps with a
prepared environ (no network, no test client):

- **bare**: no ``SECRET_KEY``, so Flask uses its null session (nothing
  decoded, nothing saved) and the view never touches ``flask.session``: the
  baseline both contenders are measured against;
- **Flask SecureCookieSession**: Flask's default, itsdangerous-signed cookie
  holding the tagged-JSON session;
- **sessionware.flask, db**: ``Session(app)`` on the db engine (SQLite file in
  a temp dir, engine defaults: WAL, synchronous=NORMAL), Flask's tagged JSON.

Each contender's session is seeded with ``PAYLOAD`` by a first request and
its cookie replayed. The cases, the pairing and the method are those of
``harness.overhead``: per round, the contender's request minus the same request
through the bare app, medians (p10-p90) over interleaved rounds, µs per request
(``untouched``: what eager loading costs, since sessionware.flask loads a session
whose cookie is present, as Flask decodes its cookie on every request).

    .venv/bin/python bench/frameworks/flask_overhead.py [--quick] [--rounds N]
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask
from harness import PAYLOAD, SECRET
from harness.inproc import call_wsgi, cookie_header, set_cookie, wsgi_environ
from harness.overhead import CASES, Contender, Row, rows, script
from harness.timing import Op, Pair, run_pairs

from sessionware.flask import Session

CONTENDERS = [
    Contender(
        "flask",
        "Flask SecureCookieSession",
        "in the cookie, signed (itsdangerous HMAC-SHA1)",
        "default",
    ),
    Contender(
        "sessionware",
        "sessionware.flask, db",
        "server-side, SQLite WAL, synchronous=NORMAL (no fsync)",
        "ours",
        versus="flask",
    ),
]
#: Every write stores a value never stored before, so SQLite really writes.
COUNTER = itertools.count(1)


def build(kind: str, tmp: Path) -> flask.Flask:
    """One of the three apps: ``"bare"``, ``"flask"`` or ``"sessionware"``."""
    app = flask.Flask(f"bench_{kind}")
    if kind == "flask":
        app.secret_key = SECRET
    elif kind == "sessionware":
        app.config["SESSIONWARE_ENGINE"] = "db"
        app.config["SESSIONWARE_ENGINE_OPTIONS"] = {"path": str(tmp / "sessions.sqlite3")}
        Session(app)

    @app.route("/")
    def index() -> flask.Response:
        mode = flask.request.headers.get("X-Mode")
        body = b"ok"
        if kind != "bare":
            if mode == "read":
                body = str(flask.session["username"]).encode()
            elif mode == "write":
                flask.session["counter"] = next(COUNTER)
            elif mode == "seed":
                flask.session.update(PAYLOAD)
        return flask.Response(body, content_type="text/plain")

    return app


def seed_and_check(app: flask.Flask, label: str) -> str:
    """Create the session with PAYLOAD; check each case does what it says; return the cookie."""

    def get(cookie: str | None, mode: str) -> tuple[int, str | None, bytes]:
        env = wsgi_environ("/", cookie_header("session", cookie), mode)
        status, headers, body = call_wsgi(app, env)
        return status, set_cookie(headers, "session"), body

    status, cookie, _ = get(None, "seed")
    if status != 200 or cookie is None:
        raise SystemExit(f"{label}: seeding set no session cookie")
    status, _, body = get(cookie, "read")
    if status != 200 or body != PAYLOAD["username"].encode():
        raise SystemExit(f"{label}: read answered {status} {body!r}")
    status, written, _ = get(cookie, "write")
    if status != 200 or written is None:
        raise SystemExit(f"{label}: the write sent no Set-Cookie")
    return written  # Flask's cookie changes with every write; replay the latest


def measure(rounds: int, sample_s: float) -> list[Row]:
    """Each contender's app next to the bare app, per case."""

    def call(app: flask.Flask, env: dict) -> Op:
        return Op(app.name, lambda: call_wsgi(app, env))

    with tempfile.TemporaryDirectory(prefix="flask-overhead-") as tmpdir:
        tmp = Path(tmpdir)
        bare = build("bare", tmp)
        apps = {c.key: build(c.key, tmp) for c in CONTENDERS}
        pairs = []
        for c in CONTENDERS:
            cookie = cookie_header("session", seed_and_check(apps[c.key], c.label))
            for case in CASES:
                env = wsgi_environ("/", cookie, None if case == "untouched" else case)
                pairs.append(Pair(c.key, case, call(bare, env), call(apps[c.key], env)))
        run_pairs(pairs, rounds, sample_s)
        apps["sessionware"].session_interface.rules.store_class.engine.close()  # type: ignore[attr-defined]
    return rows("Flask", CONTENDERS, pairs)


if __name__ == "__main__":
    script(__doc__, measure, ["flask"], full=(31, 0.02), quick=(5, 0.004))
