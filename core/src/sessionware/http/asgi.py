"""ASGI: a session middleware for any ASGI app, and an app built from a protocol handler.

``ASGISessionMiddleware(app, **settings)`` puts the session at ``scope["session"]``
(where Starlette's and FastAPI's ``request.session`` look) for ``http`` and
``websocket`` scopes and passes every other scope (``lifespan``) through.

The session of a request that carries a session cookie is loaded before the
app runs, with the async twins (natively, or in a worker thread for disk
engines), for two reasons: the scope is read by code we do not control —
``json.dumps``, orjson and msgspec read the ``dict`` through C and would see
an unloaded session as empty — and synchronous ``request.session[...]`` must
never do storage I/O on the event loop. A request without the cookie costs no
I/O. The rules are applied when the app sends ``http.response.start``, saving
with ``asave``; a session the app replaced at ``scope["session"]`` (Litestar's
``set_session``/``clear_session``) is taken over first. ``ASGIApp(handler,
middleware)`` serves a middleware-protocol chain over ASGI.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, ClassVar

from .._config import SessionConfig
from .._engine import Engine
from .._errors import EngineUnavailable, UpdateError
from .._serializer import Serializer
from .._session import SessionStore
from ._cookie_parsing import get_cookie
from ._messages import Request
from ._rules import Outcome, SessionRules
from ._vary import patch_vary_bytes
from .middleware import Handler, MiddlewareFactory, build_chain

__all__ = ["ASGIApp", "ASGISessionMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApplication = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("sessionware.middleware")


def _cookie_header(scope: Scope) -> str | None:
    found: list[bytes] = [v for k, v in scope.get("headers", ()) if k == b"cookie"]
    if not found:
        return None
    raw = found[0] if len(found) == 1 else b"; ".join(found)
    return raw.decode("latin-1")


async def _respond(
    rules: SessionRules,
    scope: Scope,
    session: SessionStore,
    had_cookie: bool,
    status: int,
    flush_when_emptied: bool = False,
) -> Outcome | None:
    """The rules' outcome for this response, after taking over a replaced session."""
    current = scope.get("session")
    try:
        if current is not session:
            if rules.adopt(session, current):
                await session.aflush()  # cleared by the app (Litestar's clear_session)
            scope["session"] = session
        elif (
            flush_when_emptied
            and session.modified
            and session.session_key is not None
            and not dict.__len__(session)
            and status < 500
        ):
            await session.aflush()  # emptied by the app: gone, with its cookie
    except EngineUnavailable as exc:
        return rules.unavailable(exc)
    return await rules.afinish(session, had_cookie, status)


async def _send_replacement(send: Send, outcome: Outcome) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": outcome.status,
            "headers": [(k.lower().encode(), v.encode()) for k, v in outcome.error_headers()],
        }
    )
    await send({"type": "http.response.body", "body": outcome.body, "more_body": False})


