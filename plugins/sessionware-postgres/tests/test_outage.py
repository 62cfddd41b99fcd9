"""PostgreSQL dies in the middle of a request loop and comes back; the app is never restarted.

A real app server process (uvicorn or waitress) serves five simulated users,
each with its own cookie jar, on a PostgreSQL this suite started itself
(`initdb` + `pg_ctl` on a free port; never the shared server). The server is
stopped with `pg_ctl stop -m immediate` (no shutdown checkpoint: crash
recovery on restart) mid-loop and started again on the same port and data
directory. Every response must be a 200 with the user's own data or the
configured outage answer (503): never a 500, never another user's session;
after the restart the same sessions and new ones work again.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.http

USERS = 5
#: Answers each user must get in each phase: before the stop, during it, after the restart.
ROUNDS = 6
UNAVAILABLE_BODY = b"The session store is unavailable right now. Please retry in a moment.\n"


@dataclass
class User:
    name: str
    browser: httpx.Client
    seen: list[tuple[int, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cookie: str = ""

    def login(self) -> None:
        login = self.browser.get("/login", params={"user": self.name})
        assert login.status_code == 200 and login.json()["user"] == self.name, login.text
        self.cookie = self.browser.cookies["sessionid"]

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                response = self.browser.get("/bump")
                body: Any = response.content
                if response.headers.get("content-type") == "application/json":
                    body = response.json()
            except Exception as exc:  # reported by check(), never lost in the thread
                self.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            self.seen.append((response.status_code, body))
            time.sleep(0.005)

    def served_since(self, index: int, count: int = ROUNDS) -> bool:
        own = [
            1 for status, body in self.seen[index:] if status == 200 and body["user"] == self.name
        ]
        return len(own) >= count


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the request loop made no progress"
        time.sleep(0.02)


def check(user: User) -> tuple[int, int]:
    """Assert every answer `user` got was allowed; return (served, outage answers)."""
    assert not user.errors, user.errors
    served = outage = 0
    counters = []
    for status, body in user.seen:
        if status == 503:
            assert body == UNAVAILABLE_BODY
            outage += 1
        elif status == 200 and body["user"] == user.name:
            served += 1
            counters.append(body["n"])
        else:
            pytest.fail(f"{user.name} got {status} {body!r}")
    # Each 200 was loaded and saved: the counter only goes up (a save that reached the
    # server before the connection broke may make it jump).
    assert counters == sorted(set(counters)), counters
    return served, outage


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_requests_survive_an_immediate_stop_and_recover_after_restart(
    kind: str, running_private: Any, serve_apps: Any
) -> None:
    server = running_private
    env = {
        "SW_PG_URL": server.url,
        "SW_PG_SCHEMA": "public",
        "SW_PG_TABLE": f"outage_{uuid.uuid4().hex[:12]}",
        "SW_ON_UNAVAILABLE": "error",
    }
    (base,) = serve_apps.start((kind, env))
    users = [User(f"user{i}", httpx.Client(base_url=base, timeout=15)) for i in range(USERS)]
    for user in users:
        user.login()
    stop = threading.Event()
    threads = [threading.Thread(target=u.run, args=(stop,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: all(u.served_since(0) for u in users))  # normal traffic
        server.stop("immediate")
        marks = [len(u.seen) for u in users]
        wait_for(lambda: all(len(u.seen) >= m + ROUNDS for u, m in zip(users, marks, strict=True)))
        server.start()  # same port and data directory: crash recovery, then it serves
        marks = [len(u.seen) for u in users]
        # Without restarting the app, every user is served again.
        wait_for(lambda: all(u.served_since(m) for u, m in zip(users, marks, strict=True)))
    finally:
        stop.set()
        for thread in threads:
            thread.join(20)
        for user in users:
            user.browser.close()

    totals = [check(u) for u in users]
    assert all(outage > 0 for _, outage in totals), "a user never met the outage"

    for user in users:  # every user's own session survived the crash
        with httpx.Client(base_url=base, timeout=10, cookies={"sessionid": user.cookie}) as b:
            again = b.get("/bump")
            assert again.status_code == 200 and again.json()["user"] == user.name
    with httpx.Client(base_url=base, timeout=10) as newcomer:
        assert newcomer.get("/login", params={"user": "newcomer"}).status_code == 200
        assert newcomer.get("/get").json()["user"] == "newcomer"
        if kind == "asgi":  # the event loop never fell back to the blocking pool
            assert newcomer.get("/engine").json() == {"blocking_pool": False}
