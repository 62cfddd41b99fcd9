"""A minimal Django project in one module: settings, one URL, the WSGI app (gunicorn).

Only ``django.contrib.sessions`` is installed and only its SessionMiddleware runs. The
database is a sqlite file with Django's defaults (rollback journal, SQLite's default
``synchronous``, ``CONN_MAX_AGE=0``: a connection per request) unless
``BENCH_DJANGO_TUNED=1``. ``BENCH_ENGINE=signed_cookies`` selects Django's cookie backend.
Run ``python -m apps.django_app migrate`` once before serving the db variant.
"""

from __future__ import annotations

import sys
from typing import Any

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

from apps._env import DB_PATH, DJANGO_TUNED, ENGINE, SECRET, touch

database: dict[str, Any] = {"ENGINE": "django.db.backends.sqlite3", "NAME": DB_PATH}
if DJANGO_TUNED:
    database["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"}
    database["CONN_MAX_AGE"] = None

settings.configure(
    DEBUG=False,
    SECRET_KEY=SECRET,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    INSTALLED_APPS=["django.contrib.sessions"],
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
    ROOT_URLCONF=__name__,
    DATABASES={"default": database},
    SESSION_ENGINE=(
        "django.contrib.sessions.backends.signed_cookies"
        if ENGINE == "signed_cookies"
        else "django.contrib.sessions.backends.db"
    ),
)
django.setup()


def index(request: HttpRequest) -> HttpResponse:
    body = str(touch(request.session))
    # Content-Length as every other app sends it (Django's CommonMiddleware would add it;
    # without it gunicorn falls back to chunked encoding).
    return HttpResponse(body, content_type="text/plain", headers={"Content-Length": len(body)})


urlpatterns = [path("", index)]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
else:
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