class ASGISessionMiddleware:
    """Wrap any ASGI app with sessions.

    ``app = ASGISessionMiddleware(app, engine="db", path="s.db")``.

    ``config`` and keyword ``settings`` are those of
    ``sessionware.session_store``; the engine is built once, here — or,
    when the middleware is made while an event loop runs (Starlette and
    Litestar build their middleware stack inside the first call, usually the
    lifespan startup), once in a worker thread before the first connection is
    served, because finding plugins and opening a store read the disk.
    """

    #: Count a request that carried a session cookie as having read its
    #: session. For frameworks whose ``request.session`` tells the session
    #: nothing (Litestar) and whose encoders read the ``dict`` through C.
    accessed_when_loaded: ClassVar[bool] = False
    #: A session the app emptied (``session.clear()``, popping every key) is
    #: deleted with its cookie, as Starlette's and Litestar's own sessions do.
    #: ``False`` keeps Django's meaning: an emptied session stays, empty.
    flush_when_emptied: ClassVar[bool] = False
    #: The rules each instance builds (a framework's integration may refine them).
    rules_class: ClassVar[type[SessionRules]] = SessionRules

    def __init__(
        self,
        app: ASGIApplication,
        config: SessionConfig | None = None,
        *,
        engine_instance: Engine | None = None,
        serializer_instance: Serializer | None = None,
        **settings: Any,
    ) -> None:
        self.app = app
        build = functools.partial(
            self.rules_class,
            config,
            engine_instance=engine_instance,
            serializer_instance=serializer_instance,
            **settings,
        )
        #: The session rules (and ``rules.store_class``, the session class);
        #: ``None`` until built when the middleware was made on a running loop.
        self.rules: SessionRules | None = None
        self._build: Callable[[], SessionRules] | None = None
        self._building: asyncio.Lock | None = None
        if asyncio._get_running_loop() is None:
            self.rules = build()
        else:
            self._build, self._building = build, asyncio.Lock()

    @classmethod
    def sharing(cls, app: ASGIApplication, rules: SessionRules) -> ASGISessionMiddleware:
        """A middleware for ``app`` that shares already-built ``rules`` (and so their engine).

        For frameworks that make one middleware per route (Litestar): every
        route must store into the same engine, built once.
        """
        self = cls.__new__(cls)
        self.app, self.rules, self._build, self._building = app, rules, None, None
        return self

    async def prepare(self) -> SessionRules:
        """The rules, built now (in a worker thread) if the middleware deferred building them.

        Called by the first connection (the lifespan startup, usually); call it
        yourself to build before serving, e.g. in a test on a running loop.
        """
        if self.rules is not None:
            return self.rules
        assert self._building is not None and self._build is not None
        async with self._building:
            if self.rules is None:
                self.rules = await asyncio.to_thread(self._build)
        return self.rules

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Build the deferred rules at start-up: a bad engine option fails the start-up.

        The server's ``lifespan.startup`` is answered ``startup.failed`` with the
        reason (the server exits) instead of every request failing later.
        """
        first = await receive()
        if first["type"] == "lifespan.startup":
            try:
                await self.prepare()
            except Exception as exc:
                logger.error("session middleware cannot start: %s", exc)
                await send({"type": "lifespan.startup.failed", "message": f"sessionware: {exc}"})
                return
        replay = [first]

        async def replaying() -> Message:
            return replay.pop() if replay else await receive()

        await self.app(scope, replaying, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection."""
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            if kind == "lifespan" and self.rules is None:
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        rules = self.rules or await self.prepare()
        key = get_cookie(_cookie_header(scope), rules.cookie_name)
        session = scope["session"] = rules.open(key)
        if key is not None:
            if self.accessed_when_loaded:
                session.mark_accessed()
            try:
                await session.aload()
            except EngineUnavailable as exc:
                if kind == "websocket":
                    await send({"type": "websocket.close", "code": 1011})
                else:
                    await _send_replacement(send, rules.unavailable(exc))
                return
        if kind == "websocket":
            await self._websocket(scope, receive, send, session, key)
            return
        started = replaced = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return  # the app's own body after we answered for it
            if message["type"] == "http.response.start":
                started = True
                outcome = await _respond(
                    rules,
                    scope,
                    session,
                    key is not None,
                    message["status"],
                    self.flush_when_emptied,
                )
                if outcome is not None:
                    if outcome.status is not None:
                        replaced = True
                        await _send_replacement(send, outcome)
                        return
                    headers = list(message.get("headers", ()))
                    if outcome.vary:
                        patch_vary_bytes(headers, "Cookie")
                    if outcome.set_cookie is not None:
                        headers.append((b"set-cookie", outcome.set_cookie.encode("latin-1")))
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except EngineUnavailable as exc:
            if started:
                raise
            await _send_replacement(send, rules.unavailable(exc))

    async def _websocket(
        self, scope: Scope, receive: Receive, send: Send, session: SessionStore, key: str | None
    ) -> None:
        # No response headers can carry a cookie: an existing session's changes
        # are saved when the connection ends; a new session is never stored.
        try:
            await self.app(scope, receive, send)
        finally:
            current = scope.get("session")
            if current is not session and key is not None and self.rules is not None:
                try:
                    if self.rules.adopt(session, current):
                        await session.aflush()
                except EngineUnavailable as exc:
                    logger.warning("websocket session not cleared: %s", exc)
            if (
                key is not None
                and session.session_key is not None
                and session.accessed
                and session.detect_changes()
            ):
                try:
                    await session.asave()
                except (UpdateError, EngineUnavailable) as exc:
                    logger.warning("websocket session not saved: %s", exc)


class ASGIApp:
    """An ASGI app that serves a protocol handler (sync or async) through a chain.

    ``ASGIApp(handler, middleware=[SessionMiddleware(...)])``: the chain is built
    once in async mode (sync parts run in worker threads); the request body is
    read completely before the handler is called. ``lifespan`` is answered.
    """

    def __init__(self, handler: Handler, middleware: Iterable[MiddlewareFactory] = ()) -> None:
        #: The built chain: ``await chain(request) -> Response``.
        self.chain = build_chain(handler, middleware, mode="async")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection."""
        kind = scope["type"]
        if kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if kind != "http":
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        response = await self.chain(Request.from_scope(scope, b"".join(chunks)))
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        if not any(k == b"content-length" for k, _ in headers):
            headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body, "more_body": False})
