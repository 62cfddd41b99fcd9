"""Compare: per-request overhead of the session middleware, ours against Django, Starlette, Flask.

Every contender is called in-process with a prepared WSGI environ or ASGI scope (no
network), and its overhead is the wrapped app minus the same bare app on the same
request, measured in the same run. Four requests: (a) no cookie; (b) the session
cookie, session untouched; (c) session read (one key); (d) session write (the counter
gets a new value on every request, so the session is saved and a Set-Cookie goes out).

Contenders (each preloaded with ``PAYLOAD``: a first request creates the session, its
cookie is then replayed on every request):

- sessionware WSGI and ASGI ``SessionMiddleware``, engine ``db`` (SQLite file in a temp
  dir, engine defaults: WAL, synchronous=NORMAL) and ``signed_cookies`` (secret set),
  serializer ``json``.
- Django ``django.contrib.sessions.middleware.SessionMiddleware`` with the db backend
  (SQLite file, sessions app migrated, every other setting Django's default) and the
  signed_cookies backend: the middleware around a tiny view, called on a ``WSGIRequest``
  built from the environ, response headers rendered (cookies included); the baseline is
  the same call to the view without the middleware. No URL routing, no request signals.
- Starlette ``SessionMiddleware`` (itsdangerous) around a bare ASGI app using
  ``scope["session"]``; the baseline is the bare app.
- Flask's default cookie session (``SecureCookieSessionInterface``): an app whose view
  uses ``flask.session``; the baseline is the same app with no ``secret_key``, for which
  Flask uses its null session and never signs, loads or saves anything, with a view that
  does not touch the session.

Method: all pairs (bare, wrapped) of all contenders run in rounds; each round takes one
sample of every op, in an order rotated every round (a pair stays adjacent, its order
alternating), so drift on a shared VM hits all alike. A sample is a batch of calls
sized to last about the same time for every op (calibrated after a warm-up). Overhead
per round = wrapped sample - bare sample; medians and p10-p90 are over the rounds, in
µs per request; ratios are of medians from the same run.

    .venv/bin/python bench/compare_middleware.py [--quick] [--out DIR]
"""

from __future__ import annotations

import asyncio
import io
import itertools
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _results import Results, arguments
from _timing import PAYLOAD, median, time_batch

from sessionware import asgi as sw_asgi
from sessionware import wsgi as sw_wsgi

SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"  # noqa: S105 - throwaway
CASES = {
    "none": "(a) no cookie",
    "untouched": "(b) cookie, untouched",
    "read": "(c) read one key",
    "write": "(d) write the counter",
}
#: Every write stores a value never stored before, so SQLite really writes.
COUNTER = itertools.count(1)

Headers = list[tuple[str, str]]
Reply = tuple[int, Headers, bytes]


# -- the apps: one request shape, the mode in an X-Mode header --------------------------


def _act(session: Any, mode: str | None) -> bytes:
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
    body = _act(environ.get(sw_wsgi.ENVIRON_KEY), environ.get("HTTP_X_MODE"))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The bare ASGI app (what sessionware's and Starlette's middleware wrap)."""
    mode = None
    for name, value in scope["headers"]:
        if name == b"x-mode":
            mode = value.decode()
    body = _act(scope.get("session"), mode)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def cookie_header(name: str, value: str | None) -> str | None:
    return None if value is None else f"theme=dark; {name}={value}; csrftoken=abc"


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
        env["HTTP_COOKIE"] = cookie
    if mode is not None:
        env["HTTP_X_MODE"] = mode
    return env


def scope(cookie: str | None, mode: str | None) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1")]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode("latin-1")))
    if mode is not None:
        headers.append((b"x-mode", mode.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 50000),
    }


# -- calling a contender once ----------------------------------------------------------


def call_wsgi(app: Callable[..., Any], env: dict[str, Any]) -> Reply:
    """One request through a WSGI app: the environ copied, the body consumed and closed."""
    got: list[Any] = []

    def start_response(status: str, headers: Headers, exc_info: Any = None) -> Callable[..., Any]:
        got.append(status)
        got.append(headers)
        return got.append

    result = app(dict(env), start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return int(got[0][:3]), got[1], body


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def call_asgi(app: Callable[..., Awaitable[None]], sc: dict[str, Any]) -> Reply:
    """One request through an ASGI app on the running loop: the scope copied."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(dict(sc), _receive, send)
    start, body = sent[0], sent[-1]
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    return start["status"], headers, body.get("body", b"")


