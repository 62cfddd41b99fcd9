"""The peers' and servers' setup every benchmark shares: Django configured once, Redis found.

Redis counts as there when a server answers ``PING`` on 127.0.0.1:6379: the same rule
as ``tests/e2e/redis_server.py`` (a port that accepts connections is not enough; a
server that is up but refuses commands is not usable).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from harness import SECRET

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def redis_available(timeout: float = 0.5) -> bool:
    """True when a Redis server answers ``PING`` on 127.0.0.1:6379."""
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_version() -> str:
    """The Redis server's version (``INFO server``), ``"?"`` when it does not say."""
    import redis

    client = redis.Redis(REDIS_HOST, REDIS_PORT, socket_connect_timeout=1, socket_timeout=1)
    try:
        return str(client.info("server").get("redis_version", "?"))
    finally:
        client.close()


def redis_cleanup(prefix: str) -> int:
    """Delete every key under ``prefix``; how many there were."""
    import redis

    client = redis.Redis(REDIS_HOST, REDIS_PORT)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
    return len(keys)


def setup_django(
    tmp: Path, *, database: dict[str, Any] | None = None, **settings: Any
) -> dict[str, str]:
    """Configure Django with its defaults, migrate the sessions app; the SQLite settings.

    The defaults: the sessions app alone, a SQLite file in ``tmp``, the file backend in
    ``tmp/django-files``, LocMemCache. ``database`` adds to the database entry,
    ``settings`` to (or over) the rest. Returns the ``journal_mode`` and ``synchronous``
    the sessions' connection reports.
    """
    import django
    from django.conf import settings as django_settings
    from django.core.management import call_command

    files = tmp / "django-files"
    files.mkdir(exist_ok=True)
    configured: dict[str, Any] = {
        "SECRET_KEY": SECRET,
        "INSTALLED_APPS": ["django.contrib.sessions"],
        "DATABASES": {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(tmp / "django.sqlite3"),
                **(database or {}),
            }
        },
        "SESSION_FILE_PATH": str(files),
        # LocMemCache as Django configures it by default, except MAX_ENTRIES (300): the
        # creates of one timed sample would otherwise cull the session the other ops use.
        "CACHES": {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "OPTIONS": {"MAX_ENTRIES": 100_000},
            }
        },
        "USE_TZ": True,
    }
    django_settings.configure(**{**configured, **settings})
    django.setup()
    call_command("migrate", "sessions", verbosity=0)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
    return {"journal_mode": str(journal), "synchronous": SYNCHRONOUS.get(synchronous, "?")}
