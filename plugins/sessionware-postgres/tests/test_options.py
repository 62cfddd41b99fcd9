"""Options and URLs: every mistake is a ConfigurationError at construction, naming the option,
without contacting any server, and no message ever shows a password."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import psycopg_pool
import pytest
from sessionware_postgres import PostgresEngine

import sessionware

SECRET = "hunter2-Very-Secret"


@pytest.fixture(autouse=True)
def no_server_contact(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Construction must not connect, nor even build a pool."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the engine contacted the server at construction")

    sessionware.list_plugins()  # discovery once, outside the timed constructions
    monkeypatch.setattr(psycopg.Connection, "connect", refuse)
    monkeypatch.setattr(psycopg_pool.ConnectionPool, "__init__", refuse)
    yield


def make(**options: Any) -> PostgresEngine:
    engine = sessionware.get_engine("postgres", **options)
    assert isinstance(engine, PostgresEngine)
    return engine


def refused(field: str, **options: Any) -> sessionware.ConfigurationError:
    started = time.perf_counter()
    with pytest.raises(sessionware.ConfigurationError) as caught:
        make(**options)
    assert time.perf_counter() - started < 1.0
    assert caught.value.field == f"engine_options.{field}", caught.value
    assert SECRET not in str(caught.value)
    assert "postgres engine option" in str(caught.value)
    return caught.value


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (f"mysql://app:{SECRET}@db.example/app", "not a PostgreSQL URL"),
        (f"postgresql+psycopg://app:{SECRET}@db.example/app", "drop the driver suffix"),
        (f"postgresql://app:{SECRET}@db.example/app?colour=blue", "cannot be parsed"),
        (f"postgresql://app:{SECRET}@db.example:http/app", "port number"),
        (f"postgresql://app:{SECRET}@db.example:70000/app", "port number"),
        (f"host=db.example password={SECRET} dbname", "cannot be parsed"),
        (f"postgresql://app:{SECRET}@db.example/app?connect_timeout=soon", "connect_timeout"),
        (f"postgresql://app:{SECRET}@db.example/app?sslmode=always", "sslmode"),
        ("", "expected a postgresql:// URL"),
    ],
)
def test_a_bad_url_is_refused_with_the_password_masked(url: str, words: str) -> None:
    error = refused("sslmode" if "sslmode=" in url else "url", url=url)
    assert words in str(error)


def test_a_url_that_is_not_a_string_is_refused() -> None:
    refused("url", url=b"postgresql://x/y")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("host", 42),
        ("port", 0),
        ("port", "eighty"),
        ("port", True),
        ("dbname", ""),
        ("user", ["app"]),
        ("password", 1234),
        ("sslmode", "sometimes"),
        ("sslrootcert", "/nonexistent/ca.pem"),
        ("sslcert", "/nonexistent/client.pem"),
        ("schema", "Public"),
        ("schema", "pg_sessions"),
        ("schema", "sessions; DROP TABLE x"),
        ("table", "1sessions"),
        ("table", "t" * 53),
        ("table", 'a"b'),
        ("unlogged", "yes"),
        ("create", 1),
        ("connect_timeout", 0),
        ("statement_timeout", -1),
        ("statement_timeout", float("nan")),
        ("pool_timeout", 0),
        ("pool_size", 0),
        ("pool_min_size", -1),
        ("pool_max_idle", "long"),
        ("batch_size", 0),
        ("prepare", None),
        ("application_name", ""),
    ],
)
def test_a_bad_option_is_refused_by_name(option: str, value: Any) -> None:
    refused(option, url="postgresql://app@db.example/app", **{option: value})


def test_pool_min_size_above_pool_size_is_refused() -> None:
    refused("pool_min_size", pool_size=2, pool_min_size=3)


def test_a_client_certificate_needs_its_key(tmp_path: Path) -> None:
    cert = tmp_path / "client.crt"
    cert.write_text("x")
    refused("sslkey", sslcert=str(cert))


def test_verify_full_needs_a_root_certificate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGSSLROOTCERT", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent")
    refused("sslrootcert", sslmode="verify-full")


def test_an_unknown_option_is_refused() -> None:
    with pytest.raises(sessionware.ConfigurationError, match="pool_size"):
        make(pool_sizes=3)


def test_fields_override_the_url_and_the_address_never_shows_the_password(
    tmp_path: Path,
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    engine = make(
        url=f"postgresql://app:{SECRET}@db1.example:6432,db2.example/sessions?sslmode=require",
        dbname="other",
        sslmode="verify-full",
        sslrootcert=str(ca),
    )
    assert engine.address == (
        "postgresql://app@db1.example:6432,db2.example:5432/other?sslmode=verify-full"
    )
    for text in (engine.address, repr(engine), repr(engine.settings), str(vars(engine))):
        assert SECRET not in text
    assert "sslrootcert" in engine.settings.conninfo


def test_a_password_field_is_never_echoed() -> None:
    engine = make(host="db.example", user="app", password=SECRET)
    assert engine.address == "postgresql://app@db.example:5432/app"
    assert SECRET not in repr(engine.settings)


def test_timeouts_become_connection_parameters() -> None:
    engine = make(url="postgresql://app@db.example/app", connect_timeout=0.5, statement_timeout=2.5)
    parts = engine.settings.conninfo
    assert "connect_timeout=2" in parts  # libpq's minimum
    assert "statement_timeout=2500" in parts
    assert "application_name=sessionware" in parts
    no_limit = make(url="postgresql://app@db.example/app?connect_timeout=7", statement_timeout=None)
    assert "statement_timeout" not in no_limit.settings.conninfo
    assert "connect_timeout=7" in no_limit.settings.conninfo


def test_ipv6_and_socket_hosts_are_shown_as_addresses() -> None:
    assert make(url="postgresql://app@[::1]:5433/app").address == "postgresql://app@[::1]:5433/app"
    socket = make(url="postgresql:///app?host=/var/run/postgresql&user=app")
    assert socket.address == "postgresql://app@[/var/run/postgresql]:5432/app"