def set_cookie(headers: Headers, name: str) -> str | None:
    """The value the response sets for cookie ``name``, if it sets one."""
    for key, value in headers:
        if key.lower() == "set-cookie" and value.startswith(name + "="):
            return value.split(";", 1)[0][len(name) + 1 :]
    return None


# -- contenders ------------------------------------------------------------------------


@dataclass
class Contender:
    """One middleware: how to call its bare and wrapped forms on a request."""

    label: str
    protocol: str  # "WSGI" or "ASGI"
    cookie_name: str
    bare: Callable[[str | None, str | None], Any]  # (cookie header, mode) -> request fn
    wrapped: Callable[[str | None, str | None], Any]
    is_async: bool = False
    cookie: str | None = None  # the preloaded session's cookie value
    set_cookie: dict[str, bool] = field(default_factory=dict)


def wsgi_contender(label: str, name: str, bare: Any, wrapped: Any) -> Contender:
    def req(app: Any) -> Callable[[str | None, str | None], Callable[[], Reply]]:
        def request(cookie: str | None, mode: str | None) -> Callable[[], Reply]:
            env = environ(cookie, mode)
            return lambda: call_wsgi(app, env)

        return request

    return Contender(label, "WSGI", name, req(bare), req(wrapped))


def asgi_contender(label: str, name: str, bare: Any, wrapped: Any) -> Contender:
    def req(app: Any) -> Callable[[str | None, str | None], Callable[[], Any]]:
        def request(cookie: str | None, mode: str | None) -> Callable[[], Any]:
            sc = scope(cookie, mode)
            return lambda: call_asgi(app, sc)

        return request

    return Contender(label, "ASGI", name, req(bare), req(wrapped), is_async=True)


def ours(tmp: Path) -> list[Contender]:
    db = {"engine": "db", "serializer": "json", "path": str(tmp / "sessionware.sqlite3")}
    sc = {"engine": "signed_cookies", "serializer": "json", "secret_key": SECRET}
    name = "sessionid"
    return [
        wsgi_contender(
            "sessionware WSGI, db", name, wsgi_app, sw_wsgi.SessionMiddleware(wsgi_app, **db)
        ),
        wsgi_contender(
            "sessionware WSGI, signed_cookies",
            name,
            wsgi_app,
            sw_wsgi.SessionMiddleware(wsgi_app, **sc),
        ),
        asgi_contender(
            "sessionware ASGI, db", name, asgi_app, sw_asgi.SessionMiddleware(asgi_app, **db)
        ),
        asgi_contender(
            "sessionware ASGI, signed_cookies",
            name,
            asgi_app,
            sw_asgi.SessionMiddleware(asgi_app, **sc),
        ),
    ]


def setup_django(tmp: Path) -> dict[str, str]:
    """Configure Django (defaults but for the database file) and migrate the sessions app."""
    import django
    from django.conf import settings
    from django.core.management import call_command

    settings.configure(
        SECRET_KEY=SECRET,
        INSTALLED_APPS=["django.contrib.sessions"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(tmp / "django.sqlite3"),
            }
        },
    )
    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    with connection.cursor() as cursor:
        journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
    return {"journal_mode": str(journal), "synchronous": str(synchronous)}


def django_contenders() -> list[Contender]:
    from django.conf import settings
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpResponse

    def view(request: Any) -> Any:
        body = _act(getattr(request, "session", None), request.META.get("HTTP_X_MODE"))
        return HttpResponse(body, content_type="text/plain")

    def handler_call(handler: Callable[[Any], Any], env: dict[str, Any]) -> Reply:
        request = WSGIRequest(dict(env))
        response = handler(request)
        # What a WSGI server needs from the response: every header, cookies included.
        headers = list(response.items())
        headers.extend(("Set-Cookie", m.OutputString()) for m in response.cookies.values())
        # response.close() is not called: it sends request_finished, on which Django
        # (CONN_MAX_AGE=0) closes the database connection; see the note.
        return response.status_code, headers, response.content

    def req(handler: Any) -> Callable[[str | None, str | None], Callable[[], Reply]]:
        def request(cookie: str | None, mode: str | None) -> Callable[[], Reply]:
            env = environ(cookie, mode)
            return lambda: handler_call(handler, env)

        return request

    contenders = []
    for label, backend in (("db", "db"), ("signed_cookies", "signed_cookies")):
        # The middleware picks its SessionStore class when built: one instance per backend.
        settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{backend}"
        middleware = SessionMiddleware(view)
        contenders.append(
            Contender(
                f"Django, {label}", "WSGI", settings.SESSION_COOKIE_NAME, req(view), req(middleware)
            )
        )
    return contenders


