"""The redis engine behind sessionware's ASGI and WSGI middleware, in process.

The ASGI path must stay on the event loop: no ``asyncio.to_thread``, and the
engine's blocking client is never built. The outage policy is checked
against a port nothing listens on: 503 by default, an empty unsaved session
with ``on_unavailable="empty"``, never a 500.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest
import redis

import sessionware
from sessionware import SessionStore
from sessionware.http import asgi, wsgi
from sessionware.testing import ReferenceSerializer

UNAVAILABLE = b"The session store is unavailable right now. Please retry in a moment.\n"


def respond(session: SessionStore, path: str) -> bytes:
    if path == "/login":
        session["user"] = "alice"
    elif path == "/bump":
        session["n"] = session.get("n", 0) + 1
    return json.dumps({"user": session.get("user"), "n": session.get("n")}).encode()


async def asgi_routes(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = respond(scope["session"], scope["path"])
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def wsgi_routes(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = respond(wsgi.get_session(environ), environ["PATH_INFO"])
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


@pytest.fixture
def settings(redis_url: str, raw: redis.Redis) -> Iterator[dict[str, Any]]:
    prefix = f"swtest-mw-{uuid.uuid4().hex[:12]}:"
    yield {
        "engine": "redis",
        "url": redis_url,
        "prefix": prefix,
        "serializer_instance": ReferenceSerializer(),
    }
    for name in raw.scan_iter(match=f"{prefix}*"):
        raw.delete(name)


def _no_threads(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the ASGI middleware ran a Redis call in a thread")


async def test_asgi_never_blocks_the_loop_or_uses_a_thread(
    settings: dict[str, Any], raw: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = asgi.ASGISessionMiddleware(asgi_routes, **settings)
    rules = await app.prepare()  # made on a running loop: built in a worker thread, here
    monkeypatch.setattr(asyncio, "to_thread", _no_threads)
    engine = rules.store_class.engine
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/login")).json() == {"user": "alice", "n": None}
        for n in (1, 2, 3):
            assert (await client.get("/bump")).json() == {"user": "alice", "n": n}
        key = client.cookies["sessionid"]
    assert raw.exists(settings["prefix"] + key) == 1
    assert engine._sync is None, "the ASGI path built the blocking client"  # type: ignore[attr-defined]
    await engine.aclose()  # type: ignore[attr-defined]


def test_wsgi_uses_the_blocking_client(settings: dict[str, Any]) -> None:
    app = wsgi.WSGISessionMiddleware(wsgi_routes, **settings)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://test") as client:
        client.get("/login")
        assert client.get("/bump").json() == {"user": "alice", "n": 1}
    engine = app.rules.store_class.engine
    assert engine._sync is not None and not engine._loops  # type: ignore[attr-defined]
    engine.close()


# -- the outage policy -----------------------------------------------------------------------


def outage_settings(policy: str | None) -> dict[str, Any]:
    extra = {} if policy is None else {"on_unavailable": policy}
    return {
        "engine": "redis",
        "url": closed_port_url(),
        "serializer_instance": ReferenceSerializer(),
        **extra,
    }


COOKIE = {"sessionid": "a" * 32}


@pytest.mark.parametrize("cookies", [COOKIE, {}], ids=["with-cookie", "new-visitor"])
async def test_asgi_answers_503_by_default(cookies: dict[str, str]) -> None:
    app = asgi.ASGISessionMiddleware(asgi_routes, **outage_settings(None))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", cookies=cookies) as c:
        response = await c.get("/bump")
    assert response.status_code == 503
    assert response.content == UNAVAILABLE
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("cookies", [COOKIE, {}], ids=["with-cookie", "new-visitor"])
async def test_asgi_runs_with_an_empty_unsaved_session_when_configured(
    cookies: dict[str, str],
) -> None:
    app = asgi.ASGISessionMiddleware(asgi_routes, **outage_settings("empty"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", cookies=cookies) as c:
        response = await c.get("/bump")
    assert response.status_code == 200
    assert response.json() == {"user": None, "n": 1}
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("cookies", [COOKIE, {}], ids=["with-cookie", "new-visitor"])
@pytest.mark.parametrize("policy", [None, "empty"])
def test_wsgi_outage_policy(cookies: dict[str, str], policy: str | None) -> None:
    app = wsgi.WSGISessionMiddleware(wsgi_routes, **outage_settings(policy))
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://t", cookies=cookies) as client:
        response = client.get("/bump")
    if policy is None:
        assert (response.status_code, response.content) == (503, UNAVAILABLE)
    else:
        assert (response.status_code, response.json()) == (200, {"user": None, "n": 1})
    assert "set-cookie" not in response.headers


def test_session_store_outside_a_request_raises_engine_unavailable() -> None:
    store = sessionware.session_store(**outage_settings(None))
    session = store()
    session["a"] = 1
    with pytest.raises(sessionware.EngineUnavailable) as info:
        session.save()
    assert info.value.address == store.engine.address  # type: ignore[attr-defined]
