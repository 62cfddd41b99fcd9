"""Starlette (and FastAPI): a drop-in for ``starlette.middleware.sessions.SessionMiddleware``.

Moving from Starlette's signed-cookie session is an import change::

    from sessionware.starlette import SessionMiddleware

    app.add_middleware(SessionMiddleware, secret_key=..., engine="db",
                       engine_options={"path": "sessions.sqlite3"})

Starlette's arguments keep Starlette's meanings (``path`` is the cookie's
path, as there); engine options have their own argument, ``engine_options``,
and any other sessionware setting (``on_unavailable``, ``serializer``, ...)
is a keyword. ``request.session`` is a loaded sessionware session: reads mark
it accessed (``Vary: Cookie``), changes are saved to the engine, and the
cookie carries only the key (or, with ``engine="signed_cookies"``, the signed
data, as Starlette's own does).

This module imports only where Starlette is installed
(``pip install "sessionware[starlette]"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

try:
    from starlette.types import ASGIApp
except ImportError as exc:  # pragma: no cover - exercised by the packaging test
    raise ImportError(
        'sessionware.starlette needs Starlette: pip install "sessionware[starlette]"'
    ) from exc

from ._config import SessionConfig
from ._engine import Engine
from ._errors import ConfigurationError
from ._plugins import get_engine_class, get_serializer_class, host
from ._serializer import Serializer
from .http import asgi
from .http._cookies import canonical_samesite
from .http._rules import SessionRules

__all__ = ["SessionMiddleware"]

# Find the plugins now, at import, outside any event loop: Starlette builds its
# middleware inside the first call, where reading plugin metadata from disk
# would block the loop.
host.discover()

#: sessionware's field -> Starlette's argument, for error messages in Starlette's words.
_STARLETTE_NAMES = {
    "cookie_name": "session_cookie",
    "cookie_age": "max_age",
    "cookie_path": "path",
    "cookie_samesite": "same_site",
    "cookie_secure": "https_only",
    "cookie_domain": "domain",
    "cookie_partitioned": "partitioned",
}


class _StarletteRules(SessionRules):
    """The session rules, writing attribute names as Starlette does (``path=``, ``httponly``).

    Browsers read attribute names in any case (RFC 6265, section 5.2); code
    and tests written against Starlette's cookie sometimes do not.
    """

    lowercase_cookie_attributes = True


def _signs(config: SessionConfig | None, values: dict[str, Any]) -> bool:
    """Whether the chosen engine or serializer signs, and so needs ``secret_key``."""
    base = config or SessionConfig()
    engine = values.get("engine", base.engine)
    serializer = values.get("serializer", base.serializer)
    return bool(
        getattr(get_engine_class(engine), "uses_secret", False)
        or getattr(get_serializer_class(serializer), "uses_secret", False)
    )


class SessionMiddleware(asgi.ASGISessionMiddleware):
    """Starlette's ``SessionMiddleware`` arguments, with sessions stored by a sessionware engine.

    ``secret_key`` is used by engines and serializers that sign (it may be a
    Starlette ``Secret``), ``session_cookie`` names the cookie, ``max_age`` is
    the session lifetime in seconds (``None``: the cookie ends with the browser
    session, and the stored session lives the default two weeks), ``path``,
    ``same_site``, ``https_only``, ``domain`` and ``partitioned`` shape the
    cookie. ``engine`` picks the engine by name, ``engine_options`` are its
    options; the other keywords are the ``SessionConfig``
    fields of the same names (``config`` gives the rest).

    ``secret_key`` is used only when the engine or the serializer signs (as
    ``signed_cookies`` does): a server-side engine keeps nothing in the cookie
    that a secret would protect, so an app moving over keeps its old secret.
    Like Starlette's own, a session the app empties (``session.clear()``) is
    deleted along with its cookie.
    """

    flush_when_emptied = True
    rules_class = _StarletteRules

    def __init__(
        self,
        app: ASGIApp,
        secret_key: object = None,
        session_cookie: str = "session",
        max_age: int | None = 14 * 24 * 60 * 60,
        path: str = "/",
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        domain: str | None = None,
        partitioned: bool = False,
        *,
        engine: str | None = None,
        engine_options: Mapping[str, Any] | None = None,
        serializer: str | None = None,
        serializer_options: Mapping[str, Any] | None = None,
        fallback_keys: Sequence[str] | None = None,
        save_every_request: bool | None = None,
        detect_nested_changes: bool | None = None,
        on_unavailable: Literal["error", "empty"] | None = None,
        config: SessionConfig | None = None,
        engine_instance: Engine | None = None,
        serializer_instance: Serializer | None = None,
    ) -> None:
        # Every argument is spelled out (no **kwargs): type checkers then accept
        # app.add_middleware(SessionMiddleware, ...) and check its arguments.
        samesite = canonical_samesite(str(same_site))
        if samesite is None:
            raise ValueError(
                f"same_site must be 'lax', 'strict' or 'none' (Starlette's values), "
                f"got {same_site!r}"
            )
        settings: dict[str, Any] = {
            name: value
            for name, value in (
                ("serializer", serializer),
                ("serializer_options", serializer_options),
                ("fallback_keys", fallback_keys),
                ("save_every_request", save_every_request),
                ("detect_nested_changes", detect_nested_changes),
                ("on_unavailable", on_unavailable),
                ("engine_instance", engine_instance),
                ("serializer_instance", serializer_instance),
            )
            if value is not None
        }
        values: dict[str, Any] = {
            "cookie_name": session_cookie,
            "cookie_path": path,
            "cookie_samesite": samesite,
            "cookie_secure": bool(https_only),
            "cookie_domain": domain,
            "cookie_partitioned": bool(partitioned),
        }
        if max_age is not None and max_age <= 0:
            raise ConfigurationError(
                f"max_age must be a positive number of seconds, or None for a cookie that "
                f"ends with the browser session; got {max_age}, which would end every "
                "session as soon as it began",
                field="max_age",
            )
        if max_age is None:
            values["expire_at_browser_close"] = True
        else:
            values["cookie_age"] = max_age
        if engine is not None:
            values["engine"] = engine
        if engine_options:
            values["engine_options"] = dict(engine_options)
        values.update(settings)
        if _signs(config, values):
            if secret_key is not None:
                values["secret_key"] = str(secret_key)  # a starlette.datastructures.Secret too
        else:
            values.pop("fallback_keys", None)
        try:
            super().__init__(app, config, **values)
        except ConfigurationError as exc:
            name = _STARLETTE_NAMES.get(exc.field or "")
            if name is None:
                raise
            message = str(exc).replace(exc.field or "", name)
            raise ConfigurationError(message, field=name) from exc
