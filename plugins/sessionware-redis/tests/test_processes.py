"""Two app server processes share one Redis: a session made on one lives on the other.

One process is uvicorn serving the ASGI middleware (native asyncio), the other
waitress serving the WSGI middleware (blocking client); both point at the same
server with the same prefix, as the workers of one site on two machines would.
The browser is an httpx client whose cookie jar sends the session cookie to
both (cookies are not port-specific).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
def sites(module_apps: Any, redis_url: str, raw: redis.Redis) -> Iterator[tuple[str, str, str]]:
    """An ASGI and a WSGI server process on the same Redis and prefix."""
    prefix = f"swtest-procs-{uuid.uuid4().hex[:12]}:"
    asgi_site, wsgi_site = module_apps.start(
        ("asgi", redis_url, prefix, "error"), ("wsgi", redis_url, prefix, "error")
    )
    yield asgi_site, wsgi_site, prefix
    for key in raw.scan_iter(match=f"{prefix}*"):
        raw.delete(key)


def test_session_created_on_one_process_is_read_and_updated_on_the_other(
    sites: tuple[str, str, str], raw: redis.Redis
) -> None:
    asgi_site, wsgi_site, prefix = sites
    with httpx.Client(timeout=10) as browser:
        made = browser.get(f"{asgi_site}/login", params={"user": "alice"})
        assert made.status_code == 200
        key = browser.cookies["sessionid"]

        read = browser.get(f"{wsgi_site}/get").json()
        assert (read["user"], read["n"]) == ("alice", 0)
        assert read["pid"] != made.json()["pid"]

        assert browser.get(f"{wsgi_site}/bump").json()["n"] == 1
        assert browser.get(f"{asgi_site}/bump").json()["n"] == 2
        assert browser.get(f"{wsgi_site}/get").json() == {**read, "n": 2}
        assert browser.cookies["sessionid"] == key  # one session throughout, never a new one
    # Exactly one key in Redis for it: under the shared prefix, named by the cookie.
    assert raw.exists(prefix + key) == 1


def test_session_created_on_the_wsgi_process_is_updated_by_the_asgi_one(
    sites: tuple[str, str, str],
) -> None:
    asgi_site, wsgi_site, _ = sites
    with httpx.Client(timeout=10) as bob, httpx.Client(timeout=10) as carol:
        assert bob.get(f"{wsgi_site}/login", params={"user": "bob"}).status_code == 200
        assert carol.get(f"{asgi_site}/login", params={"user": "carol"}).status_code == 200
        for _ in range(3):
            assert bob.get(f"{asgi_site}/bump").json()["user"] == "bob"
            assert carol.get(f"{wsgi_site}/bump").json()["user"] == "carol"
        assert bob.get(f"{wsgi_site}/get").json()["n"] == 3
        assert carol.get(f"{asgi_site}/get").json()["n"] == 3
        # The ASGI process served all of that without building a blocking client.
        assert bob.get(f"{asgi_site}/engine").json() == {"blocking_client": False}
