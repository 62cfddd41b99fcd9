"""The tiny app the multi-process tests serve, over ASGI (uvicorn) or WSGI (waitress).

Run as `python _apps.py asgi|wsgi PORT`; configured by environment:
`SW_PG_URL`, `SW_PG_SCHEMA`, `SW_PG_TABLE`, `SW_ON_UNAVAILABLE` (`error` or
`empty`). Routes answer JSON: `/login?user=NAME` puts a user in the session,
`/bump` increments the session's counter, `/get` reads it, `/health` touches
no session, `/engine` says whether the engine ever built its blocking pool
(it must not, under ASGI). Keeps its own stdlib-json serializer so it needs
no serializer plugin.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from sessionware import SerializationError, SessionStore
from sessionware.http import asgi, wsgi


class PlainJson:
    """Compact JSON: enough for these tests' sessions."""

    name = "plain_json"

    def dumps(self, data: dict[str, Any]) -> bytes:
        return json.dumps(data, separators=(",", ":")).encode()

    def loads(self, raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise SerializationError(str(exc)) from exc
        if not isinstance(data, dict):
            raise SerializationError("not an object")
        return data


def settings() -> dict[str, Any]:
    return {
        "engine": "postgres",
        "url": os.environ["SW_PG_URL"],
        "schema": os.environ["SW_PG_SCHEMA"],
        "table": os.environ["SW_PG_TABLE"],
        "on_unavailable": os.environ.get("SW_ON_UNAVAILABLE", "error"),
        "serializer_instance": PlainJson(),
        "connect_timeout": 2,
        "statement_timeout": 2.0,
        "pool_timeout": 2.0,
    }


def handle(session: SessionStore, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
    if path == "/login":
        session["user"] = query["user"][0]
        session["n"] = 0
    elif path == "/bump":
        session["n"] = session.get("n", 0) + 1
    return {"user": session.get("user"), "n": session.get("n"), "pid": os.getpid()}


async def _asgi_routes(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path = scope["path"]
    if path == "/health":
        body: dict[str, Any] = {"ok": True}
    elif path == "/engine":
        body = {"blocking_pool": asgi_app.rules.store_class.engine._sync is not None}
    else:
        query = parse_qs(scope["query_string"].decode())
        body = handle(scope["session"], path, query)
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _wsgi_routes(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    if path == "/health":
        body: dict[str, Any] = {"ok": True}
    else:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        body = handle(wsgi.get_session(environ), path, query)
    payload = json.dumps(body).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "asgi":
        import uvicorn

        asgi_app = asgi.ASGISessionMiddleware(_asgi_routes, **settings())
        uvicorn.run(
            asgi_app,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            access_log=False,
        )
    else:
        import waitress

        wsgi_app = wsgi.WSGISessionMiddleware(_wsgi_routes, **settings())
        waitress.serve(wsgi_app, host="127.0.0.1", port=port, threads=8, _quiet=True)
