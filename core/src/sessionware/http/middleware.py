"""The middleware protocol: chains of factories, order checks, sync/async adaptation.

A middleware is a factory called once with ``get_response`` that returns the
per-request callable: a function returning a function, or a class with
``__init__(get_response)`` and ``__call__(request)``. ``build_chain``
builds a chain around a handler (``handler(request) -> Response``), checks
``provides``/``requires`` declarations, leaves out factories that raise
``MiddlewareNotUsed``, and adapts sync and async parts by
the rules in ``docs/middleware.md``. ``SessionMiddleware`` is the
session middleware in this protocol's form; the WSGI and ASGI adapters are
in ``sessionware.http.wsgi`` and ``sessionware.http.asgi``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from .._config import SessionConfig
from .._engine import Engine
from .._errors import ConfigurationError, EngineUnavailable, MiddlewareNotUsed, MiddlewareOrderError
from .._serializer import Serializer
from ._messages import Request, Response
from ._rules import Outcome, SessionRules

__all__ = [
    "Handler",
    "MiddlewareFactory",
    "SessionMiddleware",
    "build_chain",
    "check_order",
    "is_async_callable",
]

#: A handler or a built chain: ``(request) -> Response``, sync or async.
Handler = Callable[[Request], Any]
#: A middleware factory: called once with ``get_response``, returns a handler.
MiddlewareFactory = Callable[[Handler], Handler]

_LOOP: contextvars.ContextVar[asyncio.AbstractEventLoop] = contextvars.ContextVar(
    "sessionware_middleware_loop"
)


def is_async_callable(obj: object) -> bool:
    """True for an ``async def`` function or partial, or an object with an async ``__call__``."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.iscoroutinefunction(obj):
        return True
    call = getattr(type(obj), "__call__", None)  # noqa: B004 - the class's, not the instance's
    return not inspect.isfunction(obj) and inspect.iscoroutinefunction(call)


def _name(factory: object) -> str:
    while isinstance(factory, functools.partial):
        factory = factory.func
    return str(getattr(factory, "__name__", None) or type(factory).__name__)


def _declared(factory: object, attribute: str) -> tuple[str, ...]:
    value = getattr(factory, attribute, ())
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def check_order(middleware: Sequence[object]) -> None:
    """Raise ``MiddlewareOrderError`` if a requirement is unmet or misplaced."""
    for index, factory in enumerate(middleware):
        for need in _declared(factory, "requires"):
            if any(need in _declared(f, "provides") for f in middleware[:index]):
                continue
            later = [f for f in middleware[index + 1 :] if need in _declared(f, "provides")]
            if later:
                a, b = _name(factory), _name(later[0])
                raise MiddlewareOrderError(
                    f"{a} requires {need!r}, which {b} provides, but {b} is listed after it; "
                    f"move {b} above {a}",
                    middleware=a,
                    depends_on=b,
                )
            a = _name(factory)
            raise MiddlewareOrderError(
                f"{a} requires {need!r}, but no middleware in the chain provides it; add one "
                f"that provides {need!r} (for 'session': sessionware.http.middleware."
                f"SessionMiddleware()) above {a}",
                middleware=a,
                depends_on=None,
            )


def _run_in_thread(handler: Handler) -> Handler:
    async def threaded(request: Request) -> Any:
        return await asyncio.to_thread(handler, request)

    return threaded


def _adapt_sync_middleware(factory: MiddlewareFactory, inner: Handler) -> Handler:
    """Run a sync-only middleware in a worker thread of an async chain."""

    def get_response(request: Request) -> Any:
        # Runs in the worker thread: hand the async rest of the chain back to the loop.
        future = asyncio.run_coroutine_threadsafe(inner(request), _LOOP.get())
        return future.result()

    middleware = factory(get_response)
    if is_async_callable(middleware):
        raise ConfigurationError(
            f"{_name(factory)} was given a sync get_response but returned an async callable; "
            "declare async_capable = True on it",
            field="middleware",
        )

    async def adapted(request: Request) -> Any:
        _LOOP.set(asyncio.get_running_loop())
        return await asyncio.to_thread(middleware, request)

    return adapted


