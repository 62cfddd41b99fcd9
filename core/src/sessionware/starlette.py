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

from collections.abc import Mapping
from typing import Any, Literal

try:
    import starlette  # noqa: F401  (only to fail early with the install hint)
except ImportError as exc:  # pragma: no cover - exercised by the packaging test
    raise ImportError(
        'sessionware.starlette needs Starlette: pip install "sessionware[starlette]"'
    ) from exc

from . import asgi
from ._config import SessionConfig
from ._plugins import host

__all__ = ["SessionMiddleware"]

# Find the plugins now, at import, outside any event loop: Starlette builds its
# middleware inside the first call, where reading plugin metadata from disk
# would block the loop.
host.discover()

_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}


class SessionMiddleware(asgi.SessionMiddleware):
    """Starlette's ``SessionMiddleware`` arguments, with sessions stored by a sessionware engine.

    ``secret_key`` is used by engines and serializers that sign (it may be a
    Starlette ``Secret``), ``session_cookie`` names the cookie, ``max_age`` is
    the session lifetime in seconds (``None``: the cookie ends with the browser
    session, and the stored session lives the default two weeks), ``path``,
    ``same_site``, ``https_only``, ``domain`` and ``partitioned`` shape the
    cookie. ``engine`` picks the engine by name, ``engine_options`` are its
    options; other keywords are :class:`~sessionware.SessionConfig` fields.
    """

    def __init__(
        self,
        app: asgi.ASGIApp,
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
        config: SessionConfig | None = None,
        **settings: Any,
    ) -> None:
        samesite = _SAMESITE.get(str(same_site).lower())
        if samesite is None:
            raise ValueError(
                f"same_site must be 'lax', 'strict' or 'none' (Starlette's values), "
                f"got {same_site!r}"
            )
        unknown = (
            set(settings)
            - set(SessionConfig.field_names())
            - {
                "engine_instance",
                "serializer_instance",
            }
        )
        if unknown:
            raise TypeError(
                f"unknown argument(s) {', '.join(sorted(unknown))} for "
                "sessionware.starlette.SessionMiddleware: engine options go in "
                "engine_options={...}; other keywords must be SessionConfig fields"
            )
        values: dict[str, Any] = {
            "cookie_name": session_cookie,
            "cookie_path": path,
            "cookie_samesite": samesite,
            "cookie_secure": bool(https_only),
            "cookie_domain": domain,
            "cookie_partitioned": bool(partitioned),
        }
        if max_age is None:
            values["expire_at_browser_close"] = True
        else:
            values["cookie_age"] = max_age
        if secret_key is not None:
            values["secret_key"] = str(secret_key)  # a starlette.datastructures.Secret too
        if engine is not None:
            values["engine"] = engine
        if engine_options:
            values["engine_options"] = dict(engine_options)
        values.update(settings)
        super().__init__(app, config, **values)
