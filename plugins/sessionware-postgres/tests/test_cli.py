"""`python -m sessionware_postgres create-schema`: print the SQL, or run it, as a real command."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import psycopg
import pytest
from sessionware_postgres.__main__ import main

SECRET = "Cli-Secret-42"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sessionware_postgres", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_print_shows_the_sql_without_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://owner:{SECRET}@203.0.113.1:5432/app"  # TEST-NET: nothing answers
    code = main(
        ["create-schema", "--url", url, "--schema", "web", "--unlogged", "--print",
         "--grant-to", "app"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "BEGIN;" and lines[-1] == "COMMIT;"
    assert 'CREATE SCHEMA IF NOT EXISTS "web";' in lines
    assert any(
        line.startswith('CREATE UNLOGGED TABLE IF NOT EXISTS "web"."sessionware_session"')
        for line in lines
    )
    assert 'GRANT USAGE ON SCHEMA "web" TO "app";' in lines
    assert SECRET not in out


def test_create_schema_runs_against_the_server_and_is_idempotent(
    pg_url: str, pg_schema: str, raw: psycopg.Connection[Any]
) -> None:
    table = f"cli_{uuid.uuid4().hex[:12]}"
    for _ in range(2):
        done = run("create-schema", "--url", pg_url, "--schema", pg_schema, "--table", table)
        assert done.returncode == 0, done.stderr
        assert f"{pg_schema}.{table}" in done.stdout
    found = raw.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename IN (%s, %s)",
        (pg_schema, table, f"{table}_locks"),
    ).fetchone()
    assert found is not None and found[0] == 2


def test_an_unreachable_server_is_one_line_without_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["create-schema", "--url", f"postgresql://owner:{SECRET}@127.0.0.1:1/app"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ") and "127.0.0.1:1" in err
    assert SECRET not in err


def test_a_bad_option_is_an_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["create-schema", "--table", "Bad-Name", "--print"]) == 1
    assert "table" in capsys.readouterr().err