def build_chain(
    handler: Handler,
    middleware: Iterable[MiddlewareFactory] = (),
    *,
    mode: Literal["sync", "async"] = "sync",
) -> Handler:
    """Wrap ``handler`` in ``middleware`` (first listed = outermost); return the chain.

    Each factory is called exactly once, innermost first. ``mode="sync"``
    returns a plain callable and refuses async handlers and async-only
    middleware with ``ConfigurationError``; ``mode="async"``
    returns an ``async`` callable, running sync handlers and sync-only
    middleware in worker threads. Order mistakes raise
    ``MiddlewareOrderError`` before any factory is called.
    """
    if mode not in ("sync", "async"):
        raise ConfigurationError(f"mode must be 'sync' or 'async', got {mode!r}", field="mode")
    factories = list(middleware)
    check_order(factories)
    inner: Handler = handler
    if mode == "sync":
        if is_async_callable(handler):
            raise ConfigurationError(
                f"the handler {_name(handler)} is async but the chain is sync; build it with "
                "mode='async' (sessionware.http.asgi.ASGIApp) or make the handler a plain function",
                field="handler",
            )
    elif not is_async_callable(handler):
        inner = _run_in_thread(handler)
    used: list[MiddlewareFactory] = []
    for factory in reversed(factories):
        sync_ok = bool(getattr(factory, "sync_capable", True))
        async_ok = bool(getattr(factory, "async_capable", False))
        try:
            if mode == "sync":
                if not sync_ok:
                    raise ConfigurationError(
                        f"{_name(factory)} is async-only (sync_capable = False) and cannot run "
                        "in a sync chain; use mode='async' (sessionware.http.asgi.ASGIApp) instead",
                        field="middleware",
                    )
                built = factory(inner)
                if is_async_callable(built):
                    raise ConfigurationError(
                        f"{_name(factory)} returned an async callable in a sync chain; a sync "
                        "chain would return an un-awaited coroutine. Use mode='async'",
                        field="middleware",
                    )
            elif async_ok:
                built = factory(inner)
                if not is_async_callable(built):
                    raise ConfigurationError(
                        f"{_name(factory)} declares async_capable = True but returned a sync "
                        "callable for an async get_response; make it `async def` (or its "
                        "__call__)",
                        field="middleware",
                    )
            elif sync_ok:
                built = _adapt_sync_middleware(factory, inner)
            else:
                raise ConfigurationError(
                    f"{_name(factory)} declares neither sync_capable nor async_capable",
                    field="middleware",
                )
        except MiddlewareNotUsed:
            continue
        inner = built
        used.append(factory)
    check_order(list(reversed(used)))
    return inner


class SessionMiddleware:
    """The session middleware in protocol form; ``provides = ("session",)``.

    Configure an instance and list it: ``build_chain(handler,
    [SessionMiddleware(engine="db", path="s.db"), ...])``. The instance is
    the factory: called once per chain, it builds the session class once,
    then sets ``request.session`` on each request and applies the session
    response rules to the returned ``Response``. Works in sync and async
    chains. Arguments are those of ``sessionware.session_store``.
    """

    provides = ("session",)
    sync_capable = True
    async_capable = True

    def __init__(
        self,
        config: SessionConfig | None = None,
        *,
        engine_instance: Engine | None = None,
        serializer_instance: Serializer | None = None,
        **settings: Any,
    ) -> None:
        if config is not None and not isinstance(config, SessionConfig):
            raise TypeError(
                "SessionMiddleware takes a SessionConfig (or keyword settings), not "
                f"{type(config).__name__}; list an instance, SessionMiddleware(...), not the class"
            )
        self._args: dict[str, Any] = dict(
            settings, engine_instance=engine_instance, serializer_instance=serializer_instance
        )
        self._config = config
        #: The rules of the most recently built chain (``None`` before one is built).
        self.rules: SessionRules | None = None

    @classmethod
    def configured(cls, config: SessionConfig | None = None, **settings: Any) -> SessionMiddleware:
        """Same as ``SessionMiddleware(config, **settings)``; reads well in a middleware list."""
        return cls(config, **settings)

    def __call__(self, get_response: Handler) -> Handler:
        """Build the per-request callable around ``get_response`` (once per chain)."""
        rules = self.rules = SessionRules(self._config, **self._args)
        name = rules.cookie_name
        if is_async_callable(get_response):

            async def async_session_middleware(request: Request) -> Response:
                key = request.get_cookie(name)
                session = request.session = rules.open(key)
                if key is not None:  # loaded off the loop, before the handler reads it
                    try:
                        await session.aload()
                    except EngineUnavailable as exc:
                        return _finish(rules.unavailable(exc), None)
                try:
                    response: Response = await get_response(request)
                except EngineUnavailable as exc:
                    return _finish(rules.unavailable(exc), None)
                replaced = request._session
                if replaced is not session:
                    try:
                        if rules.adopt(session, replaced):
                            await session.aflush()
                    except EngineUnavailable as exc:
                        return _finish(rules.unavailable(exc), None)
                outcome = await rules.afinish(session, key is not None, response.status)
                return _finish(outcome, response)

            return async_session_middleware

        def session_middleware(request: Request) -> Response:
            key = request.get_cookie(name)
            session = request.session = rules.open(key)
            try:
                response: Response = get_response(request)
            except EngineUnavailable as exc:
                return _finish(rules.unavailable(exc), None)
            return _finish(rules.finish(session, key is not None, response.status), response)

        return session_middleware

    def __repr__(self) -> str:
        return "SessionMiddleware()"


def _finish(outcome: Outcome | None, response: Response | None) -> Response:
    if outcome is not None and outcome.status is not None:
        return Response(outcome.body, outcome.status, outcome.error_headers(), content_type=None)
    assert response is not None
    if outcome is not None:
        outcome.apply(response.headers)
    return response
