"""Fuzz properties of every engine's key validation, and of sessions through the public API.

Key validation (``is_valid_key``) is total and exact: any object gets a bool,
server-side engines accept exactly ``[a-z0-9]{32,128}``, and a key they
refuse is absent (``load`` ``None``, ``exists`` False, ``delete`` a no-op,
``save`` :class:`~sessionware.InvalidSessionKey`) without touching storage.
A session saved through :class:`~sessionware.SessionStore` on a real engine
loads back identical; hostile Cookie headers through the WSGI and ASGI
middleware never produce a 5xx, and an edited cookie never continues the
session it was made from.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

import sessionware
from sessionware import (
    CookieTooLarge,
    Engine,
    InvalidSessionKey,
    SerializationError,
    SessionStore,
    new_session_key,
)
from sessionware.http import asgi as sw_asgi
from sessionware.http import wsgi as sw_wsgi
from sessionware.http._cookie_parsing import parse_cookies
from sessionware.testing import assert_identical

from ..e2e.redis_server import ping
from ._settings import fuzz
from ._strategies import (
    B64_ALPHABET,
    Edit,
    edits,
    hostile_text,
    session_data,
    strong_secret,
    tamper,
)

SECRET = strong_secret()
SERVER_KEY = re.compile(r"[a-z0-9]{32,128}")
REDIS = ("127.0.0.1", 6379)
_TMP = Path(tempfile.mkdtemp(prefix="sessionware-fuzz-"))
_PREFIX = f"sessionware-fuzz-{os.getpid()}:"


def _engines() -> dict[str, Engine]:
    (_TMP / "files").mkdir(exist_ok=True)
    engines: dict[str, Engine] = {
        "db": sessionware.get_engine("db", path=str(_TMP / "sessions.sqlite3")),
        "file": sessionware.get_engine("file", path=str(_TMP / "files")),
        "cache": sessionware.get_engine("cache"),
        "signed_cookies": sessionware.get_engine("signed_cookies", secret_key=SECRET),
        "signed_cookies-e1": sessionware.get_engine(
            "signed_cookies", secret_key=SECRET, encrypt=True
        ),
    }
    if ping(*REDIS) or os.environ.get("CI"):  # CI must have Redis: a failure, not a skip
        engines["redis"] = sessionware.get_engine(
            "redis", host=REDIS[0], port=REDIS[1], prefix=_PREFIX
        )
    return engines


ENGINES = _engines()
SERVER_SIDE = [n for n, e in ENGINES.items() if e.capabilities.server_side]


@pytest.fixture(scope="module", autouse=True)
def _stores_left_clean() -> Iterator[None]:
    yield
    for engine in ENGINES.values():
        engine.close()
    if "redis" in ENGINES:
        import redis

        client = redis.Redis(*REDIS)
        try:
            stale = list(client.scan_iter(match=_PREFIX + "*", count=1000))
            if stale:
                client.delete(*stale)
        finally:
            client.close()


def _stored() -> dict[str, int]:
    """How many sessions each server-side store holds (sessions saved by the tests excluded)."""
    counts = {"file": len([n for n in os.listdir(_TMP / "files") if not n.startswith(".")])}
    with sqlite3.connect(_TMP / "sessions.sqlite3") as db:
        counts["db"] = db.execute("SELECT count(*) FROM sessionware_session").fetchone()[0]
    return counts


_near_keys = st.builds(
    lambda key, at, char: key[:at] + char + key[at + 1 :],
    st.builds(lambda n: (new_session_key() * 5)[:n], st.integers(30, 130)),
    st.integers(0, 40),
    st.sampled_from(["A", "/", ".", "\x00", "\u0663", "\uff41", "-", "_", " ", "\n", "é", "0"]),
)
keys = st.one_of(
    hostile_text(140),
    _near_keys,
    st.sampled_from(["../../etc/passwd", "..", "/", "a" * 31, "a" * 32, "a" * 128, "a" * 129]),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=28, max_size=132),
)


@fuzz
@given(key=keys | st.none() | st.integers() | st.binary(max_size=40) | st.lists(st.none()))
def test_is_valid_key_is_total_and_exact(key: Any) -> None:
    for name, engine in ENGINES.items():
        answer = engine.is_valid_key(key)
        assert type(answer) is bool
        if name in SERVER_SIDE:
            assert answer == (type(key) is str and SERVER_KEY.fullmatch(key) is not None), name


@fuzz
@given(key=keys)
@example(key="../" + "a" * 40)
def test_a_refused_key_is_absent_and_never_stored(key: str) -> None:
    before = _stored()
    for name in SERVER_SIDE:
        engine = ENGINES[name]
        if engine.is_valid_key(key):
            assert engine.load(key) is None, name  # valid but never saved: absent
            assert engine.exists(key) is False
            continue
        assert engine.load(key) is None, name
        assert engine.exists(key) is False, name
        engine.delete(key)
        with pytest.raises(InvalidSessionKey):
            engine.save(key, b"{}", time.time() + 60, must_create=True)
        with pytest.raises(InvalidSessionKey):
            engine.save(key, b"{}", time.time() + 60)
    assert _stored() == before


# -- sessions through the public API ----------------------------------------------------------

_SERIALIZERS = {
    "json": sessionware.get_serializer("json"),
    "msgpack": sessionware.get_serializer("msgpack"),
    "signed": sessionware.get_serializer("signed", secret_key=SECRET, inner="msgpack"),
}
#: (engine, serializer) pairs: every engine, every serializer, bytes where msgpack carries them.
PAIRS = [
    ("db", "json"),
    ("file", "msgpack"),
    ("cache", "signed"),
    ("redis", "json"),
    ("signed_cookies", "json"),
    ("signed_cookies-e1", "msgpack"),
]
STORES: dict[tuple[str, str], type[SessionStore]] = {
    (e, s): sessionware.session_store(
        engine_instance=ENGINES[e], serializer_instance=_SERIALIZERS[s], secret_key=SECRET
    )
    for e, s in PAIRS
    if e in ENGINES
}
expiries = st.one_of(
    st.none(),
    st.integers(0, 10**12),
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=10**5)),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(9999, 1, 1)),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ),
)
_DOCUMENTED_SAVE = (SerializationError, CookieTooLarge)


@fuzz(ci_share=0.3)
@given(data=session_data(binary=True), expiry=expiries)
def test_a_saved_session_loads_back_identical(data: dict[str, Any], expiry: Any) -> None:
    """Whatever the API accepts and saves loads back: the data, and a usable expiry."""
    for (engine, serializer), Store in STORES.items():
        session = Store()
        session.update(data)
        try:
            session.set_expiry(expiry)
        except (ValueError, OverflowError, SerializationError):
            event("set_expiry refused")
            continue  # refused up front: nothing saved, nothing to load
        try:
            session.save()
        except _DOCUMENTED_SAVE as exc:
            event(f"{engine}/{serializer}: save refused ({type(exc).__name__})")
            continue  # refused with a documented error, naming why
        event(f"{engine}/{serializer}: saved")
        if session.get_expiry_age() <= 2:
            session.delete()
            continue  # set to expire (a moment in the past): gone, as it should be
        again = Store(session.session_key)
        assert_identical(data, again.load())
        age = session.get_expiry_age()
        assert again.get_expiry_age() == pytest.approx(age, abs=2), (engine, serializer)
        again["touched"] = True
        again.save()  # what loaded saves again: nothing stored breaks a later request
        again.delete()


# -- hostile cookies through the middleware -------------------------------------------------


def _counter_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    session = sw_wsgi.get_session(environ)
    session["n"] = session.get("n", 0) + 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(session["n"]).encode()]


async def _counter_asgi(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    session = scope["session"]
    session["n"] = (await session.aget("n", 0)) + 1
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(session["n"]).encode()})


_MIDDLEWARE_ENGINES = [
    n for n in ("db", "file", "signed_cookies", "signed_cookies-e1", "redis") if n in ENGINES
]
WSGI_APPS = {
    n: sw_wsgi.WSGISessionMiddleware(_counter_app, engine_instance=ENGINES[n], secret_key=SECRET)
    for n in _MIDDLEWARE_ENGINES
}
ASGI_APPS = {
    n: sw_asgi.ASGISessionMiddleware(_counter_asgi, engine_instance=ENGINES[n], secret_key=SECRET)
    for n in _MIDDLEWARE_ENGINES
}
_LOOP = asyncio.new_event_loop()


def forget(name: str, cookie: str | None) -> None:
    """Delete a session a test created, so 100,000 examples leave no 100,000 sessions."""
    if cookie and name in SERVER_SIDE and ENGINES[name].is_valid_key(cookie):
        ENGINES[name].delete(cookie)


def wsgi_call(app: Any, cookie: str | None) -> tuple[int, str | None, bytes]:
    """One request: the status, the session cookie set (if any) and the body."""
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.input": None}
    if cookie is not None:
        environ["HTTP_COOKIE"] = cookie
    seen: list[Any] = []
    body = b"".join(app(environ, lambda status, headers, exc=None: seen.append((status, headers))))
    status, headers = seen[-1]
    return int(status.split()[0]), _session_cookie(headers), body


def asgi_call(app: Any, cookie: str | None) -> tuple[int, str | None, bytes]:
    headers = [] if cookie is None else [(b"cookie", cookie.encode("latin-1", "replace"))]
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": b""}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    _LOOP.run_until_complete(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    return start["status"], _session_cookie(pairs), body


def _session_cookie(headers: list[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("sessionid="):
            return value.split(";", 1)[0].removeprefix("sessionid=")
    return None


_cookie_values = st.one_of(
    hostile_text(200),
    st.text(B64_ALPHABET, max_size=300),
    st.builds(lambda v: "s1." + v, st.text(B64_ALPHABET, max_size=300)),
    st.sampled_from(['""', '"x"', "a" * 5000, "%00", "\\", new_session_key()]),
)


@fuzz(ci_share=0.4)
@given(
    value=_cookie_values,
    around=st.sampled_from(
        ["sessionid={}", "a=1; sessionid={}", "sessionid={}; sessionid=x", "{}"]
    ),
    interface=st.sampled_from(["wsgi", "asgi"]),
)
def test_a_hostile_cookie_gets_a_fresh_session_never_a_5xx(
    value: str, around: str, interface: str
) -> None:
    header = around.format(value)
    call, apps = (wsgi_call, WSGI_APPS) if interface == "wsgi" else (asgi_call, ASGI_APPS)
    for name, app in apps.items():
        status, cookie, body = call(app, header)
        forget(name, cookie)
        assert status == 200, (name, status, body[:200])
        assert body == b"1", (name, body[:200])  # a new session: nothing was continued


@fuzz(ci_share=0.3)
@given(
    plan=edits(),
    cookie_alphabet=st.booleans(),
    interface=st.sampled_from(["wsgi", "asgi"]),
)
def test_an_edited_session_cookie_never_continues_its_session(
    plan: list[Edit], cookie_alphabet: bool, interface: str
) -> None:
    call, apps = (wsgi_call, WSGI_APPS) if interface == "wsgi" else (asgi_call, ASGI_APPS)
    alphabet = B64_ALPHABET.encode() if cookie_alphabet else None
    for name, app in apps.items():
        status, cookie, body = call(app, None)
        assert (status, body) == (200, b"1") and cookie, name
        status, cookie, body = call(app, f"sessionid={cookie}")
        assert (status, body) == (200, b"2") and cookie, name  # the real cookie continues it
        forged = tamper(cookie.encode("ascii"), plan, alphabet).decode("latin-1")
        header = f"sessionid={forged}"
        status, new, body = call(app, header)
        forget(name, cookie)
        forget(name, new)
        # An edit of the header that leaves the cookie's value as it was ("<key>;",
        # '"<key>"', "<key> ") is no forgery: the browser's cookie is the same.
        same = parse_cookies(header).get("sessionid") == cookie
        assert (status, body) == (200, b"3" if same else b"1"), (name, forged, status, body[:200])
