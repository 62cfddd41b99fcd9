"""End to end over real HTTP on loopback: Flask on waitress, Starlette on uvicorn.

Each server runs in a thread on an ephemeral port and is shut down by its
fixture; httpx.Client keeps the cookies like a browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sessionware.testing import MemoryEngine, ReferenceSerializer

from ..servers import flask_app, serve_uvicorn, serve_waitress, starlette_app

pytestmark = pytest.mark.http


def _in_test_engine() -> tuple[MemoryEngine, dict[str, Any]]:
    engine = MemoryEngine()
    return engine, {"engine_instance": engine, "serializer_instance": ReferenceSerializer()}


@pytest.fixture(scope="module")
def waitress_url() -> Iterator[tuple[str, MemoryEngine]]:
    engine, settings = _in_test_engine()
    with serve_waitress(flask_app(**settings)) as url:
        yield url, engine


@pytest.fixture(scope="module")
def uvicorn_url() -> Iterator[tuple[str, MemoryEngine]]:
    engine, settings = _in_test_engine()
    with serve_uvicorn(starlette_app(**settings)) as url:
        yield url, engine


@pytest.fixture(params=["flask-waitress", "starlette-uvicorn"])
def site(request: pytest.FixtureRequest) -> Iterator[tuple[httpx.Client, MemoryEngine]]:
    name = "waitress_url" if request.param == "flask-waitress" else "uvicorn_url"
    url, engine = request.getfixturevalue(name)
    with httpx.Client(base_url=url, timeout=10) as client:
        yield client, engine


def test_counter_increments_across_requests(site: tuple[httpx.Client, MemoryEngine]) -> None:
    client, _ = site
    assert [client.get("/count").text for _ in range(3)] == ["1", "2", "3"]


def test_nested_mutation_is_saved(site: tuple[httpx.Client, MemoryEngine]) -> None:
    client, _ = site
    client.post("/cart/apple")
    client.post("/cart/pear")
    assert client.get("/cart").text == "apple,pear"


def test_logout_deletes_the_cookie(site: tuple[httpx.Client, MemoryEngine]) -> None:
    client, engine = site
    client.get("/count")
    key = client.cookies["sessionid"]
    response = client.post("/logout")
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert "sessionid" not in client.cookies
    assert key not in engine.data
    assert client.get("/count").text == "1"


def test_cycle_key_changes_the_cookie_and_keeps_the_data(
    site: tuple[httpx.Client, MemoryEngine],
) -> None:
    client, _ = site
    client.get("/count")
    before = client.cookies["sessionid"]
    client.post("/login")
    assert client.cookies["sessionid"] != before
    assert client.get("/count").text == "2"


def test_vary_cookie_when_the_session_is_accessed(site: tuple[httpx.Client, MemoryEngine]) -> None:
    client, _ = site
    assert "Cookie" in client.get("/count").headers["vary"]


def test_no_set_cookie_when_the_session_is_untouched(
    site: tuple[httpx.Client, MemoryEngine],
) -> None:
    client, _ = site
    client.get("/count")
    response = client.get("/untouched")
    assert "set-cookie" not in response.headers
    assert "vary" not in response.headers


def test_tampered_cookie_gives_a_fresh_empty_session(
    site: tuple[httpx.Client, MemoryEngine],
) -> None:
    client, _ = site
    client.cookies.set("sessionid", "garbage!{not-a-key}")
    response = client.get("/count")
    assert response.status_code == 200
    assert response.text == "1"


def test_session_deleted_meanwhile_gives_400_not_resurrection(
    site: tuple[httpx.Client, MemoryEngine],
) -> None:
    client, engine = site
    client.get("/count")
    key = client.cookies["sessionid"]
    response = client.post("/race")
    assert response.status_code == 400
    assert "session ended" in response.text
    assert key not in engine.data
    assert client.get("/count").text == "1"
