"""sessionware.flask over real HTTP: Flask served by waitress on loopback, httpx as the browser.

Flask-Login, ``flash()`` and Flask-WTF run unchanged on the db and redis
engines; the config mapping, permanent cookies, ``Vary``, hostile cookies and
store outages are checked on the wire. Redis is the one on 127.0.0.1:6379 or
one started for the test session (never skipped under CI).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import flask
import httpx
import orjson
import pytest
import redis as redis_client
from flask.json.tag import TaggedJSONSerializer
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_user,
    logout_user,
    user_logged_in,
)
from flask_wtf.csrf import CSRFProtect, generate_csrf
from markupsafe import Markup
from werkzeug.middleware.dispatcher import DispatcherMiddleware

import sessionware
from sessionware import ConfigurationError, EngineNotFound, SerializationError, SessionStore
from sessionware.flask import FlaskTaggedSerializer, Session, SessionwareInterface, cycle_key

from ..e2e.redis_server import free_port
from ..servers import serve_waitress

pytestmark = pytest.mark.http

SECRET = "flask-test-secret-0123456789abcdefghijklmnopqrstuvwxyz"


# -- the app: Flask-Login, flash(), Flask-WTF and plain session routes -------------------


class User(UserMixin):  # type: ignore[misc]
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def make_app(
    *,
    secret: str | None = SECRET,
    login: bool = True,
    hooks: dict[str, Callable[[], None]] | None = None,
    session_settings: dict[str, Any] | None = None,
    **config: Any,
) -> flask.Flask:
    """A Flask app on sessionware.flask with ``config`` in ``app.config``; views are plain Flask."""
    app = flask.Flask("flask_integration_test")
    if secret is not None:
        app.config["SECRET_KEY"] = secret
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # only /form is protected
    app.config.update(config)
    Session(app, **(session_settings or {}))
    csrf = CSRFProtect(app)
    hooks = {} if hooks is None else hooks  # the test may fill it later

    if login:
        manager = LoginManager(app)

        @manager.user_loader
        def load_user(user_id: str) -> User | None:
            return User(user_id) if user_id == "ada" else None

    @app.get("/me")
    def me() -> str:
        return str(current_user.id) if current_user.is_authenticated else "anonymous"

    @app.post("/login")
    def do_login() -> str:
        login_user(User("ada"))
        if flask.request.args.get("cycle"):
            if "before_cycle" in hooks:
                hooks.pop("before_cycle")()
            cycle_key()
        return "in"

    @app.post("/logout")
    def do_logout() -> str:
        logout_user()
        if "after_logout" in hooks:
            hooks.pop("after_logout")()
        return "out"

    @app.post("/flash")
    def do_flash() -> Any:
        flask.flash("saved", "info")
        return flask.redirect("/show")

    @app.get("/show")
    def show() -> Any:
        messages = flask.get_flashed_messages(with_categories=True)
        return {"messages": messages, "tuples": [isinstance(m, tuple) for m in messages]}

    @app.get("/form")
    def form() -> str:
        return generate_csrf()  # type: ignore[no-any-return]

    @app.post("/form")
    def post_form() -> str:
        csrf.protect()
        return "posted"

    @app.post("/put")
    def put() -> str:
        flask.session.update(flask.request.get_json())
        return "put"

    @app.get("/dump")
    def dump() -> Any:
        # Flask's JSON provider reads the session dict through C.
        return {"session": flask.session._get_current_object()}  # type: ignore[attr-defined]

    @app.get("/dump-orjson")
    def dump_orjson() -> flask.Response:
        body = orjson.dumps({"session": flask.session._get_current_object()})  # type: ignore[attr-defined]
        return flask.Response(body, mimetype="application/json")

    @app.get("/dump-template")
    def dump_template() -> str:
        # Flask's `session | tojson` fails on Flask's own session too (a LocalProxy)
        return flask.render_template_string(
            "{% for k, v in session.items() %}{{ k }}={{ v }}{% endfor %}"
        )

    @app.get("/read")
    def read() -> str:
        return str(flask.session.get("n"))

    @app.get("/untouched")
    def untouched() -> str:
        return "static"

    @app.post("/permanent")
    def permanent() -> str:
        flask.session.permanent = True
        flask.session["p"] = 1
        return "permanent"

    @app.post("/clear")
    def clear() -> str:
        flask.session.clear()
        return "cleared"

    @app.post("/cart/<item>")
    def add(item: str) -> str:
        flask.session.setdefault("cart", {"items": []})["items"].append(item)  # nested
        return "added"

    @app.post("/tagged")
    def tagged_put() -> str:
        flask.session["values"] = {
            "tuple": (1, "a"),
            "bytes": b"\x00\xff",
            "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "id": uuid.UUID(int=7),
            "html": Markup("<b>hi</b>"),
        }
        return "stored"

    @app.get("/tagged")
    def tagged_get() -> Any:
        values = flask.session["values"]
        return {k: [type(v).__name__, str(v)] for k, v in values.items()}

    @app.get("/kind")
    def kind() -> Any:
        s = flask.session._get_current_object()  # type: ignore[attr-defined]
        return {
            "sessionstore": isinstance(s, SessionStore),
            "mixin": isinstance(s, flask.sessions.SessionMixin),
            "new": s.new,
        }

    return app


def interface(app: flask.Flask) -> SessionwareInterface:
    found: SessionwareInterface = app.extensions["sessionware"]
    return found


def stored(app: flask.Flask, key: str) -> dict[str, Any] | None:
    """The session stored under ``key``, read straight from the app's engine."""
    store = interface(app).rules.store_class
    raw = store.engine.load(key)
    return None if raw is None else store.serializer.loads(raw)


