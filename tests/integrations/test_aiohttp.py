"""sessionware.aiohttp over real HTTP: aiohttp's own server on a loopback port, aiohttp's client.

The server runs on the test's event loop (``AppRunner`` + ``TCPSite``), so a
blocking-call detector switched on around a request sees both the server's
and the client's side. Every behaviour runs on the db and redis engines.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from blockbuster import blockbuster_ctx
from cryptography.fernet import Fernet

import sessionware
from sessionware import SessionConfig, SessionStore
from sessionware.aiohttp import RULES_KEY, get_session, new_session, setup
from sessionware.http._rules import UNAVAILABLE_BODY

pytestmark = pytest.mark.http

NAME = "sessionid"


# -- servers and clients ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["db", "redis"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Engine settings for one engine; each test gets its own store."""
    if request.param == "db":
        return {"engine": "db", "path": str(tmp_path / "sessions.db")}
    url = request.getfixturevalue("redis")
    return {"engine": "redis", "url": url, "prefix": f"sw-aiohttp-test:{uuid.uuid4().hex}:"}


def make_app(**settings: Any) -> tuple[web.Application, type[SessionStore]]:
    """Every route the tests use, with sessionware set up with ``settings``."""
    app = web.Application()
    store = setup(app, **settings)
    routes = web.RouteTableDef()

    @routes.get("/count")
    async def count(request: web.Request) -> web.Response:
        session = await get_session(request)
        session["n"] = session.get("n", 0) + 1
        return web.Response(text=str(session["n"]))

    @routes.get("/read")
    async def read(request: web.Request) -> web.Response:
        session = await get_session(request)
        return web.json_response(session)  # json.dumps reads the dict through C

    @routes.get("/read-orjson")
    async def read_orjson(request: web.Request) -> web.Response:
        session = await get_session(request)
        return web.json_response(session, dumps=lambda o: orjson.dumps(o).decode())

    @routes.get("/remember")
    async def remember(request: web.Request) -> web.Response:
        session = await get_session(request)
        session["seen"] = True
        raise web.HTTPSeeOther("/read")

    @routes.post("/wrapped")
    async def wrapped(request: web.Request) -> web.Response:
        session = await get_session(request)
        try:
            await session.acycle_key()
        except sessionware.EngineUnavailable as exc:
            raise RuntimeError("login failed") from exc  # the app's own error, a 500
        return web.Response(text="in")

    @routes.get("/untouched")
    async def untouched(request: web.Request) -> web.Response:
        return web.Response(text="static")

    @routes.post("/login")
    async def login(request: web.Request) -> web.Response:
        session = await get_session(request)
        await session.acycle_key()
        session["user"] = "alice"
        raise web.HTTPFound("/read")

    @routes.post("/logout")
    async def logout(request: web.Request) -> web.Response:
        session = await get_session(request)
        await session.aflush()
        return web.Response(text="bye")

    @routes.post("/fresh")
    async def fresh(request: web.Request) -> web.Response:
        session = await new_session(request)
        session["user"] = "bob"
        return web.Response(text="fresh")

    @routes.get("/stream")
    async def stream(request: web.Request) -> web.StreamResponse:
        session = await get_session(request)
        session["streamed"] = session.get("streamed", 0) + 1
        response = web.StreamResponse()
        if "gzip" in request.query:
            response.enable_compression()
        await response.prepare(request)  # headers leave here, before the handler returns
        for part in (b"one,", b"two,", b"three"):
            await response.write(part)
        await response.write_eof()
        return response

    @routes.get("/ws")
    async def websocket(request: web.Request) -> web.WebSocketResponse:
        session = await get_session(request)
        session["ws"] = True  # before the handshake: saved when its headers go out
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(str(session.get("n")))
        await ws.close()
        return ws

    sub = web.Application()

    async def sub_count(request: web.Request) -> web.Response:
        session = await get_session(request)
        session["n"] = session.get("n", 0) + 1
        return web.Response(text=str(session["n"]))

    sub.router.add_get("/count", sub_count)
    app.add_routes(routes)
    app.add_subapp("/sub", sub)
    return app, store


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` with aiohttp's own server on a free loopback port; yield its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that keeps no cookies of its own: each test sends the ones it means to."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        yield http


class Reply:
    """What a test looks at in a response, read before the connection is released."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.text = body.decode()

    @property
    def set_cookies(self) -> list[str]:
        return list(self.headers.getall("Set-Cookie", []))

    @property
    def cookie(self) -> str | None:
        """The session cookie's new value (``""`` when deleted), ``None`` when not set."""
        for header in self.set_cookies:
            name, _, rest = header.partition("=")
            if name == NAME:
                value = rest.split(";", 1)[0]
                return "" if "Max-Age=0" in header else value
        return None

    @property
    def vary(self) -> str:
        return ", ".join(self.headers.getall("Vary", []))


async def call(
    http: aiohttp.ClientSession, method: str, url: str, cookie: str | None = None
) -> Reply:
    """``cookie`` is a whole Cookie header when it holds ``=``, else the session key."""
    headers = {}
    if cookie is not None:
        headers["Cookie"] = cookie if "=" in cookie else f"{NAME}={cookie}"
    async with http.request(method, url, headers=headers, allow_redirects=False) as response:
        return Reply(response.status, response.headers, await response.read())


# -- the behaviours ----------------------------------------------------------------------


async def test_counter_increments_across_requests(settings: dict[str, Any]) -> None:
    app, _ = make_app(**settings)
    async with serve(app) as base, client() as http:
        first = await call(http, "GET", f"{base}/count")
        assert (first.status, first.text) == (200, "1")
        key = first.cookie
        assert key
        second = await call(http, "GET", f"{base}/count", key)
        third = await call(http, "GET", f"{base}/count", key)
        assert (second.text, third.text) == ("2", "3")
        assert second.cookie == key  # the same session, its expiry refreshed


async def test_cookie_attributes_follow_the_settings(settings: dict[str, Any]) -> None:
    app, _ = make_app(**settings, cookie_name="sid", cookie_age=600, cookie_samesite="Strict")
    async with serve(app) as base, client() as http:
        reply = await call(http, "GET", f"{base}/count")
        header = reply.set_cookies[0]
        assert header.startswith("sid=")
        assert "Max-Age=600" in header and "SameSite=Strict" in header
        assert "HttpOnly" in header and "Path=/" in header


async def test_login_rotates_the_key_and_the_redirect_carries_the_cookie(
    settings: dict[str, Any],
) -> None:
    app, store = make_app(**settings)
    async with serve(app) as base, client() as http:
        old = (await call(http, "GET", f"{base}/count")).cookie
        assert old
        login = await call(http, "POST", f"{base}/login", old)
        assert login.status == 302 and login.headers["Location"] == "/read"
        new = login.cookie
        assert new and new != old
        assert "Cookie" in login.vary
        assert not await store().aexists(old)  # no fixation: the old key is gone
        after = await call(http, "GET", f"{base}/read", new)
        assert json.loads(after.text) == {"n": 1, "user": "alice"}
        stale = await call(http, "GET", f"{base}/read", old)
        assert json.loads(stale.text) == {}


async def test_logout_deletes_the_stored_session_and_the_cookie(settings: dict[str, Any]) -> None:
    app, store = make_app(**settings)
    async with serve(app) as base, client() as http:
        key = (await call(http, "GET", f"{base}/count")).cookie
        assert key and await store().aexists(key)
        bye = await call(http, "POST", f"{base}/logout", key)
        assert (bye.status, bye.text) == (200, "bye")
        assert bye.cookie == ""  # deleted: Max-Age=0
        assert not await store().aexists(key)
        again = await call(http, "GET", f"{base}/count", key)
        assert again.text == "1" and again.cookie != key


async def test_new_session_drops_the_old_one_and_saves_under_a_new_key(
    settings: dict[str, Any],
) -> None:
    app, store = make_app(**settings)
    async with serve(app) as base, client() as http:
        old = (await call(http, "GET", f"{base}/count")).cookie
        assert old
        reply = await call(http, "POST", f"{base}/fresh", old)
        new = reply.cookie
        assert new and new != old
        assert not await store().aexists(old)
        data = await call(http, "GET", f"{base}/read", new)
        assert json.loads(data.text) == {"user": "bob"}


async def test_a_streamed_response_carries_the_cookie_and_is_saved(
    settings: dict[str, Any],
) -> None:
    app, _ = make_app(**settings)
    async with serve(app) as base, client() as http:
        first = await call(http, "GET", f"{base}/stream")
        assert (first.status, first.text) == (200, "one,two,three")
        assert first.headers.get("Transfer-Encoding") == "chunked"
        key = first.cookie
        assert key and "Cookie" in first.vary
        second = await call(http, "GET", f"{base}/stream", key)
        assert second.text == "one,two,three"
        assert json.loads((await call(http, "GET", f"{base}/read", key)).text) == {"streamed": 2}


async def test_a_websocket_handshake_saves_the_session(settings: dict[str, Any]) -> None:
    app, _ = make_app(**settings)
    async with serve(app) as base, client() as http:
        key = (await call(http, "GET", f"{base}/count")).cookie
        assert key
        async with http.ws_connect(f"{base}/ws", headers={"Cookie": f"{NAME}={key}"}) as ws:
            assert await ws.receive_str() == "1"
        data = await call(http, "GET", f"{base}/read", key)
        assert json.loads(data.text) == {"n": 1, "ws": True}


async def test_a_sub_application_shares_the_session(settings: dict[str, Any]) -> None:
    app, _ = make_app(**settings)
    async with serve(app) as base, client() as http:
        key = (await call(http, "GET", f"{base}/count")).cookie
        reply = await call(http, "GET", f"{base}/sub/count", key)
        assert reply.text == "2" and reply.cookie == key


async def test_vary_cookie_only_when_the_session_is_used(settings: dict[str, Any]) -> None:
    app, _ = make_app(**settings)
    async with serve(app) as base, client() as http:
        key = (await call(http, "GET", f"{base}/count")).cookie
        read = await call(http, "GET", f"{base}/read", key)
        assert "Cookie" in read.vary
        assert read.cookie is None  # read, not changed: no Set-Cookie
        assert json.loads(read.text) == {"n": 1}  # the stored data, through json.dumps
        fast = await call(http, "GET", f"{base}/read-orjson", key)
        assert json.loads(fast.text) == {"n": 1}  # orjson reads the dict through C, unseen...
        assert "Cookie" in fast.vary  # ... so handing the session out counts as reading it
        untouched = await call(http, "GET", f"{base}/untouched", key)
        assert untouched.vary == "" and untouched.set_cookies == []
        anonymous = await call(http, "GET", f"{base}/untouched")
        assert anonymous.vary == "" and anonymous.set_cookies == []


async def test_hostile_cookies_give_an_empty_session_never_a_500(
    settings: dict[str, Any],
) -> None:
    app, store = make_app(**settings)
    expired = sessionware.new_session_key()
    # Stored with an expiry already past: db keeps an expired row, Redis nothing live.
    store.engine.save(expired, b'{"user": "mallory"}', time.time() - 60, must_create=True)
    cookies = [
        f"{NAME}={sessionware.new_session_key()}",  # well-formed, never issued (forged)
        f"{NAME}={expired}",
        f"{NAME}=not a key!",
        f'{NAME}="quoted"',
        f"{NAME}=../../../etc/passwd",
        f"{NAME}={'a' * 3000}",
        f"{NAME}=%00%0d%0a",
        f"{NAME}=é€",
        f"{NAME}=; {NAME}=; ;;; =oops; x",
        f"other=1; {NAME}",
    ]
    async with serve(app) as base, client() as http:
        for cookie in cookies:
            read = await call(http, "GET", f"{base}/read", cookie)
            assert read.status == 200, cookie
            assert json.loads(read.text) == {}, cookie
            count = await call(http, "GET", f"{base}/count", cookie)
            assert (count.status, count.text) == (200, "1"), cookie
            assert count.cookie and count.cookie != cookie.split("=", 1)[1]


async def test_an_aiohttp_session_cookie_is_an_empty_session_once(
    settings: dict[str, Any],
) -> None:
    # What aiohttp-session's EncryptedCookieStorage sends: a Fernet token of its JSON.
    token = Fernet(Fernet.generate_key()).encrypt(
        json.dumps({"created": int(time.time()), "session": {"user": "alice"}}).encode()
    )
    legacy = f"AIOHTTP_SESSION={token.decode()}"
    app, _ = make_app(**settings)
    kept_name, _ = make_app(**settings, cookie_name="AIOHTTP_SESSION")
    async with client() as http:
        async with serve(app) as base:
            ignored = await call(http, "GET", f"{base}/untouched", legacy)
            assert ignored.set_cookies == []  # another cookie name: left alone
            fresh = await call(http, "GET", f"{base}/count", legacy)
            assert fresh.text == "1" and fresh.cookie
        async with serve(kept_name) as base:
            read = await call(http, "GET", f"{base}/read", legacy)
            assert read.status == 200 and json.loads(read.text) == {}
            # An emptied cookie under the same name is deleted...
            assert any(h.startswith("AIOHTTP_SESSION=") for h in read.set_cookies)
            count = await call(http, "GET", f"{base}/count", legacy)
            key = count.set_cookies[0].split(";")[0].split("=", 1)[1]
            assert sessionware.is_valid_key(key)  # ... or replaced by a sessionware key
            again = await call(http, "GET", f"{base}/count", f"AIOHTTP_SESSION={key}")
            assert again.text == "2"
            # RedisStorage's cookie holds a uuid4 hex: a well-formed key that names nothing here.
            redis_key = await call(
                http, "GET", f"{base}/read", f"AIOHTTP_SESSION={uuid.uuid4().hex}"
            )
            assert redis_key.status == 200 and json.loads(redis_key.text) == {}


# -- outages ------------------------------------------------------------------------------


def dead_redis(**extra: Any) -> dict[str, Any]:
    """Settings pointing at a loopback port nothing listens on."""
    return {
        "engine": "redis",
        "url": f"redis://127.0.0.1:{free_port()}/0",
        "socket_connect_timeout": 0.5,
        **extra,
    }


async def test_outage_answers_503_with_policy_error() -> None:
    app, _ = make_app(**dead_redis(on_unavailable="error"))
    key = sessionware.new_session_key()
    async with serve(app) as base, client() as http:
        for path, cookie in (
            ("/read", key),
            ("/count", key),
            ("/count", None),
            ("/remember", None),  # a raised HTTPException whose save fails
            ("/stream", None),
        ):
            reply = await call(http, "GET", f"{base}{path}", cookie)
            assert reply.status == 503, path
            assert reply.body == UNAVAILABLE_BODY, path
            assert reply.headers["Cache-Control"] == "no-store"
            assert reply.set_cookies == []
        logout = await call(http, "POST", f"{base}/logout", key)
        assert logout.status == 503 and logout.text != "bye"
        wrapped = await call(http, "POST", f"{base}/wrapped")
        assert wrapped.status == 503  # the store's failure, not the app's 500 around it
        untouched = await call(http, "GET", f"{base}/untouched", key)
        assert untouched.status == 200  # no session used, no store needed


async def test_outage_runs_with_an_empty_session_with_policy_empty() -> None:
    app, _ = make_app(**dead_redis(on_unavailable="empty"))
    key = sessionware.new_session_key()
    async with serve(app) as base, client() as http:
        read = await call(http, "GET", f"{base}/read", key)
        assert read.status == 200 and json.loads(read.text) == {}
        assert read.cookie is None  # the cookie is kept for when the store is back
        count = await call(http, "GET", f"{base}/count")
        assert (count.status, count.text) == (200, "1")
        assert count.cookie is None  # nothing was saved, so no cookie points at nothing
        logout = await call(http, "POST", f"{base}/logout", key)
        assert logout.status == 503 and logout.text != "bye"  # the stored session may live on
        login = await call(http, "POST", f"{base}/login", key)
        assert login.status == 503  # the old key could not be retired


class Proxy:
    """A TCP proxy to Redis on loopback that can be cut: an outage in the middle of a request."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.up = True
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/0"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        """Close every connection and refuse new ones (the handler's next call fails)."""
        self.up = False
        for writer in self.writers:
            writer.close()

    async def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.mark.parametrize("policy", ["error", "empty"])
async def test_a_logout_whose_delete_fails_does_not_answer_as_if_it_succeeded(
    redis: str, policy: str
) -> None:
    host, port = redis.removeprefix("redis://").split("/")[0].split(":")
    proxy = Proxy((host, int(port)))
    url = await proxy.start()
    app, store = make_app(
        engine="redis",
        url=url,
        prefix=f"sw-aiohttp-test:{uuid.uuid4().hex}:",
        on_unavailable=policy,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )

    @web.middleware
    async def cut_before_logout(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/logout":
            await get_session(request)  # loaded while the store is up
            proxy.cut()
        return await handler(request)

    app.middlewares.append(cut_before_logout)
    try:
        async with serve(app) as base, client() as http:
            key = (await call(http, "GET", f"{base}/count")).cookie
            assert key
            logout = await call(http, "POST", f"{base}/logout", key)
            assert logout.status == 503 and logout.text != "bye"
            assert logout.set_cookies == []  # the browser keeps its (still valid) cookie
        checker = sessionware.session_store(engine="redis", url=redis, prefix=store.engine.prefix)  # type: ignore[attr-defined]
        assert await checker().aexists(key)  # still logged in: the client was told it failed
        await checker.engine.aclose()  # type: ignore[attr-defined]
    finally:
        await proxy.close()


async def test_a_streamed_response_whose_save_fails_is_replaced_by_a_503() -> None:
    app, _ = make_app(**dead_redis(on_unavailable="error"))
    async with serve(app) as base, client() as http:
        for path in ("/stream", "/stream?gzip=1"):  # chunked; chunked and compressed
            reply = await call(http, "GET", f"{base}{path}")
            assert reply.status == 503, path
            assert reply.body == UNAVAILABLE_BODY, path  # framed right, nothing of the stream
            follow = await call(http, "GET", f"{base}/untouched")
            assert follow.text == "static"  # the connection and the server are fine after it


# -- the event loop -----------------------------------------------------------------------


async def cycle(base: str) -> None:
    """Log in, count, read, log out: every store operation of the integration."""
    async with client() as http:
        key = (await call(http, "GET", f"{base}/count")).cookie
        login = await call(http, "POST", f"{base}/login", key)
        assert login.status == 302
        key = login.cookie
        assert (await call(http, "GET", f"{base}/count", key)).text == "2"
        assert (await call(http, "GET", f"{base}/stream", key)).status == 200
        assert (await call(http, "POST", f"{base}/logout", key)).cookie == ""


async def run_under_blockbuster(settings: dict[str, Any]) -> None:
    app, _ = make_app(**settings)
    async with serve(app) as base:
        await cycle(base)  # warm up: first connections, lazy imports
        with blockbuster_ctx():
            await cycle(base)


async def test_no_blocking_call_on_the_loop_with_redis(redis: str) -> None:
    await run_under_blockbuster(
        {"engine": "redis", "url": redis, "prefix": f"sw-aiohttp-test:{uuid.uuid4().hex}:"}
    )


async def test_no_blocking_call_on_the_loop_with_db(tmp_path: Path) -> None:
    await run_under_blockbuster({"engine": "db", "path": str(tmp_path / "s.db")})


# -- setup ----------------------------------------------------------------------------------


def test_setup_fails_at_once_for_an_unknown_engine_or_option(tmp_path: Path) -> None:
    with pytest.raises(sessionware.EngineNotFound):
        setup(web.Application(), engine="nope")
    with pytest.raises(sessionware.ConfigurationError, match="colour"):
        setup(web.Application(), engine="db", path=str(tmp_path / "s.db"), colour="red")
    with pytest.raises(sessionware.ConfigurationError, match="cookie_age"):
        setup(web.Application(), engine="db", path=str(tmp_path / "s.db"), cookie_age=-1)


def test_setup_takes_a_config_and_refuses_a_second_call(tmp_path: Path) -> None:
    app = web.Application()
    config = SessionConfig(engine="db", engine_options={"path": str(tmp_path / "s.db")})
    store = setup(app, config=config, cookie_name="sid")
    assert app[RULES_KEY].config.cookie_name == "sid"
    assert store.engine.name == "db"
    with pytest.raises(sessionware.ConfigurationError, match="already"):
        setup(app, config=config)


async def test_get_session_without_setup_says_what_to_do() -> None:
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        try:
            await get_session(request)
        except RuntimeError as exc:
            return web.Response(text=str(exc))
        return web.Response(text="no error")

    app.router.add_get("/", handler)
    async with serve(app) as base, client() as http:
        reply = await call(http, "GET", f"{base}/")
        assert "sessionware.aiohttp.setup(app" in reply.text


def test_the_core_imports_without_aiohttp_and_the_integration_names_the_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['aiohttp'] = None\n"  # as if it were not installed
        "import sessionware, sessionware.http.asgi, sessionware.http.wsgi\n"
        "try:\n"
        "    import sessionware.aiohttp\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert 'pip install "sessionware[aiohttp]"' in out.stdout
