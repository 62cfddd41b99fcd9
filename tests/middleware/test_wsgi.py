"""The WSGI adapter and App, in process (no server)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from sessionware import EngineUnavailable
from sessionware.http._messages import Request, Response
from sessionware.http.middleware import SessionMiddleware as ProtocolSessionMiddleware
from sessionware.http.wsgi import WSGIApp, WSGISessionMiddleware, get_session
from sessionware.testing import MemoryEngine

from .wsgi_calls import call_wsgi, cookie_value

StartResponse = Callable[..., Any]


class ClosingBody:
    """An app iterable that records whether the server side closed it."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        self.closed = True


def counter_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    session = get_session(environ)
    session["n"] = session.get("n", 0) + 1
    start_response("200 OK", [("Content-Type", "text/plain"), ("Vary", "Accept-Encoding")])
    return [str(session["n"]).encode()]


def test_session_is_at_the_environ_key_and_counts(store_args: dict[str, Any]) -> None:
    app = WSGISessionMiddleware(counter_app, **store_args)
    first = call_wsgi(app)
    key = cookie_value(first.get_all("Set-Cookie")[0])
    second = call_wsgi(app, cookie=f"sessionid={key}")
    assert (first.body, second.body) == (b"1", b"2")


def test_vary_merges_with_the_app_vary_header(store_args: dict[str, Any]) -> None:
    result = call_wsgi(WSGISessionMiddleware(counter_app, **store_args))
    assert result.get_all("Vary") == ["Accept-Encoding, Cookie"]


def test_get_session_without_the_middleware_says_how_to_fix_it() -> None:
    with pytest.raises(LookupError, match="WSGISessionMiddleware"):
        get_session({})


def test_session_is_saved_before_the_real_start_response(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    app = WSGISessionMiddleware(counter_app, **store_args)
    stored_at_start: list[int] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        stored_at_start.append(len(engine.data))
        return lambda data: None

    list(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, start_response))
    assert stored_at_start == [1]


def test_app_iterable_close_is_honoured(store_args: dict[str, Any]) -> None:
    body = ClosingBody([b"a", b"b"])

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [])
        return body

    result = call_wsgi(WSGISessionMiddleware(app, **store_args))
    assert result.body == b"ab"
    assert body.closed


def test_lazy_start_response_in_a_generator_still_sets_the_cookie(
    store_args: dict[str, Any],
) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        get_session(environ)["n"] = 1
        start_response("200 OK", [])
        yield b"lazy"

    result = call_wsgi(WSGISessionMiddleware(app, **store_args))
    assert result.body == b"lazy"
    assert result.get_all("Set-Cookie")


def test_update_error_replaces_the_body_with_400_and_closes_the_app_iterable(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    app = WSGISessionMiddleware(counter_app, **store_args)
    key = cookie_value(call_wsgi(app).get_all("Set-Cookie")[0])
    body = ClosingBody([b"app body"])

    def racing(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        get_session(environ)["n"] = 5
        engine.delete(key)
        start_response("200 OK", [])
        return body

    result = call_wsgi(WSGISessionMiddleware(racing, **store_args), cookie=f"sessionid={key}")
    assert result.code == 400
    assert b"session ended" in result.body and b"app body" not in result.body
    assert body.closed
    assert key not in engine.data


def test_engine_unavailable_raised_by_the_app_answers_503(store_args: dict[str, Any]) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raise EngineUnavailable("down")

    result = call_wsgi(WSGISessionMiddleware(app, **store_args))
    assert result.code == 503


def test_wsgi_app_serves_a_protocol_handler_with_its_middleware(
    store_args: dict[str, Any],
) -> None:
    def handler(request: Request) -> Response:
        request.session["n"] = request.session.get("n", 0) + 1
        return Response(f"{request.method} {request.path} {request.session['n']}")

    app = WSGIApp(handler, middleware=[ProtocolSessionMiddleware(**store_args)])
    first = call_wsgi(app, path="/x")
    key = cookie_value(first.get_all("Set-Cookie")[0])
    second = call_wsgi(app, path="/x", cookie=f"sessionid={key}")
    assert (first.body, second.body) == (b"GET /x 1", b"GET /x 2")
    assert first.get_all("Content-Length") == ["8"]