class Switch:
    """The WSGI app the module's one server runs: whichever Flask app the test installed."""

    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Switch, str]]:
    # One waitress server for the module (stopping one takes a second); tests swap the app.
    switch = Switch()
    with serve_waitress(switch) as url:
        yield switch, url


Serve = Callable[[flask.Flask], httpx.Client]


def plain_client(url: str) -> httpx.Client:
    # Plain HTTP on loopback: verify=False only skips building a TLS context (~0.1 s each).
    return httpx.Client(base_url=url, timeout=10, verify=False)  # noqa: S501


@pytest.fixture
def serve(server: tuple[Switch, str], shared: dict[str, flask.Flask]) -> Iterator[Serve]:
    """``serve(app)``: the app on the module's waitress server and a client keeping cookies."""
    switch, url = server
    opened: list[tuple[flask.Flask, httpx.Client]] = []

    def start(app: flask.Flask) -> httpx.Client:
        switch.app = app
        client = plain_client(url)
        opened.append((app, client))
        return client

    yield start
    for app, client in opened:
        client.close()
        if app not in shared.values():
            interface(app).rules.store_class.engine.close()
    switch.app = None


def set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def session_cookie(response: httpx.Response, name: str = "session") -> str | None:
    for header in set_cookies(response):
        if header.startswith(name + "="):
            return header
    return None


def cookie_value(response: httpx.Response, name: str = "session") -> str:
    header = session_cookie(response, name)
    assert header is not None, set_cookies(response)
    return header.split(";", 1)[0].split("=", 1)[1]


def is_deletion(header: str | None) -> bool:
    return header is not None and "Max-Age=0" in header


# -- fixtures ---------------------------------------------------------------------------


def redis_options(url: str, **extra: Any) -> dict[str, Any]:
    return {"url": url, "prefix": f"sw-flask-test:{uuid.uuid4().hex[:8]}:", **extra}


@pytest.fixture(scope="module")
def shared() -> Iterator[dict[str, flask.Flask]]:
    """Apps with the default settings, built once per engine (each test has its own client)."""
    apps: dict[str, flask.Flask] = {}
    yield apps
    for app in apps.values():
        interface(app).rules.store_class.engine.close()


def shared_app(request: pytest.FixtureRequest, engine: str) -> flask.Flask:
    apps: dict[str, flask.Flask] = request.getfixturevalue("shared")
    if engine not in apps:
        if engine == "db":
            folder = request.getfixturevalue("tmp_path_factory").mktemp("flask-db")
            options: dict[str, Any] = {"path": str(folder / "sessions.db")}
        else:
            options = redis_options(request.getfixturevalue("redis"))
        apps[engine] = make_app(SESSIONWARE_ENGINE=engine, SESSIONWARE_ENGINE_OPTIONS=options)
    return apps[engine]


@pytest.fixture(params=["db", "redis"])
def app(request: pytest.FixtureRequest) -> flask.Flask:
    """The default app on the db engine, then on the redis engine."""
    return shared_app(request, request.param)


