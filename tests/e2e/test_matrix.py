"""Every first-party engine with every first-party serializer, end to end over real HTTP.

Each combination runs the same user story through Flask on waitress (WSGI)
and Starlette on uvicorn (ASGI), with a browser-like cookie jar: a counter,
a nested mutation, a request that never touches the session, log-in with
``cycle_key``, a tampered cookie and log-out.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..first_party import ENGINES, SERIALIZERS, require
from ..servers import flask_app, serve_uvicorn, serve_waitress, starlette_app
from ..stores import POSTGRES_URL, drop_postgres_tables, forget_redis_prefix

pytestmark = pytest.mark.http

SECRET = "matrix-test-secret-" + "x" * 32

SERVERS: dict[str, tuple[Callable[..., Any], Callable[[Any], Any]]] = {
    "wsgi": (flask_app, serve_waitress),
    "asgi": (starlette_app, serve_uvicorn),
}


def engine_options(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    """What each engine needs to run in a test: its own file, directory or key prefix."""
    if engine == "db":
        return {"path": tmp_path / "sessions.sqlite3"}
    if engine == "file":
        return {"path": tmp_path}
    if engine == "redis":
        url = request.getfixturevalue("redis")
        return {"url": url, "prefix": f"sw-matrix-{uuid.uuid4().hex}:"}
    if engine == "postgres":
        return {"url": POSTGRES_URL, "table": f"sw_matrix_{uuid.uuid4().hex[:16]}"}
    return {}


def tampered(value: str) -> str:
    """``value`` with its middle character changed (every bit there is significant)."""
    middle = len(value) // 2
    swap = "b" if value[middle] != "b" else "c"
    return value[:middle] + swap + value[middle + 1 :]


@pytest.fixture(params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def site(
    request: pytest.FixtureRequest, tmp_path: Path, server: str, engine: str, serializer: str
) -> Iterator[httpx.Client]:
    require(engine, ENGINES[engine])
    require(serializer, SERIALIZERS[serializer])
    make_app, serve = SERVERS[server]
    app = make_app(
        engine=engine,
        serializer=serializer,
        secret_key=SECRET,
        **engine_options(engine, tmp_path, request),
    )
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client
    store = app.wsgi_app.rules.store_class if server == "wsgi" else app.rules.store_class
    store.engine.close()
    if engine == "redis":  # leave nothing behind on a shared server
        forget_redis_prefix(request.getfixturevalue("redis"), store.engine.prefix)
    if engine == "postgres":
        drop_postgres_tables(store.engine.table, store.engine.schema)


@pytest.mark.parametrize("serializer", sorted(SERIALIZERS))
@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_user_story(site: httpx.Client, engine: str, serializer: str) -> None:
    client = site
    counts = []
    for _ in range(3):
        response = client.get("/count")
        assert response.status_code == 200
        assert "sessionid=" in response.headers["set-cookie"]
        assert "Cookie" in response.headers["vary"]
        counts.append(response.text)
    assert counts == ["1", "2", "3"]

    client.post("/cart/apple")
    client.post("/cart/pear")  # nested mutation: saved by change detection
    assert client.get("/cart").text == "apple,pear"

    untouched = client.get("/untouched")
    assert untouched.text == "static"
    assert "set-cookie" not in untouched.headers and "vary" not in untouched.headers

    before = client.cookies["sessionid"]
    assert client.post("/login").text == "cycled"
    assert client.cookies["sessionid"] != before
    assert client.get("/count").text == "4"  # the data moved to the new key

    # Another browser sends a forged copy of the cookie: a fresh session, never a 500.
    forged = httpx.get(
        client.base_url.join("/count"), cookies={"sessionid": tampered(client.cookies["sessionid"])}
    )
    assert forged.status_code == 200 and forged.text == "1"
    assert client.get("/count").text == "5"  # the real session is unharmed

    logout = client.post("/logout")
    assert "Max-Age=0" in logout.headers["set-cookie"]
    assert "sessionid" not in client.cookies
    assert client.get("/count").text == "1"