def starlette_contender() -> Contender:
    from starlette.middleware.sessions import SessionMiddleware

    return asgi_contender(
        "Starlette (itsdangerous)",
        "session",
        asgi_app,
        SessionMiddleware(asgi_app, secret_key=SECRET),
    )


def flask_contender() -> Contender:
    import flask

    def build(secret: str | None) -> flask.Flask:
        app = flask.Flask("bench_flask")
        app.secret_key = secret

        @app.route("/")
        def index() -> Any:
            session = flask.session if secret is not None else None
            body = _act(session, flask.request.headers.get("X-Mode"))
            return flask.Response(body, content_type="text/plain")

        return app

    session_app = build(SECRET)
    return wsgi_contender(
        "Flask (SecureCookieSession)",
        session_app.config["SESSION_COOKIE_NAME"],
        build(None),
        session_app,
    )


# -- preload and check -----------------------------------------------------------------


def run_once(c: Contender, fn: Callable[[], Any], loop: asyncio.AbstractEventLoop) -> Reply:
    return loop.run_until_complete(fn()) if c.is_async else fn()


def prepare(c: Contender, loop: asyncio.AbstractEventLoop) -> None:
    """Create the session with PAYLOAD, keep its cookie, check every case does what it says."""
    status, headers, _ = run_once(c, c.wrapped(None, "seed"), loop)
    cookie = set_cookie(headers, c.cookie_name)
    if status != 200 or cookie is None:
        raise SystemExit(f"{c.label}: seeding the session set no {c.cookie_name} cookie")
    c.cookie = cookie
    jar = cookie_header(c.cookie_name, cookie)
    for case in CASES:
        cookie_h = None if case == "none" else jar
        mode = None if case in ("none", "untouched") else case
        status, headers, body = run_once(c, c.wrapped(cookie_h, mode), loop)
        if status != 200:
            raise SystemExit(f"{c.label} {case}: status {status}")
        if case == "read" and body != PAYLOAD["username"].encode():
            raise SystemExit(f"{c.label}: read {body!r}, not the preloaded session")
        sent = set_cookie(headers, c.cookie_name) is not None
        if case == "write" and not sent:
            raise SystemExit(f"{c.label}: the write sent no Set-Cookie")
        c.set_cookie[case] = sent
        bare = run_once(c, c.bare(cookie_h, mode), loop)
        if bare[0] != 200 or set_cookie(bare[1], c.cookie_name) is not None:
            raise SystemExit(f"{c.label} {case}: the bare app is not bare")


# -- timing ----------------------------------------------------------------------------


@dataclass
class Op:
    """One timed request: ``fn`` called ``number`` times per sample."""

    fn: Callable[[], Any]
    is_async: bool
    number: int = 1
    samples: list[float] = field(default_factory=list)


def _batch(op: Op, number: int, loop: asyncio.AbstractEventLoop) -> float:
    """Seconds for ``number`` requests."""
    return time_batch(op.fn, number, loop if op.is_async else None)


def _warm(op: Op, sample_s: float, loop: asyncio.AbstractEventLoop) -> None:
    """At least 30 calls and half a sample's time; sizes the batch."""
    calls, spent = 0, 0.0
    while calls < 30 or spent < sample_s / 2:
        step = max(10, calls)
        spent += _batch(op, step, loop)
        calls += step
    op.number = max(3, round(sample_s / (spent / calls)))


def run_pairs(
    pairs: list[tuple[Op, Op]], rounds: int, sample_s: float, loop: asyncio.AbstractEventLoop
) -> None:
    """Warm up every op, then ``rounds`` rotated rounds of one sample of each."""
    for bare, wrapped in pairs:
        _warm(bare, sample_s, loop)
        _warm(wrapped, sample_s, loop)
    for r in range(rounds):
        shift = (r * 7) % len(pairs)
        for bare, wrapped in pairs[shift:] + pairs[:shift]:
            for op in (bare, wrapped) if r % 2 == 0 else (wrapped, bare):
                op.samples.append(_batch(op, op.number, loop) / op.number * 1e6)


