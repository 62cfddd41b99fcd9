"""FastAPI: the Starlette middleware plus a ready dependency for the session.

::

    from fastapi import FastAPI
    from sessionware.fastapi import SessionDep, SessionMiddleware

    app = FastAPI()
    app.add_middleware(SessionMiddleware, engine="db",
                       engine_options={"path": "sessions.sqlite3"})

    @app.post("/login")
    async def login(session: SessionDep) -> dict[str, str]:
        await session.acycle_key()          # the async twin: no I/O on the loop
        session["user"] = "alice"
        return {"ok": "yes"}

The session a route receives is already loaded; reading and writing its keys
does no I/O. Storage operations (``acycle_key``, ``aflush``, ``asave``) have
async twins: use them in ``async def`` routes.

This module imports only where FastAPI is installed
(``pip install "sessionware[fastapi]"``).
"""

from __future__ import annotations

from typing import Annotated

try:
    from fastapi import Depends, HTTPException, Request
except ImportError as exc:  # pragma: no cover - exercised by the packaging test
    raise ImportError(
        'sessionware.fastapi needs FastAPI: pip install "sessionware[fastapi]"'
    ) from exc

from ._session import SessionStore
from .starlette import SessionMiddleware

__all__ = ["SessionDep", "SessionMiddleware", "get_session"]


def get_session(request: Request) -> SessionStore:
    """The request's sessionware session (a dependency: ``Depends(get_session)``)."""
    session = request.scope.get("session")
    if not isinstance(session, SessionStore):
        # A server error the developer must fix, said plainly rather than as an AttributeError.
        raise HTTPException(
            status_code=500,
            detail="no sessionware session on this request: add "
            "sessionware.fastapi.SessionMiddleware to the app",
        )
    session.mark_accessed()
    return session


#: ``session: SessionDep`` in a route's signature receives the loaded session.
SessionDep = Annotated[SessionStore, Depends(get_session)]
