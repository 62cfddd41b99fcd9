"""The plain WSGI app of ``ours_wsgi`` with ``engine="postgres"`` (gunicorn).

``BENCH_POSTGRES_URL`` is the server, ``BENCH_POSTGRES_SCHEMA`` the schema of the
engine's table (made beforehand by ``compare_throughput_postgres.py``); everything else
is the engine's defaults (a pool per worker process, json serializer).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from apps._env import touch
from sessionware.http.wsgi import ENVIRON_KEY, WSGISessionMiddleware

URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = os.environ.get("BENCH_POSTGRES_SCHEMA", "sessionware_bench")


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    body = str(touch(environ[ENVIRON_KEY])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


app = WSGISessionMiddleware(_app, engine="postgres", url=URL, schema=SCHEMA)
