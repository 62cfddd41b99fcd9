"""Two overlapping requests on one session: both requests' changes survive (issue 12).

A real race, made deterministic: request A loads the session and waits while
request B changes another key and saves; then A changes its key and saves.
Without versioned saves A's save would overwrite B's key.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sessionware.http.asgi import ASGISessionMiddleware
from sessionware.http.wsgi import WSGISessionMiddleware

from .test_asgi import call, http_scope, key_from
from .wsgi_calls import call_wsgi, cookie_value


def test_wsgi_requests_changing_different_keys_both_survive(tmp_path: Path) -> None:
    a_loaded, b_done = threading.Event(), threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        session = environ["sessionware.session"]
        path = environ["PATH_INFO"]
        if path == "/a":
            session.get("a")  # loaded before B's save
            a_loaded.set()
            assert b_done.wait(10)
            session["a"] = 1
        elif path == "/b":
            session["b"] = 1
        else:
            session["start"] = True
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(sorted(session.items())).encode()]

    wrapped = WSGISessionMiddleware(app, engine="db", path=str(tmp_path / "s.db"))
    first = call_wsgi(wrapped, "/")
    cookie = f"sessionid={cookie_value(first.get_all('Set-Cookie')[0])}"
    results: dict[str, Any] = {}
    racer = threading.Thread(target=lambda: results.update(a=call_wsgi(wrapped, "/a", cookie)))
    racer.start()
    assert a_loaded.wait(10)
    results["b"] = call_wsgi(wrapped, "/b", cookie)
    b_done.set()
    racer.join(10)
    assert results["a"].code == results["b"].code == 200
    store = wrapped.rules.store_class(cookie.split("=", 1)[1])
    assert store.load() == {"start": True, "a": 1, "b": 1}


async def test_asgi_requests_changing_different_keys_both_survive(tmp_path: Path) -> None:
    a_loaded, b_done = asyncio.Event(), asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        session = scope["session"]
        path = scope["path"]
        if path == "/a":
            await session.aget("a")
            a_loaded.set()
            await b_done.wait()
            session["a"] = 1
        elif path == "/b":
            await session.aset("b", 1)
        else:
            await session.aset("start", True)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    wrapped = ASGISessionMiddleware(app, engine="db", path=str(tmp_path / "s.db"))
    key = key_from(await call(wrapped, http_scope()))
    cookie = f"sessionid={key}"
    racer = asyncio.create_task(call(wrapped, {**http_scope(cookie), "path": "/a"}))
    await a_loaded.wait()
    b = await call(wrapped, {**http_scope(cookie), "path": "/b"})
    b_done.set()
    a = await racer
    assert a[0]["status"] == b[0]["status"] == 200
    assert await wrapped.rules.store_class(key).aload() == {"start": True, "a": 1, "b": 1}