@pytest.fixture
def db_app(request: pytest.FixtureRequest) -> flask.Flask:
    """The default app on the db engine."""
    return shared_app(request, "db")


@pytest.fixture
def db_config(tmp_path: Path) -> dict[str, Any]:
    return {"SESSIONWARE_ENGINE_OPTIONS": {"path": str(tmp_path / "sessions.db")}}


# -- Flask-Login, flash(), Flask-WTF on db and redis --------------------------------------


def test_flask_login_logs_in_and_out(app: flask.Flask, serve: Serve) -> None:
    with serve(app) as client:
        assert client.get("/me").text == "anonymous"
        response = client.post("/login")
        key = cookie_value(response)
        assert stored(app, key)["_user_id"] == "ada"  # type: ignore[index]
        assert client.get("/me").text == "ada"

        response = client.post("/logout")
        assert response.status_code == 200
        assert is_deletion(session_cookie(response))
        assert stored(app, key) is None
        assert client.get("/me").text == "anonymous"


def test_cycle_key_at_login_rotates_the_key_and_keeps_the_data(
    app: flask.Flask, serve: Serve
) -> None:
    with serve(app) as client:
        before = cookie_value(client.post("/put", json={"theme": "dark"}))
        after = cookie_value(client.post("/login?cycle=1"))
        assert after != before
        assert stored(app, before) is None  # the pre-login key is worthless
        data = stored(app, after)
        assert data is not None
        assert data["theme"] == "dark"
        assert data["_user_id"] == "ada"
        assert client.get("/me").text == "ada"


def test_cycle_key_on_flask_logins_signal(db_config: dict[str, Any], serve: Serve) -> None:
    app = make_app(**db_config)

    @user_logged_in.connect_via(app)
    def rotate_session_key(sender: flask.Flask, user: User, **extra: Any) -> None:
        cycle_key()

    try:
        with serve(app) as client:
            before = cookie_value(client.post("/put", json={"theme": "dark"}))
            after = cookie_value(client.post("/login"))
            assert after != before and stored(app, before) is None
            assert client.get("/me").text == "ada"
    finally:
        user_logged_in.disconnect(rotate_session_key, app)


def test_flask_test_client_session_transaction(db_app: flask.Flask) -> None:
    # Flask's own test tooling opens and saves the session through the interface.
    client = db_app.test_client()
    with client.session_transaction() as session:
        session["seeded"] = "yes"
    assert client.get("/dump").json == {"session": {"seeded": "yes"}}
    with client.session_transaction() as session:
        assert session["seeded"] == "yes"


def test_flash_survives_a_redirect(app: flask.Flask, serve: Serve) -> None:
    with serve(app) as client:
        response = client.post("/flash", follow_redirects=True)
        assert [r.status_code for r in response.history] == [302]
        assert response.json() == {"messages": [["info", "saved"]], "tuples": [True]}
        # Consumed: the next page has none, and the session emptied is gone.
        assert client.get("/show").json()["messages"] == []


def test_flask_wtf_csrf_token_round_trip(app: flask.Flask, serve: Serve) -> None:
    with serve(app) as client:
        response = client.get("/form")
        token = response.text
        key = cookie_value(response)
        assert "csrf_token" in stored(app, key)  # type: ignore[operator]
        assert client.post("/form", data={"csrf_token": token}).text == "posted"
        assert client.post("/form", data={"csrf_token": "forged"}).status_code == 400
        assert client.post("/form", data={}).status_code == 400


def test_flash_works_without_a_flask_secret_key(db_config: dict[str, Any], serve: Serve) -> None:
    app = make_app(secret=None, **db_config)
    with serve(app) as client:
        response = client.post("/flash", follow_redirects=True)
        assert response.json()["messages"] == [["info", "saved"]]


def test_login_works_without_a_flask_secret_key(db_config: dict[str, Any], serve: Serve) -> None:
    app = make_app(secret=None, **db_config)
    with serve(app) as client:
        client.post("/login")
        assert client.get("/me").text == "ada"


def test_strong_session_protection_ends_the_session(
    db_config: dict[str, Any], serve: Serve
) -> None:
    app = make_app(SESSION_PROTECTION="strong", **db_config)
    with serve(app) as client:
        key = cookie_value(client.post("/login", headers={"User-Agent": "browser-a"}))
        response = client.get("/me", headers={"User-Agent": "browser-b"})
        assert response.text == "anonymous"
        assert is_deletion(session_cookie(response))
        assert stored(app, key) is None


