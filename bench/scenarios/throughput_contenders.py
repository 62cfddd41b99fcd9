"""The throughput comparison's contenders: each app, its server, its settings, its peer.

Each runs ``bench/apps/<module>`` under gunicorn (sync workers) or uvicorn, with the
engine in ``BENCH_ENGINE``; ``config`` is what the table's note says about it. ``PAIRS``
are the ratios the comparison reports (ours, theirs, what the ratio says).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Server:
    """One contender: an app in ``bench/apps/`` behind a production server, and its runs."""

    key: str
    label: str
    server: str  # "gunicorn" or "uvicorn"
    target: str  # module:attribute under bench/
    engine: str  # BENCH_ENGINE for the app
    config: str  # how it is configured, for the table note
    ours: bool
    env: dict[str, str] = field(default_factory=dict)
    # filled while running
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    cookies: list[str] = field(default_factory=list)
    counters: list[int] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    rps_median: float = 0.0
    cpu_ms: float = 0.0  # server CPU per request


CONTENDERS = [
    Server(
        "django-db",
        "Django, db",
        "gunicorn",
        "apps.django_app:application",
        "db",
        "Django defaults: `backends.db` on a sqlite file (rollback journal, SQLite's default "
        "`synchronous`, `CONN_MAX_AGE=0` so a new connection per request), JSONSerializer; "
        "only the sessions app and its SessionMiddleware",
        ours=False,
    ),
    Server(
        "ours-wsgi-db",
        "ours WSGI, db",
        "gunicorn",
        "apps.ours_wsgi:app",
        "db",
        "a plain WSGI callable in `WSGISessionMiddleware(engine='db', path=...)`: "
        "defaults (WAL, `synchronous=NORMAL`), json serializer",
        ours=True,
    ),
    Server(
        "django-db-wal",
        "Django, db, WAL (tuned)",
        "gunicorn",
        "apps.django_app:application",
        "db",
        "NOT Django's defaults, tuned up to match our engine's storage settings: "
        "`OPTIONS={'init_command': 'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL'}`, "
        "`CONN_MAX_AGE=None` (persistent connection)",
        ours=False,
        env={"BENCH_DJANGO_TUNED": "1"},
    ),
    Server(
        "flask-ours-db",
        "Flask + ours, db",
        "gunicorn",
        "apps.flask_ours:app",
        "db",
        "Flask with `app.wsgi_app = SessionMiddleware(app.wsgi_app, engine='db', path=...)`",
        ours=True,
    ),
    Server(
        "django-signed",
        "Django, signed_cookies",
        "gunicorn",
        "apps.django_app:application",
        "signed_cookies",
        "`SESSION_ENGINE='django.contrib.sessions.backends.signed_cookies'`, otherwise as "
        "Django, db (JSONSerializer, zlib compression when it pays: Django's defaults)",
        ours=False,
    ),
    Server(
        "ours-wsgi-redis",
        "ours WSGI, redis",
        "gunicorn",
        "apps.ours_wsgi:app",
        "redis",
        "the plain WSGI app with `engine='redis'` at 127.0.0.1:6379, a unique key prefix, "
        "blocking redis-py",
        ours=True,
    ),
    Server(
        "flask-default",
        "Flask, default cookie",
        "gunicorn",
        "apps.flask_default:app",
        "signed_cookies",
        "Flask's default `SecureCookieSessionInterface` (itsdangerous HMAC-SHA1, tagged JSON), "
        "only `secret_key` set",
        ours=False,
    ),
    Server(
        "flask-ours-signed",
        "Flask + ours, signed_cookies",
        "gunicorn",
        "apps.flask_ours:app",
        "signed_cookies",
        "Flask with `SessionMiddleware(app.wsgi_app, engine='signed_cookies', secret_key=...)`:"
        " HMAC-SHA256, json, not encrypted",
        ours=True,
    ),
    Server(
        "starlette-default",
        "Starlette, its SessionMiddleware",
        "uvicorn",
        "apps.starlette_default:app",
        "signed_cookies",
        "`starlette.middleware.sessions.SessionMiddleware(secret_key=...)`, defaults "
        "(itsdangerous TimestampSigner, JSON, base64)",
        ours=False,
    ),
    Server(
        "ours-asgi-db",
        "ours ASGI, db",
        "uvicorn",
        "apps.ours_asgi:app",
        "db",
        "a plain ASGI callable in `ASGISessionMiddleware(engine='db', path=...)` "
        "(sqlite called inline on the event loop)",
        ours=True,
    ),
    Server(
        "starlette-ours-signed",
        "Starlette + ours, signed_cookies",
        "uvicorn",
        "apps.starlette_ours:app",
        "signed_cookies",
        "Starlette wrapped in `ASGISessionMiddleware(engine='signed_cookies', secret_key=...)`",
        ours=True,
    ),
    Server(
        "ours-asgi-redis",
        "ours ASGI, redis",
        "uvicorn",
        "apps.ours_asgi:app",
        "redis",
        "the plain ASGI app with `engine='redis'`: redis-py asyncio, the session loaded "
        "before the app runs",
        ours=True,
    ),
]

# (ours, theirs, what the ratio says)
PAIRS = [
    ("ours-wsgi-db", "django-db", "like-for-like: a session store in sqlite, gunicorn"),
    ("flask-ours-db", "django-db", "a framework with ours vs Django, sqlite"),
    ("ours-wsgi-db", "django-db-wal", "vs Django tuned to WAL + persistent connection"),
    ("flask-ours-db", "django-db-wal", "Flask + ours vs Django tuned"),
    ("flask-ours-signed", "django-signed", "cookie sessions, gunicorn"),
    ("flask-ours-signed", "flask-default", "cookie sessions, same framework"),
    ("starlette-ours-signed", "starlette-default", "cookie sessions, same framework, uvicorn"),
]
