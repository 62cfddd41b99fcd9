"""Settings of the test project: auth, messages in the session, CSRF token in the session.

Usable as ``DJANGO_SETTINGS_MODULE`` (``python -m django clearsessions``): the
auth database and the ``SESSIONWARE`` setting come from the environment
(``DJANGO_PROJECT_DB``, ``DJANGO_PROJECT_SESSIONWARE`` as JSON). The tests
in this folder configure Django from the same names in process.
"""

from __future__ import annotations

import json
import os

_PACKAGE = __name__.rpartition(".")[0]

SECRET_KEY = "django-project-test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    # for its clearsessions command (and, in the migration test, Django's own backend)
    "django.contrib.sessions",
    "django.contrib.messages",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = f"{_PACKAGE}.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_PROJECT_DB", "django-project.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
# Django's logging setup would replace what the test runner installed.
LOGGING_CONFIG = None
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only

SESSION_ENGINE = "sessionware.django"
SESSIONWARE = json.loads(os.environ.get("DJANGO_PROJECT_SESSIONWARE", '{"engine": "cache"}'))
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
CSRF_USE_SESSIONS = True