def spread(samples: list[float]) -> tuple[float, float]:
    """p10 and p90 (nearest rank, as ``_timing.summary``)."""
    ordered = sorted(samples)
    n = len(ordered)
    return ordered[max(0, n // 10)], ordered[min(n - 1, (n * 9) // 10)]


@dataclass
class Overhead:
    median: float
    p10: float
    p90: float
    wrapped: float
    bare: float

    def cell(self) -> str:
        return f"{self.median:.1f} ({self.p10:.1f}-{self.p90:.1f})"


def overhead(bare: Op, wrapped: Op) -> Overhead:
    diffs = [w - b for w, b in zip(wrapped.samples, bare.samples, strict=True)]
    p10, p90 = spread(diffs)
    return Overhead(median(diffs), p10, p90, median(wrapped.samples), median(bare.samples))


# -- main ------------------------------------------------------------------------------


def main() -> None:
    args = arguments((__doc__ or "").splitlines()[0])
    rounds, sample_s = (5, 0.004) if args.quick else (25, 0.02)
    results = Results(
        "bench/compare_middleware.py", "Per-request middleware overhead", quick=args.quick
    )
    results.versions(
        "sessionware",
        "sessionware-db",
        "sessionware-signed-cookies",
        "sessionware-json",
        "django",
        "starlette",
        "flask",
        "werkzeug",
        "itsdangerous",
        "cryptography",
    )
    results.data["versions"]["sqlite"] = sqlite3.sqlite_version
    print(
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}; "
        f"{rounds} interleaved rounds, samples of ~{sample_s * 1000:.0f} ms; "
        "overhead = wrapped - bare, µs per request, median (p10-p90)"
    )
    started = time.perf_counter()
    loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory(prefix="compare-middleware-") as tmpdir:
        tmp = Path(tmpdir)
        django_db = setup_django(tmp)
        results.data["versions"]["django sqlite journal"] = (
            f"{django_db['journal_mode']}, synchronous={django_db['synchronous']}"
        )
        contenders = [
            *ours(tmp),
            *django_contenders(),
            starlette_contender(),
            flask_contender(),
        ]
        for c in contenders:
            prepare(c, loop)

        ops: dict[tuple[str, str], tuple[Op, Op]] = {}
        for c in contenders:
            jar = cookie_header(c.cookie_name, c.cookie)
            for case in CASES:
                cookie_h = None if case == "none" else jar
                mode = None if case in ("none", "untouched") else case
                ops[c.label, case] = (
                    Op(c.bare(cookie_h, mode), c.is_async),
                    Op(c.wrapped(cookie_h, mode), c.is_async),
                )
        run_pairs(list(ops.values()), rounds, sample_s, loop)

        from django.db import connection

        connection.close()
    loop.close()

    res = {key: overhead(*pair) for key, pair in ops.items()}

    for protocol in ("WSGI", "ASGI"):
        group = [c for c in contenders if c.protocol == protocol]
        print(f"\n{protocol} (in-process, prepared {'environ' if protocol == 'WSGI' else 'scope'})")
        print(f"  {'':34}" + "".join(f"{label:>24}" for label in CASES.values()))
        rows = []
        for c in group:
            cells = [res[c.label, case].cell() for case in CASES]
            sent = "/".join("yes" if c.set_cookie[case] else "no" for case in CASES)
            rows.append([c.label, *cells, sent])
            print(f"  {c.label:34}" + "".join(f"{cell:>24}" for cell in cells) + f"   {sent}")
        print(
            "  bare app µs per request: "
            + ", ".join(f"{c.label} {res[c.label, 'untouched'].bare:.1f}" for c in group)
        )
        results.table(
            f"Request overhead, {protocol} (µs per request, median (p10-p90))",
            ["contender", *CASES.values(), "Set-Cookie on a/b/c/d"],
            rows,
            NOTES[protocol],
        )

    def ratio(ours_label: str, theirs_label: str, case: str) -> float:
        return res[ours_label, case].median / res[theirs_label, case].median

    print("\nTargets (ratios of median overheads, same run)")
    targets = [
        (
            "WSGI db session write: sessionware / Django db",
            ratio("sessionware WSGI, db", "Django, db", "write"),
            0.10,
            "sessionware WSGI SessionMiddleware (db engine) overhead on a request that writes "
            "the session, over Django's SessionMiddleware with the db backend",
        ),
        (
            "ASGI signed-cookie session write: sessionware / Starlette",
            ratio("sessionware ASGI, signed_cookies", "Starlette (itsdangerous)", "write"),
            0.75,
            "sessionware ASGI SessionMiddleware (signed_cookies, expiry inside the signed "
            "payload, checked on load) over Starlette's SessionMiddleware (itsdangerous "
            "timestamp checked against max_age), request that writes the session",
        ),
        (
            "Cookie sent, session untouched: sessionware / Starlette",
            ratio("sessionware ASGI, signed_cookies", "Starlette (itsdangerous)", "untouched"),
            0.25,
            "sessionware ASGI SessionMiddleware (signed_cookies) over Starlette's "
            "SessionMiddleware on a request that carries the session cookie and never "
            "touches the session",
        ),
    ]
    for name, value, limit, detail in targets:
        results.target(name, value, limit, detail)
        met = "met" if value <= limit else "MISSED"
        print(f"  {name:60} {value:6.3f} (target <= {limit:.2f})  {met}")

    for c in contenders:
        results.chart(
            "Request overhead, session write (µs)",
            c.label,
            round(res[c.label, "write"].median, 2),
            "µs",
        )
    for c in contenders:
        results.chart(
            "Request overhead, cookie untouched (µs)",
            c.label,
            round(res[c.label, "untouched"].median, 2),
            "µs",
        )
    for text in NOTES["all"]:
        results.note(text)
    results.note(
        f"Django's SQLite connection: journal_mode={django_db['journal_mode']}, "
        f"synchronous={django_db['synchronous']} (Django's defaults); sessionware db: WAL, "
        "synchronous=NORMAL (its defaults)."
    )
    print(f"\n{time.perf_counter() - started:.0f} s")
    results.write(args.out)


NOTES = {
    "WSGI": (
        "Overhead = the wrapped app minus the bare app on the same prepared environ, per "
        "round; the session holds PAYLOAD, created by a first request, its cookie replayed "
        "with two unrelated cookies. sessionware: wsgi.SessionMiddleware(app, engine=db "
        "(SQLite file, WAL, synchronous=NORMAL) or signed_cookies, serializer=json). "
        "Django: contrib.sessions SessionMiddleware(view) called on a WSGIRequest built from "
        "the environ, headers and cookies rendered, minus view(request) alone; Django "
        "defaults (db backend on a SQLite file, rollback journal, JSONSerializer; "
        "signed_cookies backend); no URL routing and no request_started/finished signals, "
        "so the database connection stays open across requests (with Django's default "
        "CONN_MAX_AGE=0 a real WSGIHandler would also reconnect every request: not counted). "
        "Flask: app(environ) with SECRET_KEY set and a view using flask.session, minus the "
        "same app without a secret key (Flask's null session: nothing signed, loaded or "
        "saved) whose view does not touch the session; routing and request context cancel "
        "out. Flask opens (verifies and decodes) the cookie on every request, even when the "
        "view never touches the session. Flask defaults: a non-permanent session (a "
        "browser-session cookie without Expires), itsdangerous URLSafeTimedSerializer "
        "(HMAC-SHA1, tagged JSON, zlib when it shortens the value), its timestamp checked against "
        "PERMANENT_SESSION_LIFETIME (31 days)."
    ),
    "ASGI": (
        "Overhead = the wrapped app minus the bare app on the same prepared scope, awaited on "
        "one event loop. sessionware: asgi.SessionMiddleware, same settings as WSGI; both "
        "engines are local (no network), so the session loads and saves inline on the loop "
        "(no thread hop; a db write blocks the loop for its duration). "
        "Starlette: starlette.middleware.sessions.SessionMiddleware(app, secret_key=...) with "
        "its defaults (itsdangerous TimestampSigner, HMAC-SHA1, max_age 14 days, JSON in "
        "base64); it verifies and decodes the cookie on every request, touched or not; the "
        "Set-Cookie column shows, as measured, on which requests each contender sends the "
        "cookie (this Starlette only when the session was modified). Starlette's Set-Cookie "
        "carries Max-Age only; sessionware's and Django's also an Expires date."
    ),
    "all": [
        "Write = the counter set to a value never stored before on every request, so the "
        "session is saved (SQLite really writes) and a Set-Cookie goes out for every "
        "contender. Read = one key read. Same PAYLOAD everywhere, JSON serializers "
        "everywhere (Flask: its tagged JSON).",
        "The cookie case (b) compares requests that carry the session cookie: sessionware "
        "and Django are lazy (no decoding, no storage access); Flask and Starlette verify "
        "and decode it before the app runs.",
    ],
}


if __name__ == "__main__":
    main()