def test_session_clear_deletes_the_stored_session(app: flask.Flask, serve: Serve) -> None:
    with serve(app) as client:
        key = cookie_value(client.post("/put", json={"a": 1}))
        response = client.post("/clear")
        assert is_deletion(session_cookie(response))
        assert stored(app, key) is None


# -- the session object and what it stores -------------------------------------------------


def test_the_session_is_a_sessionstore_and_a_session_mixin(app: flask.Flask, serve: Serve) -> None:
    with serve(app) as client:
        assert client.get("/kind").json() == {"sessionstore": True, "mixin": True, "new": True}
        client.post("/put", json={"a": 1})
        assert client.get("/kind").json()["new"] is False


def test_json_of_the_session_shows_the_stored_data(app: flask.Flask, serve: Serve) -> None:
    with serve(app) as client:
        client.post("/put", json={"some": "data"})
        response = client.get("/dump")
        assert response.json() == {"session": {"some": "data"}}
        assert "Cookie" in response.headers.get("vary", "")
        assert client.get("/dump-orjson").json() == {"session": {"some": "data"}}
        assert "some=data" in client.get("/dump-template").text  # (Flask-Login adds _fresh)


def test_tagged_values_round_trip(app: flask.Flask, serve: Serve) -> None:
    with serve(app) as client:
        key = cookie_value(client.post("/tagged"))
        assert client.get("/tagged").json() == {
            "tuple": ["tuple", "(1, 'a')"],
            "bytes": ["bytes", "b'\\x00\\xff'"],
            "when": ["datetime", "2026-01-02 03:04:05+00:00"],
            "id": ["UUID", str(uuid.UUID(int=7))],
            "html": ["Markup", "<b>hi</b>"],
        }
        # Stored as tagged JSON: any JSON reader can parse it; the tags are visible.
        raw = interface(app).rules.store_class.engine.load(key)
        assert raw is not None
        values = json.loads(raw)["values"]
        assert values["tuple"] == {" t": [1, "a"]}
        assert values["html"] == {" m": "<b>hi</b>"}


def test_nested_mutation_is_saved(app: flask.Flask, serve: Serve) -> None:
    with serve(app) as client:
        client.post("/cart/apple")
        client.post("/cart/pear")
        assert client.get("/dump").json() == {"session": {"cart": {"items": ["apple", "pear"]}}}


def test_the_plain_json_serializer_refuses_flash_tuples_clearly(db_config: dict[str, Any]) -> None:
    app = make_app(SESSIONWARE_SERIALIZER="json", **db_config)
    app.testing = True  # the app's exception reaches the test instead of a 500 page
    try:
        assert interface(app).rules.store_class.serializer.name == "json"
        client = app.test_client()
        assert client.post("/put", json={"plain": [1, 2]}).status_code == 200
        with pytest.raises(SerializationError, match="tuple"):
            client.post("/flash")
    finally:
        interface(app).rules.store_class.engine.close()


def test_tagged_serializer_follows_the_serializer_protocol() -> None:
    serializer = FlaskTaggedSerializer()
    assert isinstance(serializer, sessionware.Serializer)
    data = {"t": (1, 2), "b": b"x", "n": None}
    assert serializer.loads(serializer.dumps(data)) == data
    assert isinstance(serializer.dumps({}), bytes)
    with pytest.raises(SerializationError, match="set"):
        serializer.dumps({"s": {1, 2}})
    # Decodes what Flask's own tagged serializer decodes, tags nested anywhere.
    flasks = TaggedJSONSerializer()
    tricky = {
        "flashes": [("info", "a"), ("error", b"\x01")],
        "deep": {"list": [{"when": datetime(2026, 5, 6, tzinfo=UTC)}, uuid.UUID(int=1)]},
        "looks_tagged": {" t": "a plain dict whose one key is a tag"},
        " spaced key": Markup("<i>x</i>"),
    }
    for raw in (
        flasks.dumps(tricky).encode(),
        json.dumps(json.loads(flasks.dumps(tricky))).encode(),
    ):
        assert serializer.loads(raw) == flasks.loads(raw) == tricky  # type: ignore[arg-type]
    for bad in (b"\xff\xfe", b"not json", b"[1, 2]", b'{" t": 5}', b'{"x": {" u": "nope"}}'):
        with pytest.raises(SerializationError):
            serializer.loads(bad)


