"""Starlette wrapped in sessionware's ASGI ASGISessionMiddleware (uvicorn)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from apps._env import ours, touch
from sessionware.http.asgi import ASGISessionMiddleware


async def index(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(touch(request.session)))


app = ASGISessionMiddleware(Starlette(routes=[Route("/", index)]), **ours())
