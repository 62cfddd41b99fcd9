"""What a failure never does, at the middleware: a 500 from a raw driver error, a log-out
that pretends, a stored value that breaks the next save, a blocking call hidden on the loop."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import warnings
from typing import Any, ClassVar

import pytest

import sessionware
from sessionware import BlockingCallWarning, Capabilities, EngineUnavailable
from sessionware.http import asgi, wsgi
from sessionware.http._rules import UNAVAILABLE_BODY
from sessionware.testing import MemoryEngine, ReferenceSerializer

from .wsgi_calls import call_wsgi


class DriverErrorEngine(MemoryEngine):
    """A third-party engine that lets its driver's own exception escape.

    A subclass of the kit's engine because it must break the protocol (a
    ``ConnectionError`` instead of ``EngineUnavailable``), which ``down`` never does.
    """

    name: ClassVar[str] = "leaky"
    capabilities: ClassVar[Capabilities] = Capabilities()  # a network store: off the loop

    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    def load(self, key: str) -> bytes | None:
        if self.broken:
            raise ConnectionError("Connection refused (driver)")
        return super().load(key)

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        if self.broken:
            raise ConnectionError("Connection refused (driver)")
        return super().save(key, data, expires_at, must_create)

    def delete(self, key: str) -> None:
        if self.broken:
            raise ConnectionError("Connection refused (driver)")
        super().delete(key)


def stored(engine: MemoryEngine, **data: Any) -> str:
    store = sessionware.session_store(
        engine_instance=engine, serializer_instance=ReferenceSerializer()
    )
    session = store()
    session.update(data)
    session.save()
    assert session.session_key is not None
    return session.session_key


async def astored(engine: MemoryEngine, **data: Any) -> str:
    """:func:`stored`, from a coroutine (its blocking calls run in a thread)."""
    return await asyncio.to_thread(stored, engine, **data)


def wsgi_app(engine: MemoryEngine, view: Any, **settings: Any) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = view(wsgi.get_session(environ))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(body).encode()]

    return wsgi.WSGISessionMiddleware(
        app, engine_instance=engine, serializer_instance=ReferenceSerializer(), **settings
    )


async def call_asgi(app: Any, cookie: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    found = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], found, b"".join(m.get("body", b"") for m in sent[1:])


def asgi_app(engine: MemoryEngine, view: Any, **settings: Any) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = await view(scope["session"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(body).encode()})

    return asgi.ASGISessionMiddleware(
        app, engine_instance=engine, serializer_instance=ReferenceSerializer(), **settings
    )


# -- a raw driver error ------------------------------------------------------------


@pytest.mark.parametrize("policy", ["error", "empty"])
def test_a_raw_driver_error_is_never_a_500_under_wsgi(policy: str) -> None:
    engine = DriverErrorEngine()
    key = stored(engine, user="alice")
    engine.broken = True
    app = wsgi_app(engine, lambda s: s.get("user"), on_unavailable=policy)
    result = call_wsgi(app, cookie=f"sessionid={key}")
    if policy == "error":
        assert (result.code, result.body) == (503, UNAVAILABLE_BODY)
    else:
        assert (result.code, result.body) == (200, b"None")


@pytest.mark.parametrize("policy", ["error", "empty"])
async def test_a_raw_driver_error_is_never_a_500_under_asgi(policy: str) -> None:
    engine = DriverErrorEngine()
    key = await astored(engine, user="alice")
    engine.broken = True

    async def view(session: Any) -> Any:
        return session.get("user")

    status, _, body = await call_asgi(
        asgi_app(engine, view, on_unavailable=policy), f"sessionid={key}"
    )
    assert (status, body) == ((503, UNAVAILABLE_BODY) if policy == "error" else (200, b"None"))


def test_the_driver_error_is_kept_as_the_cause() -> None:
    engine = DriverErrorEngine()
    key = stored(engine, user="alice")
    engine.broken = True
    store = sessionware.session_store(
        engine_instance=engine, serializer_instance=ReferenceSerializer()
    )
    with pytest.raises(EngineUnavailable, match="ConnectionError") as caught:
        store(key).load()
    assert isinstance(caught.value.__cause__, ConnectionError)


# -- a log-out during an outage ------------------------------------------------------


@pytest.mark.parametrize("policy", ["error", "empty"])
def test_a_log_out_during_an_outage_never_answers_success_under_wsgi(policy: str) -> None:
    engine = DriverErrorEngine()
    key = stored(engine, user="alice")
    engine.broken = True
    result = call_wsgi(
        wsgi_app(engine, lambda s: s.flush(), on_unavailable=policy), cookie=f"sessionid={key}"
    )
    assert result.code == 503
    assert result.get_all("Set-Cookie") == []  # the cookie stays: the session may still exist
    engine.broken = False
    assert engine.load(key) is not None  # nothing was deleted, and nothing claimed it was


@pytest.mark.parametrize("policy", ["error", "empty"])
async def test_a_log_out_during_an_outage_never_answers_success_under_asgi(policy: str) -> None:
    engine = DriverErrorEngine()
    key = await astored(engine, user="alice")
    engine.broken = True

    async def view(session: Any) -> str:
        await session.aflush()
        return "bye"

    status, headers, _ = await call_asgi(
        asgi_app(engine, view, on_unavailable=policy), f"sessionid={key}"
    )
    assert status == 503 and "set-cookie" not in headers


async def test_a_log_out_after_the_store_came_back_deletes_the_session() -> None:
    engine = DriverErrorEngine()
    key = await astored(engine, user="alice")
    engine.broken = True

    async def view(session: Any) -> str:
        engine.broken = False  # the store answers again before the log-out
        await session.aflush()
        return "bye"

    status, headers, _ = await call_asgi(
        asgi_app(engine, view, on_unavailable="empty"), f"sessionid={key}"
    )
    assert status == 200 and "Max-Age=0" in headers["set-cookie"]
    assert engine.load(key) is None


def test_a_log_in_during_an_outage_never_keeps_the_old_key() -> None:
    engine = DriverErrorEngine()
    key = stored(engine, user="alice")
    engine.broken = True
    result = call_wsgi(
        wsgi_app(engine, lambda s: s.cycle_key(), on_unavailable="empty"),
        cookie=f"sessionid={key}",
    )
    assert result.code == 503


def test_an_app_500_after_a_storage_failure_is_a_503() -> None:
    engine = DriverErrorEngine()
    key = stored(engine, user="alice")

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        session = wsgi.get_session(environ)
        engine.broken = True
        try:
            session.flush()
        except EngineUnavailable:  # a framework turned it into its own error page
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"Internal Server Error"]
        start_response("200 OK", [])
        return [b"ok"]

    wrapped = wsgi.WSGISessionMiddleware(
        app, engine_instance=engine, serializer_instance=ReferenceSerializer()
    )
    assert call_wsgi(wrapped, cookie=f"sessionid={key}").code == 503


# -- stored data that loads but could not be saved again ---------------------------


@pytest.mark.parametrize(
    "expiry",
    [
        "2030-01-01T00:00:00",  # naive: no offset
        10**30,  # an age too large for a date
        -5,
        1.5,
        True,
        "not a date",
        ["2030"],
    ],
)
def test_an_unusable_stored_expiry_is_judged_broken_at_load(
    expiry: object, caplog: pytest.LogCaptureFixture
) -> None:
    engine = MemoryEngine()
    key = stored(engine, user="alice")
    engine.save(
        key, json.dumps({"user": "alice", "_session_expiry": expiry}).encode(), time.time() + 60
    )
    store = sessionware.session_store(
        engine_instance=engine, serializer_instance=ReferenceSerializer()
    )
    session = store(key)
    with caplog.at_level(logging.WARNING, logger="sessionware.security"):
        assert dict(session.items()) == {}
    assert "_session_expiry" in caplog.text
    session["user"] = "bob"
    session.save()  # the next write works: a new session, never a 500
    assert session.session_key != key


def test_set_expiry_refuses_an_age_no_date_can_hold() -> None:
    store = sessionware.session_store(
        engine_instance=MemoryEngine(), serializer_instance=ReferenceSerializer()
    )
    with pytest.raises(ValueError, match="age from 0"):
        store().set_expiry(10**30)


def test_a_stored_aware_expiry_still_loads() -> None:
    engine = MemoryEngine()
    store = sessionware.session_store(
        engine_instance=engine, serializer_instance=ReferenceSerializer()
    )
    session = store()
    session.set_expiry(sessionware._session._utcnow().replace(year=2099))
    session["user"] = "alice"
    session.save()
    again = store(session.session_key)
    assert again["user"] == "alice"
    assert again.get_expiry_date().year == 2099


# -- blocking calls on the loop -----------------------------------------------------


def network_store() -> type[sessionware.SessionStore]:
    return sessionware.session_store(
        engine_instance=DriverErrorEngine(), serializer_instance=ReferenceSerializer()
    )


async def test_a_sync_storage_call_on_the_loop_warns_with_the_async_twin() -> None:
    session = network_store()()
    session["a"] = 1
    with pytest.warns(BlockingCallWarning, match=r"await session\.aload\(\), asave\(\)"):
        session.save()


async def test_the_async_twins_do_not_warn() -> None:
    session = network_store()()
    session["a"] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await session.asave()
        await session.acycle_key()
        await session.aflush()


def test_sync_calls_off_the_loop_do_not_warn() -> None:
    session = network_store()()
    session["a"] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session.save()
        session.cycle_key()
        session.flush()


async def test_engines_that_never_block_do_not_warn() -> None:
    session = sessionware.session_store(
        engine_instance=MemoryEngine(), serializer_instance=ReferenceSerializer()
    )()
    session["a"] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session.save()


async def test_the_warning_points_at_the_callers_line() -> None:
    session = network_store()()
    session["a"] = 1
    with pytest.warns(BlockingCallWarning) as record:
        session.save()
    assert record[0].filename == __file__


async def test_disk_engines_run_off_the_loop_under_asgi() -> None:
    threads: list[str] = []

    # A subclass, not MemoryEngine(capabilities=...): the test records which thread loads.
    class DiskLikeEngine(MemoryEngine):
        name: ClassVar[str] = "disklike"
        capabilities: ClassVar[Capabilities] = Capabilities(local=True)  # not inline_async

        def load(self, key: str) -> bytes | None:
            import threading

            threads.append(threading.current_thread().name)
            return super().load(key)

    engine = DiskLikeEngine()
    key = await astored(engine, user="alice")
    threads.clear()

    async def view(session: Any) -> Any:
        return session["user"]

    status, _, body = await call_asgi(asgi_app(engine, view), f"sessionid={key}")
    assert (status, body) == (200, b"alice")
    assert threads and all(name != "MainThread" for name in threads)
    assert asyncio.get_running_loop() is not None
