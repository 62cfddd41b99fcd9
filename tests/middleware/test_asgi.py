"""The ASGI adapter and App, in process (no server)."""

from __future__ import annotations

from typing import Any

from sessionware import Capabilities, EngineUnavailable
from sessionware.http._messages import Request, Response
from sessionware.http.asgi import ASGIApp, ASGISessionMiddleware
from sessionware.http.middleware import SessionMiddleware as ProtocolSessionMiddleware
from sessionware.testing import MemoryEngine, ReferenceSerializer

Message = dict[str, Any]


def http_scope(cookie: str | None = None) -> dict[str, Any]:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    return {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": headers}


async def call(app: Any, scope: dict[str, Any], body: bytes = b"") -> list[Message]:
    sent: list[Message] = []
    incoming = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def headers_of(messages: list[Message]) -> dict[bytes, list[bytes]]:
    found: dict[bytes, list[bytes]] = {}
    for name, value in messages[0]["headers"]:
        found.setdefault(name.lower(), []).append(value)
    return found


def counting_app(on_start: list[Any] | None = None) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        session = scope["session"]
        if on_start is not None:
            on_start.append(list(session.engine.calls))
        session["n"] = session.get("n", 0) + 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(session["n"]).encode()})

    return app


def key_from(messages: list[Message]) -> str:
    value = headers_of(messages)[b"set-cookie"][0].decode()
    return value.split(";")[0].split("=", 1)[1]


async def test_set_cookie_and_vary_are_added_to_the_response_start(
    store_args: dict[str, Any],
) -> None:
    messages = await call(ASGISessionMiddleware(counting_app(), **store_args), http_scope())
    headers = headers_of(messages)
    assert headers[b"vary"] == [b"Cookie"]
    assert headers[b"set-cookie"][0].startswith(b"sessionid=")
    assert messages[1]["body"] == b"1"


async def test_lifespan_scope_passes_through_without_a_session(store_args: dict[str, Any]) -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(scope))
        seen.append(await receive())  # the start-up message reaches the app untouched

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    await ASGISessionMiddleware(app, **store_args)({"type": "lifespan"}, receive, None)  # type: ignore[arg-type]
    assert seen == [{"type": "lifespan"}, {"type": "lifespan.startup"}]


async def test_websocket_gets_a_session_and_saves_changes_without_a_cookie(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    middleware = ASGISessionMiddleware(counting_app(), **store_args)
    key = key_from(await call(middleware, http_scope()))
    sent: list[Message] = []

    async def ws_app(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["ws"] = True
        await send({"type": "websocket.close"})

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {**http_scope(f"sessionid={key}"), "type": "websocket"}
    await ASGISessionMiddleware(ws_app, **store_args)(scope, None, send)  # type: ignore[arg-type]
    assert sent == [{"type": "websocket.close"}]
    assert b'"ws":true' in engine.data[key][0]


async def test_native_async_engine_is_preloaded_before_the_app_runs(
    serializer: ReferenceSerializer,
) -> None:
    engine = MemoryEngine(capabilities=Capabilities(native_async=True))
    starts: list[Any] = []
    middleware = ASGISessionMiddleware(
        counting_app(starts), engine_instance=engine, serializer_instance=serializer
    )
    key = key_from(await call(middleware, http_scope()))
    assert starts[0] == []  # no cookie: nothing preloaded
    engine.calls.clear()
    messages = await call(middleware, http_scope(f"sessionid={key}"))
    assert starts[1] == ["aload", "load"]
    assert messages[1]["body"] == b"2"
    assert "asave" in engine.calls


async def test_app_that_never_starts_a_response_gets_nothing_saved(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["n"] = 1

    assert await call(ASGISessionMiddleware(app, **store_args), http_scope()) == []
    assert engine.data == {}


async def test_engine_unavailable_raised_by_the_app_answers_503(store_args: dict[str, Any]) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise EngineUnavailable("down")

    messages = await call(ASGISessionMiddleware(app, **store_args), http_scope())
    assert messages[0]["status"] == 503
    assert b"unavailable" in messages[1]["body"]


async def test_asgi_app_reads_the_body_and_runs_a_sync_handler(store_args: dict[str, Any]) -> None:
    def handler(request: Request) -> Response:
        request.session["n"] = 1
        return Response(b"got " + request.body)

    app = ASGIApp(handler, middleware=[ProtocolSessionMiddleware(**store_args)])
    messages = await call(app, {**http_scope(), "method": "POST"}, body=b"payload")
    assert messages[0]["status"] == 200
    assert messages[1]["body"] == b"got payload"
    assert b"set-cookie" in headers_of(messages)


async def test_asgi_app_runs_an_async_handler(store_args: dict[str, Any]) -> None:
    async def handler(request: Request) -> Response:
        return Response("async")

    messages = await call(ASGIApp(handler), http_scope())
    assert messages[1]["body"] == b"async"


async def test_asgi_app_answers_lifespan() -> None:
    sent: list[Message] = []
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    await ASGIApp(lambda r: Response())({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
