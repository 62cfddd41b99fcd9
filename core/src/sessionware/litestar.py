"""Litestar: sessionware's ASGI middleware as a Litestar middleware.

::

    from litestar import Litestar, Request, get, post
    from sessionware.litestar import session_middleware

    app = Litestar(route_handlers=[...],
                   middleware=[session_middleware(engine="db", path="sessions.sqlite3")])

``request.session`` is the loaded sessionware session; ``request.set_session(
{...})`` replaces its data (saved under the same key) and
``request.clear_session()`` deletes the stored session and the cookie, as with
Litestar's own session middleware. Keyword arguments are those of
``sessionware.session_store``: ``SessionConfig`` fields,
the rest engine options.

Litestar's ``request.session`` gives the session no sign that it was read,
and Litestar encodes responses through C (msgspec), so every response to a
request that carried a session cookie varies on ``Cookie``.

This module imports only where Litestar is installed
(``pip install "sessionware[litestar]"``).
"""

from __future__ import annotations

from typing import Any, ClassVar

try:
    from litestar.middleware import DefineMiddleware
    from litestar.types import Empty
except ImportError as exc:  # pragma: no cover - exercised by the packaging test
    raise ImportError(
        'sessionware.litestar needs Litestar: pip install "sessionware[litestar]"'
    ) from exc

from ._config import SessionConfig
from ._plugins import host
from .http import asgi
from .http._rules import CLEARED_MARKERS, SessionRules

__all__ = ["SessionMiddleware", "session_middleware"]

host.discover()  # at import, off the event loop
# request.clear_session() puts Empty at scope["session"]: the session is flushed.
if not any(marker is Empty for marker in CLEARED_MARKERS):
    CLEARED_MARKERS.append(Empty)


class SessionMiddleware(asgi.ASGISessionMiddleware):
    """``ASGISessionMiddleware`` with Litestar's reading rule (see the module)."""

    accessed_when_loaded: ClassVar[bool] = True
    flush_when_emptied: ClassVar[bool] = True


def session_middleware(config: SessionConfig | None = None, **settings: Any) -> DefineMiddleware:
    """A Litestar ``DefineMiddleware`` for sessions: list it in ``Litestar(middleware=[...])``.

    The engine is built here, once: Litestar makes a middleware instance per
    route, and every route must store into the same engine.
    """
    rules = SessionRules(config, **settings)

    def per_route(app: Any) -> Any:  # Litestar calls it with app=<the next ASGI app>
        return SessionMiddleware.sharing(app, rules)

    return DefineMiddleware(per_route)
