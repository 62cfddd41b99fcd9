"""``app.config`` to ``SessionConfig``: Flask's names where it has them, ``SESSIONWARE_*`` else."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from .._config import SessionConfig
from .._errors import ConfigurationError
from ._tagged import TAGGED

__all__ = ["FLASK_NAMES", "SESSIONWARE_FIELDS", "config_from_flask"]

#: SessionConfig fields that Flask names; ``SESSIONWARE_<FIELD>`` for them is refused.
FLASK_NAMES: Final = {
    "secret_key": "SECRET_KEY",
    "fallback_keys": "SECRET_KEY_FALLBACKS",
    "cookie_name": "SESSION_COOKIE_NAME",
    "cookie_domain": "SESSION_COOKIE_DOMAIN",
    "cookie_path": "SESSION_COOKIE_PATH",
    "cookie_httponly": "SESSION_COOKIE_HTTPONLY",
    "cookie_secure": "SESSION_COOKIE_SECURE",
    "cookie_samesite": "SESSION_COOKIE_SAMESITE",
    "cookie_partitioned": "SESSION_COOKIE_PARTITIONED",
    "cookie_age": "PERMANENT_SESSION_LIFETIME",
    "expire_at_browser_close": "session.permanent",
}
#: SessionConfig fields read from ``app.config["SESSIONWARE_<FIELD>"]``.
SESSIONWARE_FIELDS: Final = tuple(
    name for name in SessionConfig.field_names() if name not in FLASK_NAMES
)


def config_from_flask(app_config: Mapping[str, Any], *, secret: bool = False) -> SessionConfig:
    """The ``SessionConfig`` that ``app.config`` describes.

    Flask's names where it has them; ``SESSIONWARE_<FIELD>`` for the rest
    (``SESSIONWARE_ENGINE``, ``SESSIONWARE_ENGINE_OPTIONS``,
    ``SESSIONWARE_SERIALIZER``, ``SESSIONWARE_ON_UNAVAILABLE``...). An
    unknown ``SESSIONWARE_*`` key, or one Flask already names, is an error.
    ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` are included only with
    ``secret=True``: ``Session`` asks for them only when the engine or
    the serializer signs, so a development ``SECRET_KEY`` that is too short
    to sign sessions does not stop an app whose sessions are not signed.
    """
    values: dict[str, Any] = {
        "engine": "db",
        "serializer": TAGGED,
        # Flask's meaning: a session is not permanent until session.permanent = True;
        # FlaskSession decides per session, this states the default.
        "expire_at_browser_close": True,
    }
    for key, value in app_config.items():
        if not key.startswith("SESSIONWARE_"):
            continue
        name = key[len("SESSIONWARE_") :].lower()
        if name in FLASK_NAMES:
            raise ConfigurationError(
                f"{key} is not read by sessionware.flask: Flask names this setting; set "
                f"{FLASK_NAMES[name]} instead",
                field=name,
            )
        if name not in SESSIONWARE_FIELDS:
            valid = ", ".join(f"SESSIONWARE_{n.upper()}" for n in SESSIONWARE_FIELDS)
            raise ConfigurationError(
                f"unknown setting {key} in app.config; sessionware.flask reads {valid}",
                field=name,
            )
        values[name] = value
    if secret:
        secret_key = app_config.get("SECRET_KEY")
        if secret_key:
            values["secret_key"] = _text(secret_key)
        values["fallback_keys"] = tuple(
            _text(k) for k in app_config.get("SECRET_KEY_FALLBACKS") or ()
        )
    values["cookie_name"] = app_config.get("SESSION_COOKIE_NAME", "session")
    values["cookie_domain"] = app_config.get("SESSION_COOKIE_DOMAIN") or None
    values["cookie_path"] = (
        app_config.get("SESSION_COOKIE_PATH") or app_config.get("APPLICATION_ROOT") or "/"
    )
    values["cookie_httponly"] = app_config.get("SESSION_COOKIE_HTTPONLY", True)
    values["cookie_secure"] = app_config.get("SESSION_COOKIE_SECURE", False)
    values["cookie_samesite"] = app_config.get("SESSION_COOKIE_SAMESITE")
    values["cookie_partitioned"] = app_config.get("SESSION_COOKIE_PARTITIONED", False)
    lifetime = app_config.get("PERMANENT_SESSION_LIFETIME", timedelta(days=31))
    if isinstance(lifetime, timedelta):
        lifetime = int(lifetime.total_seconds())
    values["cookie_age"] = lifetime
    try:
        return SessionConfig.from_mapping(values)
    except ConfigurationError as exc:
        raise _flask_named(exc) from exc


def _text(secret: str | bytes) -> str:
    # Flask accepts bytes secrets (os.urandom); latin-1 maps each byte to one character.
    return secret.decode("latin-1") if isinstance(secret, bytes) else secret


def _flask_named(exc: ConfigurationError) -> ConfigurationError:
    """``exc`` with the Flask setting (or ``SESSIONWARE_*`` key) it is about named first."""
    field = exc.field
    if field is None:
        return exc
    setting = FLASK_NAMES.get(field, f"SESSIONWARE_{field.upper()}")
    return ConfigurationError(f"{setting}: {exc}", field=field)
