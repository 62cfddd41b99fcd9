"""The cookie itself: size limit, deletion on log-out and the round trip, through the middleware."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

import sessionware
from sessionware.http.asgi import ASGISessionMiddleware
from sessionware.http.wsgi import WSGISessionMiddleware, get_session
from sessionware.testing import ReferenceSerializer, run_async

from ._keys import SECRET
from .wsgi_client import call

StoreFactory = Callable[..., type[sessionware.SessionStore]]
COOKIE_SAFE = re.compile(r"[A-Za-z0-9_.-]+")


def incompressible(chars: int) -> str:
    """Random text that zlib cannot shrink enough to matter."""
    return base64.b64encode(os.urandom(chars)).decode()[:chars]


@pytest.mark.parametrize("asynchronous", [False, True])
def test_too_large_session_raises_cookie_too_large_with_size_and_advice(
    make_store: StoreFactory, asynchronous: bool
) -> None:
    Store = make_store()
    session = Store()
    session["blob"] = incompressible(6000)
    with pytest.raises(sessionware.CookieTooLarge) as info:
        if asynchronous:
            run_async(session.asave())
        else:
            session.save()
    assert info.value.size > 4096 and info.value.limit == 4096
    assert str(info.value.size) in str(info.value)
    assert "server-side engine" in str(info.value)
    assert session.session_key is None  # nothing pretends to have been saved


def test_compressible_large_session_fits(make_store: StoreFactory, encrypt: bool) -> None:
    """Automatic compression lets repetitive signed data through; encrypted needs ``compress``."""
    Store = make_store(compress=True) if encrypt else make_store()
    session = Store()
    session["blob"] = "abc" * 3000
    session.save()
    assert session.session_key is not None and len(session.session_key) < 1000
    assert Store(session.session_key)["blob"] == "abc" * 3000


def test_session_just_under_the_limit_is_accepted(make_store: StoreFactory) -> None:
    Store = make_store(compress=False)
    session = Store()
    session["blob"] = ""
    session.save()
    assert session.session_key is not None
    room = 4096 - session.cookie_size(session.session_key)
    session["blob"] = incompressible(room * 3 // 4 - 2)  # base64 grows data by 4/3
    session.save()
    assert session.cookie_size(session.session_key) <= 4096
    assert Store(session.session_key)["blob"] == session["blob"]


def app_storing(blob: str) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        get_session(environ)["blob"] = blob
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


def middleware(app: Any, encrypt: bool, **settings: Any) -> WSGISessionMiddleware:
    return WSGISessionMiddleware(
        app,
        engine="signed_cookies",
        secret_key=SECRET,
        encrypt=encrypt,
        serializer_instance=ReferenceSerializer(),
        **settings,
    )


def test_middleware_surfaces_cookie_too_large_instead_of_sending_it(encrypt: bool) -> None:
    """The error reaches the server (a 500 there), and no cookie the browser would drop is sent."""
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append((status, headers))
        return lambda data: None

    app = middleware(app_storing(incompressible(8000)), encrypt)
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    with pytest.raises(sessionware.CookieTooLarge):
        app(environ, start_response)
    assert started == []


def test_middleware_sends_the_data_in_a_cookie_safe_value(encrypt: bool) -> None:
    app = middleware(app_storing('h\u00e9llo; "world", <b>'), encrypt)
    result = call(app)
    value = result.cookie()
    assert value is not None and COOKIE_SAFE.fullmatch(value)
    assert len(result.set_cookies()[0]) <= 4096
    assert value.startswith("e1." if encrypt else "s1.")


def counter(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    session = get_session(environ)
    if environ.get("PATH_INFO") == "/logout":
        session.flush()
    else:
        session["n"] = session.get("n", 0) + 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(session.get("n", 0)).encode()]


def test_data_travels_in_the_cookie_across_requests(encrypt: bool) -> None:
    app = middleware(counter, encrypt)
    first = call(app)
    second = call(app, cookie=first.cookie())
    assert (first.body, second.body) == (b"1", b"2")
    assert second.cookie() != first.cookie()
    # A second app with the same secret (another process or machine) reads it too.
    assert call(middleware(counter, encrypt), cookie=second.cookie()).body == b"3"


def test_flush_deletes_the_cookie(encrypt: bool) -> None:
    def logout(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["PATH_INFO"] = "/logout"
        return counter(environ, start_response)

    value = call(middleware(counter, encrypt)).cookie()
    result = call(middleware(logout, encrypt), cookie=value)
    assert result.body == b"0"
    [header] = result.set_cookies()
    assert header.startswith('sessionid=""')
    assert "Max-Age=0" in header


def test_tampered_cookie_through_the_middleware_starts_a_new_session(encrypt: bool) -> None:
    app = middleware(counter, encrypt)
    value = call(app).cookie()
    assert value is not None
    forged = value[:-5] + ("AAAAA" if not value.endswith("AAAAA") else "BBBBB")
    result = call(app, cookie=forged)
    assert result.status.startswith("200")
    assert result.body == b"1"


@pytest.mark.parametrize(
    "cookie", ["", "garbage", "s1." + "A" * 5000, "e1.%00%ff", "\u00e9\u00e9", "x" * 20_000]
)
def test_hostile_cookie_through_the_middleware_is_a_new_session(encrypt: bool, cookie: str) -> None:
    result = call(middleware(counter, encrypt), cookie=cookie)
    assert result.status.startswith("200") and result.body == b"1"


def test_asgi_middleware_surfaces_cookie_too_large_instead_of_sending_it(encrypt: bool) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["session"]["blob"] = incompressible(8000)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    wrapped = ASGISessionMiddleware(
        app,
        engine="signed_cookies",
        secret_key=SECRET,
        encrypt=encrypt,
        serializer_instance=ReferenceSerializer(),
    )
    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    with pytest.raises(sessionware.CookieTooLarge):
        run_async(wrapped(scope, receive, send))
    assert sent == []