# -- permanent sessions, refresh, Vary -------------------------------------------------------


def test_a_session_that_is_not_permanent_gets_a_browser_session_cookie(
    db_config: dict[str, Any], serve: Serve
) -> None:
    app = make_app(login=False, PERMANENT_SESSION_LIFETIME=600, **db_config)
    with serve(app) as client:
        header = session_cookie(client.post("/put", json={"n": 1}))
        assert header is not None
        assert "Max-Age" not in header and "Expires" not in header
        response = client.get("/read")
        assert response.text == "1"
        assert session_cookie(response) is None  # read only: no Set-Cookie
        assert response.headers["vary"] == "Cookie"


def test_a_permanent_session_gets_a_lasting_cookie_refreshed_on_each_request(
    redis: str, serve: Serve
) -> None:
    options = redis_options(redis)
    app = make_app(
        login=False,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=10),
        SESSIONWARE_ENGINE="redis",
        SESSIONWARE_ENGINE_OPTIONS=options,
    )
    with serve(app) as client:
        response = client.post("/permanent")
        header = session_cookie(response)
        assert header is not None and "Max-Age=600" in header and "Expires=" in header
        key = cookie_value(response)
        with redis_client.Redis.from_url(redis) as direct:
            ttl = direct.pttl(options["prefix"] + key)
        assert 590_000 < ttl <= 600_000  # the store keeps it as long as the cookie
        refreshed = session_cookie(client.get("/read"))
        assert refreshed is not None and "Max-Age=600" in refreshed


def test_refresh_each_request_off_sends_no_cookie_on_reads(
    db_config: dict[str, Any], serve: Serve
) -> None:
    app = make_app(login=False, SESSION_REFRESH_EACH_REQUEST=False, **db_config)
    with serve(app) as client:
        assert "Max-Age" in (session_cookie(client.post("/permanent")) or "")
        assert session_cookie(client.get("/read")) is None


def test_vary_follows_what_the_view_read(db_config: dict[str, Any], serve: Serve) -> None:
    app = make_app(login=False, **db_config)
    with serve(app) as client:
        response = client.get("/untouched")
        assert "vary" not in response.headers and not set_cookies(response)
        client.post("/put", json={"n": 1})
        response = client.get("/untouched")
        assert "vary" not in response.headers and not set_cookies(response)
        assert client.get("/read").headers["vary"] == "Cookie"


# -- the config mapping -------------------------------------------------------------------


def test_flask_cookie_settings_reach_the_cookie(db_config: dict[str, Any], serve: Serve) -> None:
    app = make_app(
        login=False,
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.test",
        SESSION_COOKIE_PATH="/app",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PARTITIONED=True,
        **db_config,
    )
    with serve(app) as client:
        header = session_cookie(client.post("/permanent"), "sid")
        assert header is not None
        attributes = {part.strip().split("=")[0] for part in header.split(";")[1:]}
        assert {"Domain", "Path", "Secure", "SameSite", "Partitioned", "Max-Age"} <= attributes
        assert "HttpOnly" not in attributes
        assert "Domain=example.test" in header and "Path=/app" in header
        assert "SameSite=Strict" in header


def test_config_mapping(db_config: dict[str, Any]) -> None:
    app = flask.Flask("mapping")
    app.config.update(
        SECRET_KEY="dev",  # too short to sign with, but the db engine signs nothing
        APPLICATION_ROOT="/root",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=2),
        SESSIONWARE_ON_UNAVAILABLE="empty",
        SESSIONWARE_DETECT_NESTED_CHANGES=False,
        **db_config,
    )
    config = Session(app).init_app(app).rules.config
    assert config.cookie_name == "session"  # Flask's default name
    assert config.cookie_path == "/root"  # SESSION_COOKIE_PATH unset: APPLICATION_ROOT
    assert config.cookie_samesite is None  # Flask's default: no SameSite attribute
    assert config.cookie_age == 7200
    assert config.secret_key is None  # read only for an engine or serializer that signs
    assert config.on_unavailable == "empty"
    assert config.detect_nested_changes is False
    assert config.engine == "db" and config.serializer == "flask_tagged"
    assert app.session_interface.get_cookie_path(app) == "/root"


