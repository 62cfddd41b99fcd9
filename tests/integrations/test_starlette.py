"""sessionware.starlette and sessionware.fastapi over real HTTP (uvicorn on a loopback port).

Starlette's documented session behaviours, with Starlette's own arguments, on
every engine: the session a route hands to ``JSONResponse`` shows the stored
data, ``Vary: Cookie`` follows reads, ``Set-Cookie`` follows changes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import jinja2
import orjson
import pytest
from blockbuster import blockbuster_ctx
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.templating import Jinja2Templates

from sessionware import ConfigurationError, EngineNotFound
from sessionware.fastapi import SessionDep
from sessionware.fastapi import SessionMiddleware as FastAPISessionMiddleware
from sessionware.starlette import SessionMiddleware

from ..first_party import ENGINES as DISTRIBUTIONS
from ..first_party import require
from ..servers import serve_uvicorn
from .asgi_helpers import ENGINES, SECRET, engine_options

pytestmark = pytest.mark.http


async def store(request: Request) -> PlainTextResponse:
    request.session.update(await request.json())
    return PlainTextResponse("stored")


async def show(request: Request) -> JSONResponse:
    return JSONResponse({"session": request.session})


async def show_orjson(request: Request) -> Response:
    # orjson reads a dict subclass through C, as json's C encoder does
    return Response(orjson.dumps({"session": request.session}), media_type="application/json")


TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.DictLoader({"show.txt": "{{ request.session | tojson }}"}), autoescape=True
    )
)


async def show_template(request: Request) -> Response:
    return TEMPLATES.TemplateResponse(request, "show.txt")


async def untouched(request: Request) -> PlainTextResponse:
    return PlainTextResponse("static")


async def merge(request: Request) -> PlainTextResponse:
    session = request.session
    session |= {"merged": True}
    return PlainTextResponse("merged")


async def pop_one(request: Request) -> PlainTextResponse:
    key, _ = request.session.popitem()
    return PlainTextResponse(key)


async def nested(request: Request) -> PlainTextResponse:
    request.session["cart"]["items"].append("pear")  # no method of the session is called
    return PlainTextResponse("nested")


async def logout(request: Request) -> PlainTextResponse:
    await request.session.aflush()  # type: ignore[attr-defined]
    return PlainTextResponse("bye")


def starlette_app(**middleware: Any) -> Starlette:
    routes = [
        Route("/store", store, methods=["POST"]),
        Route("/show", show),
        Route("/show-orjson", show_orjson),
        Route("/show-template", show_template),
        Route("/untouched", untouched),
        Route("/merge", merge, methods=["POST"]),
        Route("/pop", pop_one, methods=["POST"]),
        Route("/nested", nested, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(SessionMiddleware, **middleware)  # built inside the first call
    return app


def settings(engine: str, tmp_path: Path, redis: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "secret_key": SECRET,
        "engine": engine,
        "engine_options": engine_options(engine, tmp_path, redis),
        **extra,
    }


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    require(name, DISTRIBUTIONS[name])
    return name


@pytest.fixture
def engine_redis(engine: str, request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("redis") if engine == "redis" else None


def test_json_response_of_the_session_shows_the_stored_data(
    engine: str, engine_redis: str | None, tmp_path: Path
) -> None:
    app = starlette_app(**settings(engine, tmp_path, engine_redis))
    with serve_uvicorn(app) as url, httpx.Client(base_url=url) as client:
        assert client.post("/store", json={"some": "data"}).text == "stored"
        response = client.get("/show")
    assert response.status_code == 200
    assert response.json() == {"session": {"some": "data"}}
    assert response.headers["vary"] == "Cookie"  # the route read the session
    assert "set-cookie" not in response.headers  # ... and did not change it


@pytest.mark.parametrize("route", ["/show-orjson", "/show-template"])
def test_orjson_and_templates_see_the_stored_data(
    engine: str, engine_redis: str | None, tmp_path: Path, route: str
) -> None:
    app = starlette_app(**settings(engine, tmp_path, engine_redis))
    with serve_uvicorn(app) as url, httpx.Client(base_url=url) as client:
        assert client.post("/store", json={"some": "data"}).text == "stored"
        response = client.get(route)
    assert response.status_code == 200
    shown = response.json()
    assert shown == ({"session": {"some": "data"}} if route == "/show-orjson" else {"some": "data"})


def test_nothing_blocks_the_event_loop(
    engine: str, engine_redis: str | None, tmp_path: Path
) -> None:
    app = starlette_app(**settings(engine, tmp_path, engine_redis))
    # Only the server's loop runs in this process's threads; the detector raises
    # inside any coroutine that makes a blocking call (the first request also
    # builds the middleware and the engine).
    scanned = ["sessionware", "sessionware_db", "sessionware_file", "sessionware_redis"]
    with (
        serve_uvicorn(app) as url,
        httpx.Client(base_url=url) as client,
        blockbuster_ctx(scanned),
    ):
        stored = client.post("/store", json={"n": 1})
        shown = client.get("/show")
        bye = client.post("/logout")
    assert (stored.status_code, shown.status_code, bye.status_code) == (200, 200, 200)
    assert shown.json() == {"session": {"n": 1}}


def test_starlette_arguments_keep_their_meaning(tmp_path: Path) -> None:
    app = starlette_app(
        **settings(
            "db",
            tmp_path,
            None,
            session_cookie="sid",
            max_age=600,
            path="/",
            same_site="strict",
            https_only=True,
            domain="127.0.0.1",
        )
    )
    with serve_uvicorn(app) as url, httpx.Client(base_url=url) as client:
        cookie = client.post("/store", json={"a": 1}).headers["set-cookie"]
    assert cookie.startswith("sid=")
    # Attribute names in Starlette's case (browsers read them in any case).
    attributes = cookie.split("; ")
    for attribute in ("Max-Age=600", "path=/", "samesite=Strict", "secure", "domain=127.0.0.1"):
        assert attribute in attributes


def test_max_age_none_gives_a_browser_session_cookie(tmp_path: Path) -> None:
    app = starlette_app(**settings("db", tmp_path, None, max_age=None))
    with serve_uvicorn(app) as url, httpx.Client(base_url=url) as client:
        response = client.post("/store", json={"a": 1})
        cookie = response.headers["set-cookie"]
        assert "Max-Age" not in cookie and "Expires" not in cookie
        assert client.get("/show").json() == {"session": {"a": 1}}  # still stored


def test_cookie_is_scoped_to_a_mount_path(tmp_path: Path) -> None:
    inner = starlette_app(**settings("db", tmp_path, None, path="/admin"))
    app = Starlette(routes=[Mount("/admin", app=inner)])
    with serve_uvicorn(app) as url, httpx.Client(base_url=url) as client:
        cookie = client.post("/admin/store", json={"a": 1}).headers["set-cookie"]
        assert "path=/admin" in cookie.split("; ")
        assert client.get("/admin/show").json() == {"session": {"a": 1}}


def test_untouched_session_sends_no_cookie_and_no_vary(tmp_path: Path) -> None:
    app = starlette_app(**settings("db", tmp_path, None))
    with serve_uvicorn(app) as url, httpx.Client(base_url=url) as client:
        client.post("/store", json={"a": 1})
        response = client.get("/untouched")
    assert "set-cookie" not in response.headers
    assert "vary" not in response.headers


@pytest.mark.parametrize(
    "cookie",
    [
        "not-a-key",
        "a" * 10_000,
        "../../etc/passwd",
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",  # a well-formed key nobody stored
        '"quoted;value"',
    ],
)
def test_an_invalid_cookie_is_ignored(tmp_path: Path, cookie: str) -> None:
    app = starlette_app(**settings("db", tmp_path, None))
    with serve_uvicorn(app) as url, httpx.Client(base_url=url) as client:
        response = client.get("/show", headers={"Cookie": f"session={cookie}"})
    assert response.status_code == 200
    assert response.json() == {"session": {}}


def test_in_place_changes_are_persisted(
    engine: str, engine_redis: str | None, tmp_path: Path
) -> None:
    app = starlette_app(**settings(engine, tmp_path, engine_redis))
    with serve_uvicorn(app) as url, httpx.Client(base_url=url) as client:
        client.post("/store", json={"cart": {"items": ["apple"]}})
        client.post("/merge")
        client.post("/nested")
        assert client.get("/show").json() == {
            "session": {"cart": {"items": ["apple", "pear"]}, "merged": True}
        }
        popped = client.post("/pop").text
        remaining = client.get("/show").json()["session"]
    assert popped not in remaining and len(remaining) == 1


def test_logout_deletes_the_session_and_the_cookie(tmp_path: Path) -> None:
    app = starlette_app(**settings("db", tmp_path, None))
    with serve_uvicorn(app) as url, httpx.Client(base_url=url) as client:
        client.post("/store", json={"user": "alice"})
        old = client.cookies["session"]
        response = client.post("/logout")
        assert 'session=""' in response.headers["set-cookie"]
        replay = client.get("/show", headers={"Cookie": f"session={old}"})
    assert replay.json() == {"session": {}}


def test_unknown_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="timeout"):
        SessionMiddleware(untouched, secret_key=SECRET, engine="db", timeout=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same_site"):
        SessionMiddleware(untouched, secret_key=SECRET, same_site="sideways")  # type: ignore[arg-type]


def test_an_unknown_engine_fails_at_start_up() -> None:
    with pytest.raises(EngineNotFound, match="nosuch"):
        SessionMiddleware(untouched, secret_key=SECRET, engine="nosuch")  # type: ignore[arg-type]


def test_a_signing_engine_without_secret_fails_at_start_up() -> None:
    with pytest.raises(ConfigurationError, match="secret_key"):
        SessionMiddleware(untouched, engine="signed_cookies")  # type: ignore[arg-type]


def test_outage_logout_is_never_answered_as_success(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A Redis address nothing listens on: under on_unavailable="empty" the page
    # still renders, but a log-out that could not delete the session is a 503.
    down = {"url": "redis://127.0.0.1:1/0", "socket_connect_timeout": 0.2}
    app = starlette_app(
        secret_key=SECRET, engine="redis", engine_options=down, on_unavailable="empty"
    )
    key = "k" * 32
    caplog.set_level(logging.CRITICAL, logger="sessionware")
    with serve_uvicorn(app) as url, httpx.Client(base_url=url) as client:
        page = client.get("/show", headers={"Cookie": f"session={key}"})
        bye = client.post("/logout", headers={"Cookie": f"session={key}"})
    assert (page.status_code, page.json()) == (200, {"session": {}})
    assert bye.status_code == 503
    assert "set-cookie" not in bye.headers  # the cookie is kept: the session may still exist


# -- FastAPI -------------------------------------------------------------------


def fastapi_app(tmp_path: Path) -> Any:
    app = FastAPI()
    app.add_middleware(
        FastAPISessionMiddleware,
        secret_key=SECRET,
        engine="db",
        engine_options={"path": str(tmp_path / "fastapi.sqlite3")},
    )

    @app.post("/login/{user}")
    async def login(user: str, session: SessionDep) -> dict[str, str]:
        await session.acycle_key()
        session["user"] = user
        return {"user": user}

    @app.get("/me")
    async def me(session: SessionDep) -> dict[str, Any]:
        return {"session": session}

    @app.post("/logout")
    async def logout(session: SessionDep) -> dict[str, bool]:
        await session.aflush()
        return {"ok": True}

    return app


def test_fastapi_dependency_log_in_and_out(tmp_path: Path) -> None:
    with serve_uvicorn(fastapi_app(tmp_path)) as url, httpx.Client(base_url=url) as client:
        client.post("/login/anonymous")
        before = client.cookies["session"]
        client.post("/login/alice")
        after = client.cookies["session"]
        me = client.get("/me")
        client.post("/logout")
        gone = client.get("/me", headers={"Cookie": f"session={after}"})
    assert before != after  # the key rotated at log-in
    assert me.json() == {"session": {"user": "alice"}}
    assert me.headers["vary"] == "Cookie"
    assert gone.json() == {"session": {}}


def test_a_short_secret_is_fine_when_nothing_is_signed(tmp_path: Path) -> None:
    # Moving from Starlette is an import change even for an app whose old secret
    # is short: the db engine signs nothing, so the secret is not used.
    app = starlette_app(
        secret_key="change-me", engine="db", engine_options=engine_options("db", tmp_path, None)
    )
    with serve_uvicorn(app) as url, httpx.Client(base_url=url) as client:
        assert client.post("/store", json={"a": 1}).status_code == 200


def test_a_short_secret_is_refused_when_the_engine_signs() -> None:
    with pytest.raises(ConfigurationError, match=r"too weak|at least"):
        SessionMiddleware(untouched, secret_key="change-me", engine="signed_cookies")  # type: ignore[arg-type]


def test_errors_name_starlettes_arguments() -> None:
    with pytest.raises(ConfigurationError) as caught:
        SessionMiddleware(untouched, secret_key=SECRET, same_site="none", engine="db")  # type: ignore[arg-type]
    assert caught.value.field == "same_site"
    assert "same_site" in str(caught.value) and "cookie_samesite" not in str(caught.value)


async def clear(request: Request) -> PlainTextResponse:
    request.session.clear()
    return PlainTextResponse("cleared")


def test_clearing_the_session_deletes_it_and_its_cookie(tmp_path: Path) -> None:
    app = starlette_app(**settings("db", tmp_path, None))
    app.router.routes.append(Route("/clear", clear, methods=["POST"]))
    with serve_uvicorn(app) as url, httpx.Client(base_url=url) as client:
        client.post("/store", json={"user": "alice"})
        old = client.cookies["session"]
        response = client.post("/clear")
        replay = client.get("/show", headers={"Cookie": f"session={old}"})
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert replay.json() == {"session": {}}


async def test_a_bad_engine_option_fails_the_start_up() -> None:
    app = Starlette(routes=[Route("/show", show)])
    app.add_middleware(SessionMiddleware, engine="db", engine_options={"nonsense": 1})
    sent: list[dict[str, Any]] = []
    messages = [{"type": "lifespan.startup"}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert sent[-1]["type"] == "lifespan.startup.failed"
    assert "nonsense" in sent[-1]["message"]
