"""aiohttp: sessions through aiohttp-session's idiom, on the native async path.

``setup(app, engine="redis", url=...)`` installs a middleware and an
``on_response_prepare`` hook; in a handler, ``session = await get_session(request)``
returns the request's ``SessionStore``, already loaded with
``aload`` so that reading it never does I/O on the event loop. The response
rules are the core's (``SessionRules``):
they run in the middleware for responses returned or raised
(``web.HTTPException``, so a redirect after log-in carries the cookie), and in
the hook for responses the handler prepares itself (streams, WebSockets), just
before their headers are written. An engine outage answers 503, never 500.

Importing this module without aiohttp raises ``ImportError`` with the
install command; nothing else in sessionware imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

try:
    from aiohttp import hdrs, web
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without aiohttp
    raise ImportError(
        'sessionware.aiohttp needs aiohttp: pip install "sessionware[aiohttp]"'
    ) from exc

from ._config import SessionConfig
from ._engine import Engine
from ._errors import ConfigurationError, EngineUnavailable, SessionInterrupted
from ._serializer import Serializer
from ._session import SessionStore
from .http._cookie_parsing import get_cookie
from .http._rules import Outcome, SessionRules
from .http._vary import merge_vary

__all__ = ["RULES_KEY", "get_session", "new_session", "setup"]

logger = logging.getLogger("sessionware.middleware")

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Where ``setup`` keeps the app's ``SessionRules`` (``app[RULES_KEY]``).
RULES_KEY = web.AppKey("sessionware.rules", SessionRules)


class _State:
    """One request's session and where the response rules stand."""

    __slots__ = ("aborted", "done", "had_cookie", "loaded", "pending", "rules", "session")

    def __init__(self, rules: SessionRules, key: str | None) -> None:
        self.rules = rules
        self.session = rules.open(key)  # lazy: no I/O until get_session()
        self.had_cookie = key is not None
        self.loaded = False
        #: The rules ran (the response's headers carry their outcome).
        self.done = False
        #: A replacement decided while a handler prepared its own response...
        self.pending: Outcome | None = None
        #: ... and that response, whose prepare() was stopped before its headers went out.
        self.aborted: web.StreamResponse | None = None

    async def finish(self, status: int) -> Outcome | None:
        self.done = True
        return await self.rules.afinish(self.session, self.had_cookie, status)


# aiohttp 3.12 added typed request keys (and warns on str keys); older versions take a str.
_STATE: Any = (
    web.RequestKey("sessionware.state", _State)
    if hasattr(web, "RequestKey")
    else "sessionware.state"
)


def _state(request: web.Request) -> _State:
    state: _State | None = request.get(_STATE)
    if state is None:
        raise RuntimeError(
            "no sessionware session on this request: call sessionware.aiohttp.setup(app, ...) "
            "on the application (or a parent application) that serves this route"
        )
    return state


async def get_session(request: web.Request) -> SessionStore:
    """The request's session, loaded without blocking the event loop.

    Calling it counts as reading the session: the response gets ``Vary: Cookie``.

    Raises ``EngineUnavailable`` when the store is down and
    ``on_unavailable="error"`` (the middleware answers 503); with ``"empty"``
    the session is empty and nothing is saved.
    """
    state = _state(request)
    session = state.session
    if not state.loaded:
        await session.aload()
        state.loaded = True
        # What the handler does with it (json.dumps, orjson, a template) may read
        # the dict through C, unseen: handing it out counts as reading it (Vary).
        session.accessed = True
    return session


async def new_session(request: web.Request) -> SessionStore:
    """The request's session emptied and its stored copy deleted, as aiohttp-session's is.

    What is written to it afterwards is saved under a new key. To keep the
    data and only change the key at log-in, use ``await session.acycle_key()``.
    """
    session = await get_session(request)
    await session.aflush()
    return session


def _cookie_header(request: web.Request) -> str | None:
    found = request.headers.getall(hdrs.COOKIE, ())
    if not found:
        return None
    return found[0] if len(found) == 1 else "; ".join(found)


def _apply(outcome: Outcome, headers: Any) -> None:
    if outcome.vary:
        merged = merge_vary(headers.getall(hdrs.VARY, ()), ("Cookie",))
        if merged is not None:
            headers[hdrs.VARY] = merged
    if outcome.set_cookie is not None:
        headers.add(hdrs.SET_COOKIE, outcome.set_cookie)