def test_secret_key_and_fallbacks_reach_a_signing_engine() -> None:
    secret = bytes(range(1, 65))  # Flask accepts bytes: read as latin-1
    app = flask.Flask("signing")
    app.config.update(
        SECRET_KEY=secret, SECRET_KEY_FALLBACKS=[SECRET], SESSIONWARE_ENGINE="signed_cookies"
    )
    config = Session(app).init_app(app).rules.config
    assert config.secret_key == secret.decode("latin-1")
    assert config.fallback_keys == (SECRET,)


def test_keyword_arguments_override_app_config(db_config: dict[str, Any]) -> None:
    app = flask.Flask("kwargs")
    app.config.update(SESSION_COOKIE_NAME="from_config", **db_config)
    extension = Session(cookie_name="from_kwargs", cookie_age=60)
    config = extension.init_app(app).rules.config
    assert config.cookie_name == "from_kwargs" and config.cookie_age == 60
    assert app.session_interface.get_cookie_name(app) == "from_kwargs"


def test_engine_options_as_keyword_arguments(tmp_path: Path) -> None:
    app = flask.Flask("options")
    Session(app, engine="db", path=str(tmp_path / "kw.db"))
    assert interface(app).rules.config.engine_options == {"path": str(tmp_path / "kw.db")}
    interface(app).rules.store_class.engine.close()


@pytest.mark.parametrize(
    ("config", "kind", "message"),
    [
        ({"SESSIONWARE_ENGINE": "nosuch"}, EngineNotFound, "nosuch"),
        ({"SESSIONWARE_ENGINE_OPTIONS": {"colour": "red"}}, ConfigurationError, "colour"),
        ({"SESSIONWARE_ENGIN": "db"}, ConfigurationError, "SESSIONWARE_ENGINE"),
        ({"SESSIONWARE_COOKIE_NAME": "x"}, ConfigurationError, "SESSION_COOKIE_NAME"),
        ({"SESSION_COOKIE_SAMESITE": "None"}, ConfigurationError, "SESSION_COOKIE_SAMESITE"),
        ({"PERMANENT_SESSION_LIFETIME": 0}, ConfigurationError, "PERMANENT_SESSION_LIFETIME"),
        ({"SESSIONWARE_ON_UNAVAILABLE": "ignore"}, ConfigurationError, "ON_UNAVAILABLE"),
        ({"SESSIONWARE_ENGINE": "signed_cookies"}, ConfigurationError, "SECRET_KEY is not set"),
        (
            {"SESSIONWARE_ENGINE": "signed_cookies", "SECRET_KEY": "dev"},
            ConfigurationError,
            "SECRET_KEY: secret_key is too weak",
        ),
        ({"SESSIONWARE_SERIALIZER": "signed"}, ConfigurationError, "SECRET_KEY is not set"),
    ],
)
def test_bad_settings_fail_at_init_app(
    config: dict[str, Any], kind: type[Exception], message: str
) -> None:
    app = flask.Flask("bad")
    app.config.update(config)
    with pytest.raises(kind, match=message):
        Session(app)


def test_expire_at_browser_close_is_refused_for_session_permanent() -> None:
    with pytest.raises(ConfigurationError, match=r"session\.permanent"):
        Session(expire_at_browser_close=True)


def test_cycle_key_outside_sessionware_says_how_to_install_it() -> None:
    app = flask.Flask("plain")
    app.secret_key = SECRET
    with app.test_request_context("/"), pytest.raises(RuntimeError, match="Session\\(app\\)"):
        cycle_key()


def test_init_app_serves_several_apps(tmp_path: Path, server: tuple[Switch, str]) -> None:
    extension = Session()
    first, second = (
        make_app_with(extension, tmp_path / "a.db"),
        make_app_with(extension, tmp_path / "b.db"),
    )
    assert interface(first) is not interface(second)
    switch, url = server
    switch.app = DispatcherMiddleware(first, {"/second": second})
    try:
        with plain_client(url) as a, plain_client(url + "/second") as b:
            a.post("/put", json={"app": "first"})
            b.post("/put", json={"app": "second"})
            assert a.get("/dump").json() == {"session": {"app": "first"}}
            assert b.get("/dump").json() == {"session": {"app": "second"}}
    finally:
        for app in (first, second):
            interface(app).rules.store_class.engine.close()


