"""Flask: per-request overhead of sessionware.flask (db engine) next to Flask's own cookie session.

Three Flask apps with the same view, called in-process as WSGI apps with a
prepared environ (no network, no test client):

- **bare**: no ``SECRET_KEY``, so Flask uses its null session (nothing
  decoded, nothing saved) and the view never touches ``flask.session``: the
  baseline both contenders are measured against;
- **Flask (SecureCookieSession)**: Flask's default, itsdangerous-signed cookie
  holding the tagged-JSON session;
- **sessionware.flask, db**: ``Session(app)`` on the db engine (SQLite file in
  a temp dir, engine defaults: WAL, synchronous=NORMAL), Flask's tagged JSON.

Each contender's session is seeded with ``PAYLOAD`` by a first request and
its cookie replayed. Cases: (a) the view reads one key; (b) the view writes
the counter (a new value every request, so the session really is saved and a
``Set-Cookie`` goes out); (c) the cookie is sent but the view does not touch
the session (what eager loading costs: sessionware.flask loads a session
whose cookie is present, as Flask decodes its cookie on every request).

Method: each (bare, contender) pair runs in rounds; each round takes one
sample of every pair, in an order rotated every round (bare and contender
adjacent, their order alternating), so drift on a shared VM hits all alike.
A sample is a batch sized to last about ``sample_s``. Overhead per round =
contender sample - bare sample; the table gives the median (p10-p90) over
the rounds in µs per request, and the ratio of medians from the same run.

    .venv/bin/python bench/frameworks/flask_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import io
import itertools
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))

import flask
from _timing import PAYLOAD, median, time_batch

from sessionware.flask import Session

SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"  # noqa: S105 - throwaway
CASES = {"read": "(a) read one key", "write": "(b) write the counter", "untouched": "(c) untouched"}
#: Every write stores a value never stored before, so SQLite really writes.
COUNTER = itertools.count(1)

Reply = tuple[int, list[tuple[str, str]], bytes]


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


def environ(cookie: str | None, mode: str | None) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if cookie is not None:
        env["HTTP_COOKIE"] = f"theme=dark; session={cookie}; csrftoken=abc"
    if mode is not None:
        env["HTTP_X_MODE"] = mode
    return env


def call(app: Callable[..., Any], env: dict[str, Any]) -> Reply:
    """One request: the environ copied, the body consumed and closed."""
    got: list[Any] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[..., Any]:
        got.extend((status, headers))
        return got.append

    result = app(dict(env), start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return int(got[0][:3]), got[1], body


def session_cookie(headers: list[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("session="):
            return value.split(";", 1)[0][len("session=") :]
    return None


def seed_and_check(app: flask.Flask, label: str) -> str:
    """Create the session with PAYLOAD; check each case does what it says; return the cookie."""
    status, headers, _ = call(app, environ(None, "seed"))
    cookie = session_cookie(headers)
    if status != 200 or cookie is None:
        raise SystemExit(f"{label}: seeding set no session cookie")
    status, headers, body = call(app, environ(cookie, "read"))
    if status != 200 or body != PAYLOAD["username"].encode():
        raise SystemExit(f"{label}: read answered {status} {body!r}")
    status, headers, _ = call(app, environ(cookie, "write"))
    written = session_cookie(headers)
    if status != 200 or written is None:
        raise SystemExit(f"{label}: the write sent no Set-Cookie")
    return written  # Flask's cookie changes with every write; replay the latest


@dataclass
class Op:
    """One timed request, ``number`` calls per sample."""

    fn: Callable[[], Reply]
    number: int = 1
    samples: list[float] = field(default_factory=list)

    def warm(self, sample_s: float) -> None:
        """At least 30 calls and half a sample's time; sizes the batch."""
        calls, spent = 0, 0.0
        while calls < 30 or spent < sample_s / 2:
            step = max(10, calls)
            spent += time_batch(self.fn, step)
            calls += step
        self.number = max(3, round(sample_s / (spent / calls)))

    def sample(self) -> None:
        self.samples.append(time_batch(self.fn, self.number) / self.number * 1e6)


def spread(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[max(0, n // 10)], ordered[min(n - 1, (n * 9) // 10)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: numbers are noise")
    args = parser.parse_args()
    rounds, sample_s = (5, 0.004) if args.quick else (31, 0.02)
    contenders = {"flask": "Flask (SecureCookieSession)", "sessionware": "sessionware.flask, db"}
    with tempfile.TemporaryDirectory(prefix="flask-overhead-") as tmpdir:
        tmp = Path(tmpdir)
        bare = build("bare", tmp)
        apps = {kind: build(kind, tmp) for kind in contenders}
        cookies = {kind: seed_and_check(app, contenders[kind]) for kind, app in apps.items()}
        pairs: dict[tuple[str, str], tuple[Op, Op]] = {}
        for kind, app in apps.items():
            for case in CASES:
                mode = None if case == "untouched" else case
                env = environ(cookies[kind], mode)
                pairs[kind, case] = (
                    Op(lambda env=env: call(bare, env)),
                    Op(lambda app=app, env=env: call(app, env)),
                )
        for pair in pairs.values():
            for op in pair:
                op.warm(sample_s)
        order = list(pairs.values())
        for r in range(rounds):
            shift = (r * 5) % len(order)
            for base, wrapped in order[shift:] + order[:shift]:
                for op in (base, wrapped) if r % 2 == 0 else (wrapped, base):
                    op.sample()
        apps["sessionware"].session_interface.rules.store_class.engine.close()  # type: ignore[attr-defined]

    print(
        f"Python {sys.version.split()[0]}, Flask {flask_version()}, SQLite "
        f"{sqlite3.sqlite_version}; {rounds} interleaved rounds of ~{sample_s * 1000:.0f} ms "
        "samples; overhead = app - bare app, µs per request, median (p10-p90)"
    )
    print(f"{'':30}" + "".join(f"{label:>26}" for label in CASES.values()))
    medians: dict[tuple[str, str], float] = {}
    for kind, label in contenders.items():
        cells = []
        for case in CASES:
            base, wrapped = pairs[kind, case]
            diffs = [w - b for w, b in zip(wrapped.samples, base.samples, strict=True)]
            medians[kind, case] = median(diffs)
            p10, p90 = spread(diffs)
            cells.append(f"{medians[kind, case]:.1f} ({p10:.1f}-{p90:.1f})")
        print(f"{label:30}" + "".join(f"{cell:>26}" for cell in cells))
    ratios = [medians["sessionware", c] / medians["flask", c] for c in CASES]
    print(f"{'ratio sessionware / Flask':30}" + "".join(f"{r:>25.2f}x" for r in ratios))
    bare_us = median(pairs["flask", "read"][0].samples)
    print(f"bare app: {bare_us:.1f} µs per request")


def flask_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("flask")


if __name__ == "__main__":
    main()
