"""A plain ASGI callable wrapped in sessionware's ASGI ASGISessionMiddleware (uvicorn)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from apps._env import ours, touch
from sessionware.http.asgi import ASGISessionMiddleware


async def _app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":  # nothing to set up or tear down
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = str(touch(scope["session"])).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


app = ASGISessionMiddleware(_app, **ours())