def _replacement(outcome: Outcome) -> web.Response:
    """The plain-text answer that replaces the application's response."""
    headers = {k: v for k, v in outcome.error_headers() if k.lower() != "content-length"}
    return web.Response(status=outcome.status or 503, body=outcome.body, headers=headers)


def _pending_replacement(request: web.Request, state: _State) -> web.Response:
    """The replacement for a response whose ``prepare()`` our hook stopped.

    That ``prepare()`` had already set the connection's writer up (chunked
    transfer, compression) before the hook ran, and the writer stays so: the
    replacement is sent the same way, or its framing would not match.
    """
    assert state.pending is not None
    response = _replacement(state.pending)
    if getattr(request.writer, "chunked", False):
        response.enable_chunked_encoding()
    if state.aborted is not None and state.aborted.compression:
        response.enable_compression()
    return response


def _build_middleware(rules: SessionRules) -> Any:
    name = rules.cookie_name

    @web.middleware
    async def sessionware_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
        state = request[_STATE] = _State(rules, get_cookie(_cookie_header(request), name))
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if state.pending is not None:
                return _pending_replacement(request, state)
            if state.done:
                raise
            outcome = await state.finish(exc.status)
            if outcome is not None:
                if outcome.status is not None:
                    return _replacement(outcome)
                _apply(outcome, exc.headers)
            raise
        except Exception as exc:
            if state.pending is not None:  # our hook stopped the handler's prepare()
                return _pending_replacement(request, state)
            # The store failed (and the app may have wrapped the error in its own):
            # say so with a 503 rather than the app's 500.
            failed = exc if isinstance(exc, EngineUnavailable) else state.session.engine_error
            if failed is not None and not state.done:
                state.done = True
                return _replacement(rules.unavailable(failed))
            raise
        if state.pending is not None:  # the handler answered after its prepare() failed
            return _pending_replacement(request, state)
        if state.done or response.prepared:
            return response
        outcome = await state.finish(response.status)
        if outcome is not None:
            if outcome.status is not None:
                return _replacement(outcome)
            _apply(outcome, response.headers)
        return response

    return sessionware_middleware


async def _on_response_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Apply the rules to a response the handler prepares itself, before its headers go out."""
    state: _State | None = request.get(_STATE)
    if state is None or state.done:
        return
    outcome = await state.finish(response.status)
    if outcome is None:
        return
    if outcome.status is None:
        _apply(outcome, response.headers)
        return
    # Nothing is sent yet: fail the handler's prepare() so that it cannot
    # stream a body as if the session had been saved; the middleware answers.
    state.pending = outcome
    state.aborted = response
    if outcome.status == 400:
        raise SessionInterrupted(
            "the session was deleted by another request before this response started; "
            "the response is replaced by a 400"
        )
    raise EngineUnavailable(
        "the session could not be saved before this response started; "
        "the response is replaced by a 503"
    )


def setup(
    app: web.Application,
    config: SessionConfig | None = None,
    *,
    engine_instance: Engine | None = None,
    serializer_instance: Serializer | None = None,
    **settings: Any,
) -> type[SessionStore]:
    """Give every request of ``app`` (and of its sub-applications) a session.

    ``config`` and keyword ``settings`` are those of
    ``sessionware.session_store``: ``SessionConfig``
    fields (``engine="redis"``, ``cookie_age=3600``...) and the engine's
    options (``url=...``, ``path=...``). The engine is built here, so an
    unknown engine or option fails now, and closed when the app cleans up
    (unless you passed ``engine_instance``). The session middleware goes
    first in ``app.middlewares``, so every other middleware can use
    ``get_session``. Returns the bound session class, for work outside a
    request (``await Store.aclear_expired()``).
    """
    if RULES_KEY in app:
        raise ConfigurationError(
            "sessionware.aiohttp.setup() was already called for this application; call it once"
        )
    rules = SessionRules(
        config,
        engine_instance=engine_instance,
        serializer_instance=serializer_instance,
        **settings,
    )
    app[RULES_KEY] = rules
    app.middlewares.insert(0, _build_middleware(rules))
    app.on_response_prepare.append(_on_response_prepare)
    if engine_instance is None:
        engine = rules.store_class.engine

        async def close_engine(app: web.Application) -> None:
            aclose = getattr(engine, "aclose", None)
            if aclose is not None:
                await aclose()
            else:
                engine.close()

        app.on_cleanup.append(close_engine)
    return rules.store_class
