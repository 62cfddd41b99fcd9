"""Starlette with its own SessionMiddleware (signed cookie, defaults) (uvicorn)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from apps._env import SECRET, touch


async def index(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(touch(request.session)))


app = Starlette(
    routes=[Route("/", index)], middleware=[Middleware(SessionMiddleware, secret_key=SECRET)]
)
