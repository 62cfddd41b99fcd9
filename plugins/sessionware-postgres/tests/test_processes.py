"""Two app server processes share one database: a session made on one lives on the other.

One process is uvicorn serving the ASGI middleware (the engine's asyncio
pool), the other waitress serving the WSGI middleware (its blocking pool);
both use the same table, as the workers of one site on two machines would.
The browser is an httpx client whose cookie jar sends the session cookie to
both (cookies are not port-specific).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
def sites(module_apps: Any, pg_url: str, pg_schema: str) -> Iterator[tuple[str, str, str]]:
    table = f"procs_{uuid.uuid4().hex[:12]}"
    env = {"SW_PG_URL": pg_url, "SW_PG_SCHEMA": pg_schema, "SW_PG_TABLE": table}
    asgi_site, wsgi_site = module_apps.start(("asgi", env), ("wsgi", env))
    yield asgi_site, wsgi_site, table


def test_a_session_made_by_one_process_is_read_and_updated_by_the_other(
    sites: tuple[str, str, str], raw: psycopg.Connection[Any], pg_schema: str
) -> None:
    asgi_site, wsgi_site, table = sites
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
        assert browser.cookies["sessionid"] == key
    row = raw.execute(
        sql.SQL("SELECT version FROM {} WHERE session_key = %s").format(
            sql.Identifier(pg_schema, table)
        ),
        (key,),
    ).fetchone()
    assert row is not None and row[0] == 3  # created, then two saves: one row throughout


def test_users_on_both_processes_keep_their_own_sessions(sites: tuple[str, str, str]) -> None:
    asgi_site, wsgi_site, _ = sites
    with httpx.Client(timeout=10) as bob, httpx.Client(timeout=10) as carol:
        assert bob.get(f"{wsgi_site}/login", params={"user": "bob"}).status_code == 200
        assert carol.get(f"{asgi_site}/login", params={"user": "carol"}).status_code == 200
        for _ in range(3):
            assert bob.get(f"{asgi_site}/bump").json()["user"] == "bob"
            assert carol.get(f"{wsgi_site}/bump").json()["user"] == "carol"
        assert bob.get(f"{wsgi_site}/get").json()["n"] == 3
        assert carol.get(f"{asgi_site}/get").json()["n"] == 3
        # The ASGI process served all of that without building a blocking pool.
        assert bob.get(f"{asgi_site}/engine").json() == {"blocking_pool": False}
