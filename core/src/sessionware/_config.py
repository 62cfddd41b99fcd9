"""SessionConfig: every setting in one frozen object, validated when it is built.

Names and defaults follow Django's ``SESSION_*`` settings. A config can be
built from keyword arguments, a mapping, a TOML file (a ``[sessionware]``
table or ``[tool.sessionware]`` in pyproject.toml) or ``SESSIONWARE_*``
environment variables; an invalid value raises
``ConfigurationError`` naming the field.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from ._errors import ConfigurationError
from ._secrets import check_secret
from .http._cookies import CookieSpec

__all__ = ["SessionConfig"]

_UNAVAILABLE = ("error", "empty")
_ON_CONFLICT = ("last_write_wins", "first_write_wins")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True, kw_only=True)
class SessionConfig:
    """All session settings. Immutable; derive variants with ``replace``."""

    #: Name of the session cookie.
    cookie_name: str = "sessionid"
    #: Lifetime of the session cookie and of the stored session, in seconds (two weeks).
    cookie_age: int = 1209600
    #: ``Domain`` attribute of the cookie; ``None`` for a host-only cookie.
    cookie_domain: str | None = None
    #: ``Path`` attribute of the cookie.
    cookie_path: str = "/"
    #: Send the cookie over HTTPS only.
    cookie_secure: bool = False
    #: Hide the cookie from JavaScript.
    cookie_httponly: bool = True
    #: ``SameSite`` attribute: ``"Lax"``, ``"Strict"``, ``"None"`` or ``None`` (omit it).
    cookie_samesite: str | None = "Lax"
    #: ``Partitioned`` attribute (CHIPS); requires ``cookie_secure``.
    cookie_partitioned: bool = False
    #: Save the session and send the cookie on every request, changed or not.
    save_every_request: bool = False
    #: Use a browser-session cookie (no ``Max-Age``) unless ``set_expiry`` says otherwise.
    expire_at_browser_close: bool = False
    #: Engine name (``sessionware engines`` lists the installed ones).
    engine: str = "db"
    #: Keyword options for the engine, e.g. ``{"path": "sessions.db"}``.
    engine_options: Mapping[str, Any] = field(default_factory=dict)
    #: Serializer name (``sessionware serializers`` lists the installed ones).
    serializer: str = "json"
    #: Keyword options for the serializer.
    serializer_options: Mapping[str, Any] = field(default_factory=dict)
    #: Secret for engines and serializers that sign (signed_cookies, signed). When
    #: set, it must pass ``sessionware.signing.check_secret`` (at least 50
    #: characters, at least 5 distinct), as must every fallback key.
    secret_key: str | None = field(default=None, repr=False)
    #: Retired secrets still accepted when verifying (key rotation).
    fallback_keys: tuple[str, ...] = field(default=(), repr=False)
    #: Save nested mutations (``s["cart"]["n"] = 1``) without ``modified = True``.
    detect_nested_changes: bool = True
    #: When the engine is unreachable: ``"error"`` answers 503, ``"empty"`` runs
    #: the request with an empty session that is not saved.
    on_unavailable: Literal["error", "empty"] = "error"
    #: Two overlapping requests changed the same top-level key of one session
    #: (versioned engines; other keys always merge): ``"last_write_wins"`` keeps
    #: the value of the request that saves last, ``"first_write_wins"`` the value
    #: already stored. Either way the loss is logged and reported as the
    #: ``session_conflict`` event (see the concurrency guide).
    on_conflict: Literal["last_write_wins", "first_write_wins"] = "last_write_wins"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        _check_type(self, "cookie_name", str)
        set_(self, "cookie_age", _as_int(self, "cookie_age", minimum=1))
        if self.cookie_domain is not None:
            _check_type(self, "cookie_domain", str)
        _check_type(self, "cookie_path", str)
        for name in (
            "cookie_secure",
            "cookie_httponly",
            "cookie_partitioned",
            "save_every_request",
            "expire_at_browser_close",
            "detect_nested_changes",
        ):
            set_(self, name, _as_bool(self, name))
        if self.cookie_samesite is not None:
            _check_type(self, "cookie_samesite", str)
        # The cookie's rules (name, domain, path, SameSite and what needs Secure)
        # are the spec's; building it validates them, naming the field.
        spec = CookieSpec.from_config(self)
        set_(self, "cookie_samesite", spec.samesite)
        set_(self, "cookie_spec", spec)  # fills the cached_property: built once
        for name in ("engine", "serializer"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.isidentifier():
                raise ConfigurationError(
                    f"{name} must be a plugin name such as 'db' or 'json', got {value!r}",
                    field=name,
                )
        for name in ("engine_options", "serializer_options"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = _parse_json_mapping(name, value)
            if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
                raise ConfigurationError(
                    f"{name} must be a mapping of option names to values, got {value!r}",
                    field=name,
                )
            set_(self, name, dict(value))
        if self.secret_key is not None:
            # Not _check_type: its message would show the value, and this is a secret.
            if not isinstance(self.secret_key, str):
                raise ConfigurationError(
                    f"secret_key must be a str, got {type(self.secret_key).__name__}",
                    field="secret_key",
                )
            check_secret(self.secret_key)
        fallback: object = self.fallback_keys  # may arrive as "a,b" text or a list
        if isinstance(fallback, str):
            fallback = tuple(k.strip() for k in fallback.split(",") if k.strip())
        if not isinstance(fallback, (list, tuple)) or not all(isinstance(k, str) for k in fallback):
            raise ConfigurationError(
                "fallback_keys must be a list of strings", field="fallback_keys"
            )
        for index, key in enumerate(fallback):
            check_secret(key, name=f"fallback_keys[{index}]", field="fallback_keys")
        set_(self, "fallback_keys", tuple(fallback))
        _check_choice(self, "on_unavailable", _UNAVAILABLE)
        _check_choice(self, "on_conflict", _ON_CONFLICT)

    @cached_property
    def cookie_spec(self) -> CookieSpec:
        """The session cookie's ``CookieSpec``, built (and validated) with the config.

        Every cookie writer uses it: the response rules, the size check of
        cookie engines, the framework integrations.
        """
        return CookieSpec.from_config(self)  # pragma: no cover - set in __post_init__

    # -- builders ------------------------------------------------------------

    @classmethod
    def field_names(cls) -> list[str]:
        """The names of every setting."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SessionConfig:
        """Build from a mapping; an unknown key is an error naming the valid ones."""
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            import difflib

            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, cls.field_names(), n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ConfigurationError(
                f"unknown session setting(s): {', '.join(hints)}", field=unknown[0]
            )
        return cls(**values)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> SessionConfig:
        """Build from a TOML file's ``[sessionware]`` or ``[tool.sessionware]`` table."""
        p = Path(path)
        try:
            document = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(f"config file {str(p)!r} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"config file {str(p)!r} is not valid TOML: {exc}") from exc
        table = document.get("sessionware", document.get("tool", {}).get("sessionware"))
        if table is None:
            raise ConfigurationError(
                f"config file {str(p)!r} has no [sessionware] or [tool.sessionware] table"
            )
        return cls.from_mapping(table)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, base: SessionConfig | None = None
    ) -> SessionConfig:
        """Apply ``SESSIONWARE_<FIELD>`` variables (``SESSIONWARE_COOKIE_AGE``...) over ``base``."""
        env = os.environ if environ is None else environ
        values = {}
        for name in cls.field_names():
            raw = env.get("SESSIONWARE_" + name.upper())
            if raw is not None:
                values[name] = None if raw == "" and name in _NULLABLE else raw
        return (base or cls()).replace(**values)

    @classmethod
    def load(
        cls,
        *,
        toml: str | os.PathLike[str] | None = None,
        env: bool = True,
        **overrides: Any,
    ) -> SessionConfig:
        """TOML file, then environment, then keyword arguments; later wins."""
        config = cls.from_toml(toml) if toml is not None else cls()
        if env:
            config = cls.from_env(base=config)
        return config.replace(**overrides) if overrides else config

    def replace(self, **changes: Any) -> SessionConfig:
        """A copy with ``changes`` applied (and validated)."""
        if not changes:
            return self
        values = {name: getattr(self, name) for name in self.field_names()}
        merged = {**values, **changes}
        return type(self).from_mapping(merged)


_NULLABLE = {"cookie_domain", "cookie_samesite", "secret_key"}


def _check_type(config: SessionConfig, name: str, kind: type) -> None:
    value = getattr(config, name)
    if not isinstance(value, kind):
        raise ConfigurationError(
            f"{name} must be a {kind.__name__}, got {type(value).__name__} {value!r}", field=name
        )


def _check_choice(config: SessionConfig, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise ConfigurationError(
            f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}", field=name
        )


def _as_int(config: SessionConfig, name: str, *, minimum: int) -> int:
    value = getattr(config, name)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ConfigurationError(
                f"{name} must be a whole number of seconds, got {value!r}", field=name
            ) from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an int, got {value!r}", field=name)
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}", field=name)
    return value


def _as_bool(config: SessionConfig, name: str) -> bool:
    value = getattr(config, name)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ConfigurationError(f"{name} must be true or false, got {value!r}", field=name)


def _parse_json_mapping(name: str, raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f'{name} given as text must be a JSON object, e.g. \'{{"path": "s.db"}}\': {exc}',
            field=name,
        ) from None