def make_app_with(extension: Session, path: Path) -> flask.Flask:
    app = flask.Flask("init_app")
    app.config["SESSIONWARE_ENGINE_OPTIONS"] = {"path": str(path)}
    extension.init_app(app)

    @app.post("/put")
    def put() -> str:
        flask.session.update(flask.request.get_json())
        return "put"

    @app.get("/dump")
    def dump() -> Any:
        return {"session": flask.session._get_current_object()}  # type: ignore[attr-defined]

    return app


# -- bad cookies ----------------------------------------------------------------------------


def _expired_key(app: flask.Flask) -> str:
    key = sessionware.new_session_key()
    store = interface(app).rules.store_class
    store.engine.save(key, store.serializer.dumps({"n": 1}), time.time() - 5, must_create=True)
    return key


@pytest.mark.parametrize(
    "value",
    [
        "forged",  # a well-formed key that was never issued
        "expired",
        "abc!!def",
        "x" * 10240,
        "ééééééééééééééééééééééééééééééééé",
        "../../etc/passwd",
        '"quoted value"',
        "",
    ],
    ids=["forged", "expired", "malformed", "10kb-junk", "non-ascii", "path", "quoted", "empty"],
)
def test_bad_cookies_give_an_empty_session(value: str, db_app: flask.Flask, serve: Serve) -> None:
    app = db_app
    if value == "forged":
        value = sessionware.new_session_key()
    elif value == "expired":
        value = _expired_key(app)
    with serve(app) as client:
        cookie = f"session={value}".encode("latin-1" if value.isascii() else "utf-8")
        response = client.get("/dump", headers={b"Cookie": cookie})
        assert response.status_code == 200
        assert response.json() == {"session": {}}
        header = session_cookie(response)
        assert header is None or is_deletion(header)  # never a stored session for junk


def test_a_forged_signed_cookie_gives_an_empty_session(serve: Serve) -> None:
    app = make_app(login=False, SESSIONWARE_ENGINE="signed_cookies")
    with serve(app) as client:
        value = cookie_value(client.post("/put", json={"role": "user"}))
        forged = value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
        client.cookies.clear()
        response = client.get("/dump", headers={"Cookie": f"session={forged}"})
        assert response.status_code == 200
        assert response.json() == {"session": {}}


def test_an_old_flask_cookie_starts_an_empty_session_once(
    db_app: flask.Flask, serve: Serve
) -> None:
    # Migrating from Flask's default session: the same cookie name carries a
    # signed payload, which is not a session key. The user starts over once.
    old = flask.Flask("old")
    old.secret_key = SECRET

    @old.get("/")
    def seed() -> str:
        flask.session["user"] = "ada"
        return "old"

    legacy = old.test_client().get("/").headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    with serve(db_app) as client:
        response = client.get("/dump", headers={"Cookie": f"session={legacy}"})
        assert response.status_code == 200
        assert response.json() == {"session": {}}
        assert is_deletion(session_cookie(response))
        # A Flask-Session id (token_urlsafe) is no sessionware key either.
        flask_session_id = "Zq3-h0_kL9vX2mN4pQ8rS1tU6wY7aB5cD0eF2gH4iJ8"
        response = client.get("/dump", headers={"Cookie": f"session={flask_session_id}"})
        assert response.json() == {"session": {}}
        client.cookies.clear()
        client.post("/put", json={"fresh": True})
        assert client.get("/dump").json() == {"session": {"fresh": True}}


# -- outages ----------------------------------------------------------------------------------


