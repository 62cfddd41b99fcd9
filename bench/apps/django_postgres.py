"""``apps.django_app`` on PostgreSQL: Django's db session backend, ``backends.postgresql``.

``BENCH_POSTGRES_URL`` is the server, ``BENCH_POSTGRES_SCHEMA`` the schema of the
``django_session`` table (through ``search_path``; ``compare_throughput_postgres.py``
creates it and runs ``python -m apps.django_postgres migrate sessions``). Django's
defaults otherwise: ``CONN_MAX_AGE=0`` (a new connection per request) unless
``BENCH_DJANGO_PERSISTENT=1`` (``CONN_MAX_AGE=None``, one connection per worker).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import django
import psycopg
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

from apps._env import SECRET, touch

URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = os.environ.get("BENCH_POSTGRES_SCHEMA", "sessionware_bench_django")

info = psycopg.conninfo.conninfo_to_dict(URL)
database: dict[str, Any] = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": info.get("dbname", "postgres"),
    "USER": info.get("user", ""),
    "PASSWORD": info.get("password", ""),
    "HOST": info.get("host", ""),
    "PORT": info.get("port", ""),
    "OPTIONS": {"options": f"-c search_path={SCHEMA}"},
}
if os.environ.get("BENCH_DJANGO_PERSISTENT") == "1":
    database["CONN_MAX_AGE"] = None

settings.configure(
    DEBUG=False,
    SECRET_KEY=SECRET,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    INSTALLED_APPS=["django.contrib.sessions"],
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
    ROOT_URLCONF=__name__,
    DATABASES={"default": database},
    SESSION_ENGINE="django.contrib.sessions.backends.db",
    USE_TZ=True,
)
django.setup()


def index(request: HttpRequest) -> HttpResponse:
    body = str(touch(request.session))
    return HttpResponse(body, content_type="text/plain", headers={"Content-Length": len(body)})


urlpatterns = [path("", index)]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
else:
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
