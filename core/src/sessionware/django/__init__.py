"""Django session backend: ``SESSION_ENGINE = "sessionware.django"``.

Django's own ``SessionMiddleware`` keeps doing the cookies; this module only
stores. ``SessionStore`` is a ``django.contrib.sessions`` ``SessionBase``
whose data goes through the sessionware engine and serializer named in the
``SESSIONWARE`` setting::

    SESSION_ENGINE = "sessionware.django"
    SESSIONWARE = {"engine": "db", "options": {"path": BASE_DIR / "sessions.sqlite3"}}

Every other session setting is Django's own (``SESSION_COOKIE_AGE``,
``SESSION_EXPIRE_AT_BROWSER_CLOSE``, ``SESSION_SAVE_EVERY_REQUEST``, the
cookie settings, ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` for engines and
serializers that sign): nothing is configured twice. The engine is built once
per process and rebuilt when a test overrides one of the settings it depends
on. What lives elsewhere: cookies and response rules (Django), storage
(the engine plugins).
"""

from __future__ import annotations

try:
    import django  # noqa: F401 - fail here, with the fix
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without Django
    raise ImportError(
        'sessionware.django needs Django; install it with: pip install "sessionware[django]"'
    ) from exc

from ._settings import reset
from ._store import SessionStore

__all__ = ["SessionStore", "reset"]
