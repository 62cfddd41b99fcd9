"""The Django settings sessionware reads, and the engine and serializer built from them once.

``SESSIONWARE`` names the engine, its options, the serializer and the merge
policy; everything else is Django's own setting. The backend is built on
first use, once per process, and rebuilt when a test overrides a setting it
depends on (``setting_changed``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    ImproperlyConfigured,
    SynchronousOnlyOperation,
)
from django.core.signals import setting_changed

from .._engine import Engine
from .._errors import SessionwareError
from .._events import Events
from .._plugins import get_engine, get_engine_class, get_serializer, get_serializer_class, host
from .._serializer import Serializer

#: The logger Django's own backends report corrupted session data to.
security_log = logging.getLogger("django.security.SuspiciousSession")

#: Django's default ``SESSION_SERIALIZER``; any other value is refused (see ``_build``).
DJANGO_JSON_SERIALIZER = "django.contrib.sessions.serializers.JSONSerializer"
#: The keys the ``SESSIONWARE`` setting may hold.
SESSIONWARE_KEYS = ("engine", "options", "serializer", "serializer_options", "on_conflict")
#: ``SESSIONWARE["on_conflict"]``: which value stays when two requests change one key.
ON_CONFLICT = ("last_write_wins", "first_write_wins")
#: SessionConfig fields that Django already has a setting for: naming them in
#: SESSIONWARE would configure the same thing twice.
DJANGO_NAMES = {
    "cookie_name": "SESSION_COOKIE_NAME",
    "cookie_age": "SESSION_COOKIE_AGE",
    "cookie_domain": "SESSION_COOKIE_DOMAIN",
    "cookie_path": "SESSION_COOKIE_PATH",
    "cookie_secure": "SESSION_COOKIE_SECURE",
    "cookie_httponly": "SESSION_COOKIE_HTTPONLY",
    "cookie_samesite": "SESSION_COOKIE_SAMESITE",
    "save_every_request": "SESSION_SAVE_EVERY_REQUEST",
    "expire_at_browser_close": "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "secret_key": "SECRET_KEY",
    "fallback_keys": "SECRET_KEY_FALLBACKS",
    "engine_options": "SESSIONWARE['options']",
}
#: Settings the built engine and serializer depend on.
WATCHED = frozenset({"SESSIONWARE", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "SESSION_SERIALIZER"})
_CREATE_ATTEMPTS = 16
_GONE = "the session no longer exists (deleted or expired); it is not recreated"
_COOKIE_ADVICE = (
    "Store less in the session, or use a server-side engine "
    "(SESSIONWARE['engine'] = 'db', 'file' or 'redis')"
)


@dataclass(frozen=True, slots=True)
class _Backend:
    engine: Engine
    serializer: Serializer
    #: Where events go (the plugin host's, taken when the backend is built).
    events: Events
    #: ``SESSIONWARE["on_conflict"]`` (versioned engines).
    on_conflict: str = "last_write_wins"


_lock = threading.Lock()
_current: _Backend | None = None


def _backend() -> _Backend:
    backend = _current
    if backend is None:
        return _build_once()
    return backend


def _build_once() -> _Backend:
    global _current
    with _lock:
        if _current is None:
            _current = _build()
        return _current


def reset() -> None:
    """Close the engine built from the settings; the next session operation builds it anew.

    Called when a test overrides ``SESSIONWARE``, ``SECRET_KEY``,
    ``SECRET_KEY_FALLBACKS`` or ``SESSION_SERIALIZER`` (Django's
    ``setting_changed`` signal), so ``override_settings`` works.
    """
    global _current
    with _lock:
        old, _current = _current, None
    if old is not None:
        old.engine.close()


def _on_setting_changed(*, setting: str, **_: Any) -> None:
    if setting in WATCHED:
        reset()


setting_changed.connect(_on_setting_changed, dispatch_uid="sessionware.django")


def _improper(message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"SESSIONWARE: {message}")


def _options(conf: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = conf.get(name, {})
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _improper(f"SESSIONWARE[{name!r}] must be a dict of option names, got {value!r}")
    options = dict(value)
    for taken, django_name in (
        ("secret_key", "SECRET_KEY"),
        ("fallback_keys", "SECRET_KEY_FALLBACKS"),
    ):
        if taken in options:
            raise _improper(
                f"SESSIONWARE[{name!r}][{taken!r}] is not read: engines and serializers that "
                f"sign get Django's {django_name}; remove it from SESSIONWARE"
            )
    return options


def _with_secret(cls: type[Any], options: dict[str, Any]) -> dict[str, Any]:
    if getattr(cls, "uses_secret", False):
        options["secret_key"] = settings.SECRET_KEY  # Django refuses an empty one itself
        options["fallback_keys"] = list(getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    return options


def _build() -> _Backend:
    """The engine and serializer the settings name; ``ImproperlyConfigured`` if they cannot be."""
    conf = getattr(settings, "SESSIONWARE", {})
    if not isinstance(conf, Mapping):
        raise _improper(f"the SESSIONWARE setting must be a dict, got {type(conf).__name__}")
    for key in conf:
        if key in SESSIONWARE_KEYS:
            continue
        if key in DJANGO_NAMES:
            raise _improper(
                f"SESSIONWARE[{key!r}] is not read under Django: set {DJANGO_NAMES[key]} instead"
            )
        raise _improper(
            f"unknown key {key!r}; SESSIONWARE takes {', '.join(map(repr, SESSIONWARE_KEYS))}"
        )
    if getattr(settings, "SESSION_SERIALIZER", DJANGO_JSON_SERIALIZER) != DJANGO_JSON_SERIALIZER:
        raise ImproperlyConfigured(
            f"SESSION_SERIALIZER={settings.SESSION_SERIALIZER!r} is not used by "
            "sessionware.django, which serializes with a sessionware serializer: remove "
            "SESSION_SERIALIZER (or set it back to Django's default JSONSerializer) and name "
            "the serializer in SESSIONWARE['serializer'] ('json', 'msgpack', 'signed' or a "
            "serializer plugin of your own)"
        )
    on_conflict = conf.get("on_conflict", "last_write_wins")
    if on_conflict not in ON_CONFLICT:
        raise _improper(
            f"on_conflict must be one of {', '.join(map(repr, ON_CONFLICT))}, got {on_conflict!r}"
        )
    engine_name = conf.get("engine", "db")
    serializer_name = conf.get("serializer", "json")
    engine_options = _options(conf, "options")
    serializer_options = _options(conf, "serializer_options")
    if not isinstance(engine_name, str) or not isinstance(serializer_name, str):
        raise _improper(
            f"engine and serializer are plugin names such as 'db' and 'json', got "
            f"{engine_name!r} and {serializer_name!r}"
        )
    try:
        engine_cls = get_engine_class(engine_name)
        serializer_cls = get_serializer_class(serializer_name)
        engine: Engine = get_engine(engine_name, **_with_secret(engine_cls, engine_options))
        serializer: Serializer = get_serializer(
            serializer_name, **_with_secret(serializer_cls, serializer_options)
        )
    except SessionwareError as exc:
        raise _improper(str(exc)) from exc
    return _Backend(engine, serializer, host.events, on_conflict)


def _io_engine(operation: str) -> Engine:
    """The engine, for a blocking call: refused on a running event loop, as Django's ORM does.

    Django's db backend raises ``SynchronousOnlyOperation`` when an async view
    touches the session synchronously; so does this one for any engine whose
    calls may wait (disk, network, another process's lock). Engines that never
    wait (``inline_async``: the cache, cookies) are fine anywhere.
    ``DJANGO_ALLOW_ASYNC_UNSAFE`` lifts it, as it does for the ORM.
    """
    engine = _backend().engine
    if (
        asyncio._get_running_loop() is not None
        and not getattr(engine.capabilities, "inline_async", False)
        and not os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    ):
        raise SynchronousOnlyOperation(
            f"session {operation} on the {engine.name!r} engine would block the event loop; "
            "in async code use the async twins: await request.session.aget(), aset(), "
            "aitems(), asave(), acycle_key(), aflush() (or alogin()/alogout())"
        )
    return engine


def _emit(hook: str, **kwargs: Any) -> None:
    _backend().events.emit(hook, **kwargs)
