"""Django's session response rules, through the protocol SessionMiddleware (in process)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import pytest

import sessionware
from sessionware.http._messages import Request, Response
from sessionware.http.middleware import SessionMiddleware, build_chain
from sessionware.testing import MemoryEngine, ReferenceSerializer, registered

from .wsgi_calls import cookie_value

View = Callable[[Any], Any]


def run(
    view: View,
    store_args: dict[str, Any],
    cookie: str | None = None,
    status: int = 200,
    **settings: Any,
) -> Response:
    """One request through SessionMiddleware; ``view(session)`` runs inside."""

    def handler(request: Request) -> Response:
        if view is not untouched:  # asking for request.session loads it
            view(request.session)
        return Response("ok", status=status)

    chain = build_chain(handler, [SessionMiddleware(**store_args, **settings)])
    request = Request(headers=[("Cookie", cookie)] if cookie else [])
    response: Response = chain(request)
    return response


def untouched(session: Any) -> None:
    return None


def saved_key(engine: MemoryEngine, **data: Any) -> str:
    store = sessionware.session_store(
        engine_instance=engine, serializer_instance=ReferenceSerializer()
    )
    session = store()
    session.update(data)
    session.save()
    assert session.session_key is not None
    engine.calls.clear()
    return session.session_key


def test_no_cookie_and_untouched_session_does_no_io_and_sets_nothing(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    response = run(untouched, store_args)
    assert response.get_all("Set-Cookie") == []
    assert response.get_header("Vary") is None
    assert engine.calls == []


def test_cookie_but_untouched_session_does_no_io_and_sets_nothing(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    key = saved_key(engine, n=1)
    response = run(untouched, store_args, cookie=f"sessionid={key}")
    assert response.get_all("Set-Cookie") == []
    assert response.get_header("Vary") is None
    assert engine.calls == []


def test_read_session_adds_vary_cookie_without_set_cookie(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    key = saved_key(engine, n=1)
    response = run(lambda s: s.get("n"), store_args, cookie=f"sessionid={key}")
    assert response.get_header("Vary") == "Cookie"
    assert response.get_all("Set-Cookie") == []


def test_modified_session_is_saved_and_cookie_set(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    response = run(lambda s: s.__setitem__("n", 1), store_args)
    (header,) = response.get_all("Set-Cookie")
    key = cookie_value(header)
    assert key in engine.data
    assert "; Max-Age=1209600" in header
    assert "; Path=/; HttpOnly; SameSite=Lax" in header
    expires = parsedate_to_datetime(header.split("Expires=")[1].split(";")[0]).timestamp()
    assert abs(expires - (time.time() + 1209600)) < 5
    assert response.get_header("Vary") == "Cookie"


def test_cookie_carries_every_configured_attribute(store_args: dict[str, Any]) -> None:
    response = run(
        lambda s: s.__setitem__("n", 1),
        store_args,
        cookie_name="sid",
        cookie_domain="example.com",
        cookie_path="/app",
        cookie_secure=True,
        cookie_httponly=False,
        cookie_samesite="Strict",
        cookie_partitioned=True,
    )
    (header,) = response.get_all("Set-Cookie")
    assert header.startswith("sid=")
    assert header.endswith("; Domain=example.com; Path=/app; Secure; SameSite=Strict; Partitioned")


def test_expire_at_browser_close_sends_no_max_age_or_expires(store_args: dict[str, Any]) -> None:
    response = run(lambda s: s.__setitem__("n", 1), store_args, expire_at_browser_close=True)
    (header,) = response.get_all("Set-Cookie")
    assert "Max-Age" not in header and "Expires" not in header


def test_set_expiry_sets_the_cookie_max_age(store_args: dict[str, Any]) -> None:
    def view(session: Any) -> None:
        session["n"] = 1
        session.set_expiry(60)

    response = run(view, store_args)
    (header,) = response.get_all("Set-Cookie")
    assert "; Max-Age=60" in header


def test_no_save_and_no_cookie_on_server_error(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    response = run(lambda s: s.__setitem__("n", 1), store_args, status=500)
    assert response.get_all("Set-Cookie") == []
    assert engine.data == {}


def test_emptied_session_deletes_the_cookie_and_varies(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    key = saved_key(engine, n=1)
    response = run(lambda s: s.flush(), store_args, cookie=f"sessionid={key}")
    (header,) = response.get_all("Set-Cookie")
    assert header.startswith('sessionid=""') and "Max-Age=0" in header
    assert response.get_header("Vary") == "Cookie"
    assert key not in engine.data


def test_garbage_cookie_is_a_fresh_session_and_is_cleared_without_io(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    seen = []
    response = run(lambda s: seen.append(dict(s)), store_args, cookie="sessionid=../../etc")
    assert seen == [{}]
    assert response.status == 200
    assert "Max-Age=0" in response.get_all("Set-Cookie")[0]
    assert "load" not in engine.calls


def test_nested_mutation_is_saved(engine: MemoryEngine, store_args: dict[str, Any]) -> None:
    key = saved_key(engine, cart={"items": []})
    run(lambda s: s["cart"]["items"].append("apple"), store_args, cookie=f"sessionid={key}")
    assert b"apple" in engine.data[key][0]


def test_save_every_request_saves_an_unmodified_session(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    key = saved_key(engine, n=1)
    response = run(untouched, store_args, cookie=f"sessionid={key}", save_every_request=True)
    (header,) = response.get_all("Set-Cookie")
    assert cookie_value(header) == key
    assert "save_versioned" in engine.calls  # the kit's engine is versioned


def test_cycle_key_changes_the_cookie_and_keeps_the_data(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    key = saved_key(engine, user="ann")
    response = run(lambda s: s.cycle_key(), store_args, cookie=f"sessionid={key}")
    new = cookie_value(response.get_all("Set-Cookie")[0])
    assert new != key
    assert key not in engine.data
    assert b"ann" in engine.data[new][0]


def test_session_deleted_meanwhile_answers_400_and_is_not_resurrected(
    engine: MemoryEngine, store_args: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    key = saved_key(engine, n=1)

    def logged_out_elsewhere(session: Any) -> None:
        session["n"] += 1
        engine.delete(key)  # another request's logout, while this one runs

    with caplog.at_level(logging.WARNING, logger="sessionware.middleware"):
        response = run(logged_out_elsewhere, store_args, cookie=f"sessionid={key}")
    assert response.status == 400
    assert b"session ended" in response.body
    assert b"Traceback" not in response.body
    assert response.get_all("Set-Cookie") == []
    assert engine.data == {}
    assert any(r.levelno == logging.WARNING for r in caplog.records)


@pytest.fixture
def down_args(down_engine: MemoryEngine, serializer: ReferenceSerializer) -> dict[str, Any]:
    return {"engine_instance": down_engine, "serializer_instance": serializer}


def test_engine_unavailable_on_load_answers_503_by_default(
    down_engine: MemoryEngine, down_args: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    key = saved_key(down_engine, n=1)
    down_engine.down.add("load")
    with caplog.at_level(logging.ERROR, logger="sessionware.middleware"):
        response = run(lambda s: s.get("n"), down_args, cookie=f"sessionid={key}")
    assert response.status == 503
    assert b"unavailable" in response.body
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_engine_unavailable_on_load_with_empty_policy_runs_with_unsaved_empty_session(
    down_engine: MemoryEngine, down_args: dict[str, Any]
) -> None:
    key = saved_key(down_engine, n=1)
    down_engine.down.add("load")
    seen = []

    def view(session: Any) -> None:
        seen.append(dict(session))
        session["n"] = 99

    response = run(view, down_args, cookie=f"sessionid={key}", on_unavailable="empty")
    assert response.status == 200
    assert seen == [{}]
    assert response.get_all("Set-Cookie") == []  # neither saved nor deleted
    assert "save" not in down_engine.calls
    assert b"99" not in down_engine.data[key][0]


def test_engine_unavailable_on_save_answers_503_by_default(
    down_engine: MemoryEngine, down_args: dict[str, Any]
) -> None:
    down_engine.down.add("save")
    response = run(lambda s: s.__setitem__("n", 1), down_args)
    assert response.status == 503
    assert response.get_all("Set-Cookie") == []


def test_engine_unavailable_on_save_with_empty_policy_keeps_the_response(
    down_engine: MemoryEngine, down_args: dict[str, Any]
) -> None:
    down_engine.down.add("save")
    response = run(lambda s: s.__setitem__("n", 1), down_args, on_unavailable="empty")
    assert response.status == 200
    assert response.get_all("Set-Cookie") == []


class CountingEngine(MemoryEngine):
    """The kit's engine with an option of its own (``label``), and a record of every build.

    A subclass because the test is about how the middleware builds an engine
    from its name and extra settings, which the shared engine has no record of.
    """

    name: ClassVar[str] = "memory_counted"
    built: ClassVar[list[str]] = []

    def __init__(self, label: str = "") -> None:
        super().__init__()
        CountingEngine.built.append(label)


@pytest.fixture
def counted() -> Iterator[type[CountingEngine]]:
    CountingEngine.built.clear()
    with registered(CountingEngine):
        yield CountingEngine


def test_engine_is_built_once_per_middleware_with_extra_settings_as_engine_options(
    counted: type[CountingEngine], serializer: ReferenceSerializer
) -> None:
    def handler(request: Request) -> Response:
        request.session["n"] = 1
        return Response()

    middleware = SessionMiddleware(
        engine="memory_counted", label="x", serializer_instance=serializer, cookie_name="sid"
    )
    chain = build_chain(handler, [middleware])
    for _ in range(3):
        assert chain(Request()).get_all("Set-Cookie")[0].startswith("sid=")
    assert counted.built == ["x"]


async def test_async_chain_saves_with_the_async_session_api(
    engine: MemoryEngine, store_args: dict[str, Any]
) -> None:
    async def handler(request: Request) -> Response:
        await request.session.aset("n", 1)
        return Response()

    chain = build_chain(handler, [SessionMiddleware(**store_args)], mode="async")
    response = await chain(Request())
    key = cookie_value(response.get_all("Set-Cookie")[0])
    assert key in engine.data


def test_listing_the_class_instead_of_an_instance_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="not the class"):
        build_chain(lambda r: Response(), [SessionMiddleware])  # type: ignore[list-item]
