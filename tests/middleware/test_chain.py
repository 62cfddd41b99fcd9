"""build_chain: order, MiddlewareNotUsed, provides/requires, factories, sync/async adaptation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from sessionware import ConfigurationError, MiddlewareNotUsed, MiddlewareOrderError
from sessionware.http._messages import Request, Response
from sessionware.http.middleware import build_chain, check_order

Handler = Callable[[Request], Any]


def handler(request: Request) -> Response:
    request.state.setdefault("trace", []).append("handler")
    return Response("ok")


async def async_handler(request: Request) -> Response:
    request.state.setdefault("trace", []).append("handler")
    return Response("ok")


def tracer(label: str) -> Callable[[Handler], Handler]:
    """A function factory that records the way in and the way out."""

    def factory(get_response: Handler) -> Handler:
        def middleware(request: Request) -> Response:
            request.state.setdefault("trace", []).append(f"{label} in")
            response: Response = get_response(request)
            request.state["trace"].append(f"{label} out")
            return response

        return middleware

    factory.__name__ = label
    return factory


class Provider:
    provides = ("session",)

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: Request) -> Response:
        request.session = {"user": "ann"}
        response: Response = self.get_response(request)
        return response


class Consumer:
    requires = ("session",)

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: Request) -> Response:
        request.state["user"] = request.session["user"]
        response: Response = self.get_response(request)
        return response


def test_first_listed_middleware_is_outermost() -> None:
    chain = build_chain(handler, [tracer("a"), tracer("b")])
    request = Request()
    chain(request)
    assert request.state["trace"] == ["a in", "b in", "handler", "b out", "a out"]


def test_class_factory_with_init_and_call_works() -> None:
    chain = build_chain(handler, [Provider, Consumer])
    request = Request()
    assert chain(request).body == b"ok"
    assert request.state["user"] == "ann"


def test_factory_is_called_once_per_chain() -> None:
    calls = []

    def factory(get_response: Handler) -> Handler:
        calls.append(1)
        return get_response

    chain = build_chain(handler, [factory])
    for _ in range(3):
        chain(Request())
    assert calls == [1]


def test_middleware_not_used_is_left_out() -> None:
    def opt_out(get_response: Handler) -> Handler:
        raise MiddlewareNotUsed

    chain = build_chain(handler, [tracer("a"), opt_out, tracer("b")])
    request = Request()
    chain(request)
    assert request.state["trace"] == ["a in", "b in", "handler", "b out", "a out"]


def test_requires_before_provides_raises_order_error_naming_both() -> None:
    with pytest.raises(MiddlewareOrderError) as info:
        build_chain(handler, [Consumer, Provider])
    assert "move Provider above Consumer" in str(info.value)
    assert info.value.middleware == "Consumer"
    assert info.value.depends_on == "Provider"


def test_requires_without_any_provider_says_what_to_add() -> None:
    with pytest.raises(MiddlewareOrderError, match="no middleware in the chain provides") as info:
        build_chain(handler, [Consumer])
    assert "SessionMiddleware" in str(info.value)
    assert info.value.depends_on is None


def test_order_error_is_raised_before_any_factory_runs() -> None:
    called = []

    def watched(get_response: Handler) -> Handler:
        called.append(1)
        return get_response

    with pytest.raises(MiddlewareOrderError):
        build_chain(handler, [Consumer, watched, Provider])
    assert called == []


def test_provider_that_opts_out_leaves_its_requirement_unmet() -> None:
    class OptOutProvider(Provider):
        def __init__(self, get_response: Handler) -> None:
            raise MiddlewareNotUsed

    with pytest.raises(MiddlewareOrderError, match="no middleware"):
        build_chain(handler, [OptOutProvider, Consumer])


def test_function_attributes_declare_provides_and_requires() -> None:
    def needs(get_response: Handler) -> Handler:
        return get_response

    needs.requires = ("user",)  # type: ignore[attr-defined]

    def gives(get_response: Handler) -> Handler:
        return get_response

    gives.provides = ("user",)  # type: ignore[attr-defined]
    build_chain(handler, [gives, needs])
    with pytest.raises(MiddlewareOrderError, match="move gives above needs"):
        check_order([needs, gives])


def test_sync_chain_refuses_an_async_handler() -> None:
    with pytest.raises(ConfigurationError, match="mode='async'"):
        build_chain(async_handler, [])


def test_sync_chain_refuses_async_only_middleware() -> None:
    class AsyncOnly:
        sync_capable = False
        async_capable = True

        def __init__(self, get_response: Handler) -> None:
            self.get_response = get_response

        async def __call__(self, request: Request) -> Response:
            response: Response = await self.get_response(request)
            return response

    with pytest.raises(ConfigurationError, match="async-only"):
        build_chain(handler, [AsyncOnly])


def test_sync_chain_refuses_a_factory_that_returns_a_coroutine_function() -> None:
    def sneaky(get_response: Handler) -> Handler:
        async def middleware(request: Request) -> Response:
            return Response()

        return middleware

    with pytest.raises(ConfigurationError, match="un-awaited coroutine"):
        build_chain(handler, [sneaky])


async def test_async_chain_runs_a_sync_handler_in_a_thread() -> None:
    seen = []

    def blocking(request: Request) -> Response:
        seen.append(threading.current_thread() is threading.main_thread())
        return Response("sync")

    chain = build_chain(blocking, [], mode="async")
    response = await chain(Request())
    assert response.body == b"sync"
    assert seen == [False]


async def test_async_chain_runs_sync_middleware_in_a_thread_and_inner_part_on_the_loop() -> None:
    loop_thread = threading.current_thread()
    where: dict[str, Any] = {}

    def sync_only(get_response: Handler) -> Handler:
        def middleware(request: Request) -> Response:
            where["middleware"] = threading.current_thread()
            response: Response = get_response(request)
            response.add_header("X-Sync", "1")
            return response

        return middleware

    async def inner(request: Request) -> Response:
        where["handler"] = threading.current_thread()
        asyncio.get_running_loop()  # raises if not on a loop
        return Response("ok")

    chain = build_chain(inner, [sync_only], mode="async")
    response = await chain(Request())
    assert response.get_header("X-Sync") == "1"
    assert where["middleware"] is not loop_thread
    assert where["handler"] is loop_thread


async def test_async_chain_passes_an_async_get_response_to_async_capable_middleware() -> None:
    class Both:
        async_capable = True

        def __init__(self, get_response: Handler) -> None:
            self.get_response = get_response

        async def __call__(self, request: Request) -> Response:
            response: Response = await self.get_response(request)
            response.add_header("X-Async", "1")
            return response

    chain = build_chain(async_handler, [Both, tracer("sync")], mode="async")
    request = Request()
    response = await chain(request)
    assert response.get_header("X-Async") == "1"
    assert request.state["trace"] == ["sync in", "handler", "sync out"]


def test_async_capable_middleware_returning_sync_callable_is_an_error() -> None:
    class Liar:
        async_capable = True

        def __init__(self, get_response: Handler) -> None:
            self.get_response = get_response

        def __call__(self, request: Request) -> Response:
            return Response()

    with pytest.raises(ConfigurationError, match="async_capable"):
        build_chain(async_handler, [Liar], mode="async")


def test_unknown_mode_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="mode"):
        build_chain(handler, [], mode="threads")  # type: ignore[arg-type]
