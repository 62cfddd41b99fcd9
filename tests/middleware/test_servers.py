"""End to end over real HTTP on loopback: Flask on waitress, Starlette on uvicorn.

Each server runs in a thread on an ephemeral port and is shut down by its
fixture; httpx.Client keeps the cookies like a browser.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sessionware import asgi, wsgi

from ..engines import JsonSerializer, MemoryEngine

pytestmark = pytest.mark.http


def flask_app(engine: MemoryEngine) -> Any:
    from flask import Flask, request

    app = Flask(__name__)

    def session() -> Any:
        return wsgi.get_session(request.environ)

    @app.get("/count")
    def count() -> str:
        session()["n"] = session().get("n", 0) + 1
        return str(session()["n"])

    @app.post("/cart/<item>")
    def add(item: str) -> str:
        session().setdefault("cart", {"items": []})["items"].append(item)  # nested mutation
        return "added"

    @app.get("/cart")
    def cart() -> str:
        return ",".join(session().get("cart", {"items": []})["items"])

    @app.post("/login")
    def login() -> str:
        session().cycle_key()
        return "cycled"

    @app.post("/logout")
    def logout() -> str:
        session().flush()
        return "bye"

    @app.get("/untouched")
    def untouched() -> str:
        return "static"

    @app.post("/race")
    def race() -> str:
        s = session()
        s["n"] = s.get("n", 0) + 1
        engine.delete(s.session_key)  # another request logged out meanwhile
        return "raced"

    app.wsgi_app = wsgi.SessionMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, engine_instance=engine, serializer_instance=JsonSerializer()
    )
    return app


def starlette_app(engine: MemoryEngine) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def count(request: Request) -> PlainTextResponse:
        request.session["n"] = request.session.get("n", 0) + 1
        return PlainTextResponse(str(request.session["n"]))

    async def add(request: Request) -> PlainTextResponse:
        request.session.setdefault("cart", {"items": []})["items"].append(
            request.path_params["item"]
        )
        return PlainTextResponse("added")

    async def cart(request: Request) -> PlainTextResponse:
        return PlainTextResponse(",".join(request.session.get("cart", {"items": []})["items"]))

    async def login(request: Request) -> PlainTextResponse:
        await request.session.acycle_key()  # type: ignore[attr-defined]
        return PlainTextResponse("cycled")

    async def logout(request: Request) -> PlainTextResponse:
        await request.session.aflush()  # type: ignore[attr-defined]
        return PlainTextResponse("bye")

    async def untouched(request: Request) -> PlainTextResponse:
        return PlainTextResponse("static")

    async def race(request: Request) -> PlainTextResponse:
        request.session["n"] = request.session.get("n", 0) + 1
        engine.delete(request.session.session_key)  # type: ignore[attr-defined]
        return PlainTextResponse("raced")

    app = Starlette(
        routes=[
            Route("/count", count),
            Route("/cart/{item}", add, methods=["POST"]),
            Route("/cart", cart),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/untouched", untouched),
            Route("/race", race, methods=["POST"]),
        ]
    )
    return asgi.SessionMiddleware(app, engine_instance=engine, serializer_instance=JsonSerializer())


@pytest.fixture(scope="module")
def waitress_url() -> Iterator[tuple[str, MemoryEngine]]:
    import waitress

    engine = MemoryEngine()
    server = waitress.create_server(flask_app(engine), host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}", engine
    server.close()
    server.task_dispatcher.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def uvicorn_url() -> Iterator[tuple[str, MemoryEngine]]:
    import uvicorn

    engine = MemoryEngine()
    config = uvicorn.Config(
        starlette_app(engine), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", engine
    server.should_exit = True
    thread.join(5)


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
