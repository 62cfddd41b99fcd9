"""The demo app, started exactly as users start it (``sessionware demo``), driven over HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import sessionware

pytestmark = pytest.mark.http

installed = {e for p in sessionware.list_plugins() for e in p.engines}
requires_db = pytest.mark.skipif(
    not os.environ.get("CI") and "db" not in installed,
    reason="sessionware-db is not installed (nox -s tests installs it)",
)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """Run ``sessionware demo`` on a free port; yield its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONWARE_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sessionware",
            "demo",
            "--port",
            "0",
            "-o",
            f"path={tmp_path / 'demo.sqlite3'}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, f"demo did not start: {line}{proc.stdout.read() if proc.poll() else ''}"
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


@requires_db
def test_demo_counts_visits_logs_in_and_out_and_keeps_a_cart(demo: str) -> None:
    with httpx.Client(base_url=demo, timeout=10) as client:
        first = client.get("/")
        assert first.status_code == 200 and "id=visits>1<" in first.text
        cookie = first.cookies["sessionid"]
        assert (
            "HttpOnly" in first.headers["set-cookie"]
            and "SameSite=Lax" in first.headers["set-cookie"]
        )
        assert "id=visits>2<" in client.get("/").text

        client.post("/login", data={"username": "ada"})
        after_login = client.cookies["sessionid"]
        assert after_login != cookie  # cycle_key at log-in
        page = client.get("/")
        assert "Logged in as <b>ada</b>" in page.text and "id=visits>3<" in page.text

        client.post("/cart", data={"item": "tea"})
        client.post("/cart", data={"item": "milk"})  # nested mutation: must be saved
        cart = client.get("/cart").text
        assert "<li>tea</li><li>milk</li>" in cart

        info = client.get("/session").text
        assert "db (" in info and "json" in info and "sessionid" in info

        client.post("/logout")
        assert "sessionid" not in client.cookies
        assert "Log in" in client.get("/").text


@requires_db
def test_demo_answers_404_and_405_without_tracebacks(demo: str) -> None:
    with httpx.Client(base_url=demo, timeout=10) as client:
        assert client.get("/nope").status_code == 404
        assert client.get("/login").status_code == 405
        hostile = 'sessionid=../../etc/passwd; x="unterminated; =novalue; ;;'
        garbage = client.get("/", headers={"Cookie": hostile})
        assert garbage.status_code == 200 and "Traceback" not in garbage.text
