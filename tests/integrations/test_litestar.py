"""sessionware.litestar over real HTTP (uvicorn on a loopback port).

``request.session`` is the loaded session, Litestar's return-value encoding
(msgspec, through C) shows its data, and Litestar's own ``set_session`` and
``clear_session`` store and clear it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, get, post

from sessionware.litestar import session_middleware

from ..first_party import ENGINES as DISTRIBUTIONS
from ..first_party import require
from ..servers import serve_uvicorn
from .asgi_helpers import SECRET, SERVER_SIDE, engine_options

pytestmark = pytest.mark.http


@dataclasses.dataclass
class Profile:
    user: str
    roles: list[str]


@post("/login")
async def login(request: Request[Any, Any, Any]) -> str:
    user = request.query_params["user"]
    request.set_session({"user": user, "roles": ["reader"]})
    return "logged in"


@post("/profile")
async def profile(request: Request[Any, Any, Any]) -> str:
    user = request.query_params["user"]
    request.set_session(Profile(user=user, roles=["admin"]))
    return "profile"


@post("/add")
async def add(request: Request[Any, Any, Any]) -> str:
    item = request.query_params["item"]
    request.session.setdefault("items", []).append(item)
    request.session["items"] = request.session["items"]
    return "added"


@get("/me")
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"session": request.session}


@post("/logout")
async def logout(request: Request[Any, Any, Any]) -> str:
    request.clear_session()
    return "bye"


@post("/clear")
async def clear_all(request: Request[Any, Any, Any]) -> str:
    request.session.clear()
    return "cleared"


@get("/ping")
async def ping() -> str:
    return "pong"


def app(engine: str, tmp_path: Path, redis: str | None) -> Litestar:
    settings: dict[str, Any] = {"engine": engine, "secret_key": SECRET}
    settings.update(engine_options(engine, tmp_path, redis))
    return Litestar(
        route_handlers=[login, profile, add, me, logout, clear_all, ping],
        middleware=[session_middleware(**settings)],
    )


@pytest.fixture(params=[*SERVER_SIDE, "signed_cookies"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[httpx.Client]:
    engine: str = request.param
    require(engine, DISTRIBUTIONS[engine])
    redis = request.getfixturevalue("redis") if engine == "redis" else None
    with serve_uvicorn(app(engine, tmp_path, redis)) as url, httpx.Client(base_url=url) as client:
        client.headers["x-engine"] = engine  # for the tests that differ by engine
        yield client


def test_set_session_stores_the_new_mapping(site: httpx.Client) -> None:
    response = site.post("/login?user=alice")
    assert response.status_code == 201
    assert "sessionid=" in response.headers["set-cookie"]
    assert site.get("/me").json() == {"session": {"user": "alice", "roles": ["reader"]}}


def test_a_returned_session_shows_the_stored_data_and_varies(site: httpx.Client) -> None:
    site.post("/login?user=alice")
    site.post("/add?item=pear")
    response = site.get("/me")
    assert response.json() == {"session": {"user": "alice", "roles": ["reader"], "items": ["pear"]}}
    assert response.headers["vary"] == "Cookie"


def test_set_session_takes_a_dataclass(site: httpx.Client) -> None:
    site.post("/profile?user=bob")
    assert site.get("/me").json() == {"session": {"user": "bob", "roles": ["admin"]}}


def test_clear_session_logs_out(site: httpx.Client) -> None:
    site.post("/login?user=alice")
    old = site.cookies["sessionid"]
    response = site.post("/logout")
    assert "sessionid=" in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]
    if site.headers["x-engine"] == "signed_cookies":
        return  # the data was in the cookie: a kept copy replays (docs/engines/signed_cookies.md)
    site.cookies.clear()
    replay = site.get("/me", headers={"Cookie": f"sessionid={old}"})
    assert replay.json() == {"session": {}}


def test_no_cookie_no_session_work(site: httpx.Client) -> None:
    response = site.get("/ping")
    assert response.text == "pong"
    assert "set-cookie" not in response.headers and "vary" not in response.headers


@pytest.mark.parametrize("cookie", ["garbage", "a" * 5000, "../../etc/passwd", "é"])
def test_bad_cookies_give_an_empty_session(tmp_path: Path, cookie: str) -> None:
    with (
        serve_uvicorn(app("db", tmp_path, None)) as url,
        httpx.Client(base_url=url) as client,
    ):
        response = client.get("/me", headers={"Cookie": f"sessionid={cookie}".encode()})
    assert response.status_code == 200
    assert response.json() == {"session": {}}


def test_emptying_the_session_deletes_it_and_its_cookie(tmp_path: Path) -> None:
    with (
        serve_uvicorn(app("db", tmp_path, None)) as url,
        httpx.Client(base_url=url) as client,
    ):
        client.post("/login?user=alice")
        old = client.cookies["sessionid"]
        response = client.post("/clear")
        client.cookies.clear()
        replay = client.get("/me", headers={"Cookie": f"sessionid={old}"})
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert replay.json() == {"session": {}}