def dead_redis(**config: Any) -> dict[str, Any]:
    """Config for a redis engine at a loopback port nothing listens on."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    options = redis_options(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return {"SESSIONWARE_ENGINE": "redis", "SESSIONWARE_ENGINE_OPTIONS": options, **config}


def test_unreachable_store_answers_503_with_the_error_policy(serve: Serve) -> None:
    app = make_app(**dead_redis())
    with serve(app) as client:
        cookie = {"Cookie": f"session={sessionware.new_session_key()}"}
        response = client.get("/dump", headers=cookie)
        assert response.status_code == 503
        assert "unavailable" in response.text and not set_cookies(response)
        # Flask-WTF's check never sees the empty session: the 503 comes first.
        assert client.post("/form", headers=cookie).status_code == 503
        response = client.post("/put", json={"a": 1})  # no cookie: the save fails
        assert response.status_code == 503 and not set_cookies(response)
        assert client.get("/untouched").status_code == 200  # needs no session


def test_unreachable_store_runs_an_empty_session_with_the_empty_policy(serve: Serve) -> None:
    app = make_app(**dead_redis(SESSIONWARE_ON_UNAVAILABLE="empty"))
    with serve(app) as client:
        cookie = {"Cookie": f"session={sessionware.new_session_key()}"}
        response = client.get("/dump", headers=cookie)
        assert response.status_code == 200
        assert response.json() == {"session": {}}
        assert not set_cookies(response)  # the cookie is kept for when the store is back
        response = client.post("/put", json={"a": 1})
        assert response.status_code == 200 and not set_cookies(response)
        assert client.post("/login", headers=cookie).status_code == 200


class Gate:
    """A TCP forwarder to Redis that a test can cut: once cut, no byte reaches Redis."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.open = True
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if not self.open:
                    client.close()
                    continue
                upstream = socket.create_connection(self.target)
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        with self.lock:
            self.open = False
            for sock in self.sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def restore(self) -> None:
        with self.lock:
            self.open = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def gate(redis: str) -> Iterator[tuple[Gate, dict[str, Any]]]:
    """A cuttable way to Redis, and the engine options that go through it."""
    target = urlsplit(redis)
    gate = Gate(target.hostname or "127.0.0.1", target.port or 6379)
    url = f"redis://127.0.0.1:{gate.port}{target.path}"
    try:
        yield gate, redis_options(url, socket_timeout=1, socket_connect_timeout=1)
    finally:
        gate.close()


@pytest.mark.parametrize("policy", ["error", "empty"])
def test_a_logout_whose_delete_fails_does_not_answer_200(
    gate: tuple[Gate, dict[str, Any]], policy: str, serve: Serve
) -> None:
    way, options = gate
    hooks: dict[str, Callable[[], None]] = {}
    app = make_app(
        SESSIONWARE_ENGINE="redis",
        SESSIONWARE_ENGINE_OPTIONS=options,
        SESSIONWARE_ON_UNAVAILABLE=policy,
        hooks=hooks,
    )
    with serve(app) as client:
        key = cookie_value(client.post("/login"))
        hooks["after_logout"] = way.cut  # the store goes away between load and save
        response = client.post("/logout")
        assert response.status_code == 503
        assert session_cookie(response) is None  # the cookie is not deleted
        way.restore()
        assert stored(app, key)["_user_id"] == "ada"  # type: ignore[index]
        assert client.get("/me").text == "ada"  # consistent with the 503: still logged in
        # Retried once the store is back, the logout goes through.
        response = client.post("/logout")
        assert response.status_code == 200 and is_deletion(session_cookie(response))
        assert stored(app, key) is None


def test_a_key_rotation_that_fails_answers_503(
    gate: tuple[Gate, dict[str, Any]], serve: Serve
) -> None:
    way, options = gate
    hooks: dict[str, Callable[[], None]] = {}
    app = make_app(
        SESSIONWARE_ENGINE="redis",
        SESSIONWARE_ENGINE_OPTIONS=options,
        SESSIONWARE_ON_UNAVAILABLE="empty",  # even so: a failed rotation is not a success
        hooks=hooks,
    )
    with serve(app) as client:
        key = cookie_value(client.post("/put", json={"cart": ["apple"]}))
        hooks["before_cycle"] = way.cut
        response = client.post("/login?cycle=1")
        assert response.status_code == 503 and not set_cookies(response)
        way.restore()
        assert stored(app, key) == {"cart": ["apple"]}  # neither logged in nor lost
        assert client.get("/me").text == "anonymous"


# -- packaging ----------------------------------------------------------------------------------


def test_import_without_flask_names_the_extra_and_the_core_still_imports() -> None:
    code = """
import sys
sys.modules["flask"] = None  # as if Flask were not installed
import sessionware, sessionware.http.wsgi, sessionware.http.asgi
import sessionware.http.middleware, sessionware.cli
try:
    import sessionware.flask
except ImportError as exc:
    print(exc)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("flask", "werkzeug")))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert result.returncode == 0, result.stderr
    message, loaded = result.stdout.strip().splitlines()
    assert 'pip install "sessionware[flask]"' in message
    assert loaded == "['flask']"  # only the blocked entry: nothing imported Flask or Werkzeug
