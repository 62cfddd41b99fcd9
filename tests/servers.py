"""Real servers for the end-to-end tests: apps with every session route, and serve helpers.

``flask_app``/``starlette_app`` put sessionware's WSGI/ASGI middleware (configured
with the given settings) in front of the same routes; ``serve_waitress`` and
``serve_uvicorn`` run an app in a thread on a free loopback port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sessionware.http import asgi, wsgi


def flask_app(**settings: Any) -> Any:
    """A Flask app behind sessionware's WSGI middleware configured with ``settings``."""
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
        type(s).engine.delete(s.session_key)  # another request logged out meanwhile
        return "raced"

    app.wsgi_app = wsgi.WSGISessionMiddleware(app.wsgi_app, **settings)  # type: ignore[method-assign]
    return app


def starlette_app(**settings: Any) -> Any:
    """A Starlette app behind sessionware's ASGI middleware configured with ``settings``."""
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
        engine = type(request.session).engine  # type: ignore[attr-defined]
        await engine.adelete(request.session.session_key)  # type: ignore[attr-defined]
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
    return asgi.ASGISessionMiddleware(app, **settings)


@contextmanager
def serve_waitress(app: Any) -> Iterator[str]:
    """Serve a WSGI app with waitress in a thread on a free port; yield its base URL.

    The loop thread stops itself: closing the server's sockets from another
    thread races with its ``select`` (an ``EBADF`` in a waitress thread). It
    stops polling, lets the handler threads finish, then closes everything.
    """
    import waitress
    from waitress import wasyncore

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=2)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            wasyncore.loop(timeout=0.02, map=server._map, count=1)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(10)


@contextmanager
def serve_uvicorn(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on a free port; yield its base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(5)
