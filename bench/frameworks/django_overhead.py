"""Django: the request overhead of a session read and write, sessionware.django vs Django db.

In one process, through Django's own ``WSGIHandler``, its ``SessionMiddleware``
and a trivial view, two handlers that differ only in ``SESSION_ENGINE``:

- ``sessionware.django`` with ``SESSIONWARE = {"engine": "db"}`` (sessionware-db,
  a SQLite file, WAL, ``synchronous=NORMAL``, a connection per thread kept open);
- ``django.contrib.sessions.backends.db`` on a SQLite file set to the same
  storage settings: WAL and ``synchronous=NORMAL`` (``init_command``) and a
  persistent connection (``CONN_MAX_AGE=None``), so neither side pays an
  fsync per commit or a connect per request that the other does not.

Per handler, three requests: no session cookie and a view that does not touch
the session (the baseline), a cookie and a view reading one key (read), a
cookie and a view changing one key, which the middleware saves (write; the
value changes on every request, so SQLite really writes). The overhead of a
read or a write is its median minus the baseline's. Rounds interleave every
request kind in a rotating order (``harness.timing.run_group``); medians and
p10-p90 over the rounds, µs per request.

    .venv/bin/python bench/frameworks/django_overhead.py [--quick] [--out DIR]
"""

from __future__ import annotations

import io
import itertools
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import Results, arguments
from _timing import PAYLOAD, median
from harness import SECRET
from harness.timing import Op, run_group

WSGI_BASE = {
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "wsgi.url_scheme": "http",
    "wsgi.input": io.BytesIO(b""),  # GET: never read past its (zero) length
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": False,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}
DJANGO_DB = "django.contrib.sessions.backends.db"
OURS = "sessionware.django"
KINDS = ("baseline", "read", "write")
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
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.urls import re_path

    settings.configure(
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS=["127.0.0.1"],
        INSTALLED_APPS=["django.contrib.sessions"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
        ROOT_URLCONF=__name__,
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(tmp / "django.sqlite3"),
                "CONN_MAX_AGE": None,
                "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"},
            }
        },
        SESSIONWARE={
            "engine": "db",
            "options": {"path": str(tmp / "sessionware.sqlite3"), "synchronous": "NORMAL"},
        },
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()
    urlpatterns.append(re_path(r"^(?:baseline|read|write)$", view))
    call_command("migrate", "sessions", verbosity=0)


def storage_settings(engine: str) -> str:
    """``journal_mode, synchronous`` as the connection that serves the sessions reports them."""
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    if engine == DJANGO_DB:
        from django.db import connection

        with connection.cursor() as cursor:
            journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            sync = cursor.execute("PRAGMA synchronous").fetchone()[0]
    else:
        from sessionware.django import _backend

        conn: sqlite3.Connection = _backend().engine._conn()  # type: ignore[attr-defined]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    return f"{journal}, synchronous={names.get(sync, sync)}"


def requests_for(engine: str) -> dict[str, Callable[[], object]]:
    """The three requests through a WSGIHandler whose SessionMiddleware uses ``engine``."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.utils.module_loading import import_string

    settings.SESSION_ENGINE = engine  # read once, when the middleware is built
    handler = WSGIHandler()
    store = import_string(f"{engine}.SessionStore")()
    store.update(PAYLOAD)
    store.save()
    cookie = f"{settings.SESSION_COOKIE_NAME}={store.session_key}"

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"{engine}: {status}")

    def request(path: str, with_cookie: bool) -> Callable[[], object]:
        base = {**WSGI_BASE, "PATH_INFO": path}
        if with_cookie:
            base["HTTP_COOKIE"] = cookie

        def call() -> object:
            body = handler(dict(base), start_response)
            try:
                return b"".join(body)
            finally:
                body.close()  # request_finished, as a WSGI server sends it

        return call

    calls = {
        "baseline": request("/baseline", with_cookie=False),
        "read": request("/read", with_cookie=True),
        "write": request("/write", with_cookie=True),
    }
    for kind, call in calls.items():  # a failing request must not be timed
        result = call()
        if kind == "read" and result != str(PAYLOAD["user_id"]).encode():
            raise RuntimeError(f"{engine}: the read request answered {result!r}")
    return calls


def main() -> None:
    args = arguments((__doc__ or "").splitlines()[0])
    rounds, sample_s = (4, 0.01) if args.quick else (150, 0.01)
    results = Results(
        "bench/frameworks/django_overhead.py",
        "Django: session overhead per request",
        quick=args.quick,
    )
    results.versions("sessionware", "sessionware-db", "sessionware-json", "django")
    results.data["versions"]["sqlite"] = sqlite3.sqlite_version
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="django-overhead-") as tmpdir:
        setup(Path(tmpdir))
        contenders = {"sessionware.django (db)": OURS, "Django backends.db": DJANGO_DB}
        ops: dict[str, dict[str, Op]] = {}
        storage = {}
        for label, engine in contenders.items():
            calls = requests_for(engine)
            ops[label] = {kind: Op(f"{label}: {kind}", calls[kind]) for kind in KINDS}
            storage[label] = storage_settings(engine)
        print(
            f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}; {rounds} "
            f"interleaved rounds, samples of ~{sample_s * 1000:.0f} ms; µs per request"
        )
        for label, text in storage.items():
            print(f"  {label}: {text}")
        run_group([op for group in ops.values() for op in group.values()], rounds, sample_s)

    rows = []
    print(f"\n  {'':36} {'request µs (p10-p90)':>24} {'overhead µs':>12}")
    for label, group in ops.items():
        base = median(group["baseline"].samples)
        for kind in KINDS:
            op = group[kind]
            extra = "" if kind == "baseline" else f"{median(op.samples) - base:.1f}"
            rows.append([label, kind, op.cell(), extra])
            print(f"  {label + ': ' + kind:36} {op.cell():>24} {extra:>12}")
    ours, theirs = ops["sessionware.django (db)"], ops["Django backends.db"]
    ratios = []
    for kind in ("read", "write"):
        mine = median(ours[kind].samples) - median(ours["baseline"].samples)
        peer = median(theirs[kind].samples) - median(theirs["baseline"].samples)
        ratios.append(f"{kind} overhead {mine / peer:.2f}x")
        results.chart("Django session overhead (µs)", f"sessionware.django {kind}", mine, "µs")
        results.chart("Django session overhead (µs)", f"Django db {kind}", peer, "µs")
    print("\n  sessionware.django / Django db: " + ", ".join(ratios))
    note = (
        "In process, through Django's WSGIHandler, SessionMiddleware and a trivial view; "
        "baseline = no cookie, session untouched; overhead = median minus the baseline's. "
        f"Storage: sessionware {storage['sessionware.django (db)']}; Django "
        f"{storage['Django backends.db']} (init_command) with CONN_MAX_AGE=None. Django "
        "stores the data signed (django.core.signing), sessionware plain JSON. Ratios: "
        + ", ".join(ratios)
        + "."
    )
    results.table(
        "sessionware.django vs django.contrib.sessions.backends.db",
        ["backend", "request", "µs per request (p10-p90)", "overhead µs"],
        rows,
        note,
    )
    results.note(f"ran in {time.perf_counter() - started:.0f} s")
    results.write(args.out)


if __name__ == "__main__":
    main()
