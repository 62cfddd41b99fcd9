"""Discovery, URL forms and option validation of the redis engine (no server needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sessionware_redis import DEFAULT_PREFIX, RedisEngine

import sessionware


def settings_of(**options: Any) -> Any:
    return RedisEngine(**options).settings


# -- discovery ---------------------------------------------------------------------


def test_get_engine_finds_redis_through_entry_points() -> None:
    engine = sessionware.get_engine("redis")
    assert isinstance(engine, RedisEngine)
    assert isinstance(engine, sessionware.Engine)


def test_list_plugins_reports_the_distribution() -> None:
    info = {p.name: p for p in sessionware.list_plugins()}["redis"]
    assert info.distribution == "sessionware-redis"
    assert info.engines == ["redis"]
    assert info.error is None


def test_cli_lists_the_plugin() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sessionware", "plugins", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    listed = {p["name"]: p for p in json.loads(done.stdout)}
    assert listed["redis"]["distribution"] == "sessionware-redis"
    assert listed["redis"]["engines"] == ["redis"]


def test_capabilities_are_declared() -> None:
    caps = RedisEngine.capabilities
    assert (caps.server_side, caps.clear_expired, caps.native_async) == (True, False, True)
    assert (caps.local, caps.shared_across_processes) == (False, True)
    assert (caps.versioned, caps.locking) == (True, True)


def test_unknown_option_is_a_configuration_error() -> None:
    with pytest.raises(sessionware.ConfigurationError, match="key_prefix"):
        sessionware.get_engine("redis", key_prefix="x:")


# -- construction never touches the network -------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:1/0",
        "redis+sentinel://127.0.0.1:1/nobody",
        "redis+cluster://127.0.0.1:1",
        "unix:///nonexistent/redis.sock",
    ],
)
def test_construction_does_not_connect(url: str) -> None:
    """An app can start while Redis is down; the first request meets the outage."""
    engine = RedisEngine(url=url)
    assert engine._sync is None and not engine._loops
    engine.close()


# -- defaults and URL forms ------------------------------------------------------------


def test_defaults() -> None:
    s = settings_of()
    assert (s.mode, s.nodes, s.db, s.unix_path, s.ssl) == (
        "single",
        (("localhost", 6379),),
        0,
        None,
        False,
    )
    assert s.prefix == DEFAULT_PREFIX == "sessionware:"
    assert (s.socket_timeout, s.socket_connect_timeout, s.retries) == (2.0, 2.0, 1)
    assert (s.max_connections, s.health_check_interval) == (None, 0.0)
    assert (s.ssl_cert_reqs, s.ssl_check_hostname) == ("required", True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://cache.internal", {"nodes": (("cache.internal", 6379),), "db": 0}),
        ("redis://h:6380/2", {"nodes": (("h", 6380),), "db": 2, "password": None}),
        ("redis://:s3cret@h/1", {"password": "s3cret", "username": None, "db": 1}),
        ("redis://app:p%40ss%2Fw@h:7000/0", {"username": "app", "password": "p@ss/w"}),
        ("redis://[::1]:6390/0", {"nodes": (("::1", 6390),)}),
        ("rediss://h:6380/0", {"ssl": True, "mode": "single"}),
        ("unix:///run/redis.sock?db=3", {"unix_path": "/run/redis.sock", "db": 3}),
        ("unix://:pw@/run/redis.sock", {"unix_path": "/run/redis.sock", "password": "pw"}),
        (
            "redis+sentinel://:pw@s1:26380,s2/mymaster/4",
            {
                "mode": "sentinel",
                "nodes": (("s1", 26380), ("s2", 26379)),
                "service_name": "mymaster",
                "db": 4,
                "password": "pw",
            },
        ),
        ("rediss+sentinel://s1/m", {"mode": "sentinel", "ssl": True, "db": 0}),
        (
            "redis+cluster://a:7000,b:7001",
            {"mode": "cluster", "nodes": (("a", 7000), ("b", 7001))},
        ),
        ("rediss+cluster://a:7000/0", {"mode": "cluster", "ssl": True}),
        ("redis://a:7000?cluster=true", {"mode": "cluster", "nodes": (("a", 7000),)}),
        ("REDIS://h/0?cluster=false", {"mode": "single"}),
    ],
)
def test_url_forms(url: str, expected: dict[str, Any]) -> None:
    s = settings_of(url=url)
    for name, value in expected.items():
        assert getattr(s, name) == value, name


def test_keyword_forms() -> None:
    s = settings_of(host="10.0.0.5", port=6390, db=3, username="u", password="p", ssl=True)
    assert (s.mode, s.nodes, s.db, s.username, s.password, s.ssl) == (
        "single",
        (("10.0.0.5", 6390),),
        3,
        "u",
        "p",
        True,
    )
    s = settings_of(sentinels=["s1:26380", ("s2", 26381), "s3"], service_name="m", db=1)
    assert (s.mode, s.nodes, s.service_name, s.db) == (
        "sentinel",
        (("s1", 26380), ("s2", 26381), ("s3", 26379)),
        "m",
        1,
    )
    s = settings_of(host="n1", port=7000, cluster=True)
    assert (s.mode, s.nodes) == ("cluster", (("n1", 7000),))
    assert settings_of(url="redis://n1:7000", cluster=True).mode == "cluster"


def test_password_option_fills_in_a_url_without_one() -> None:
    """Keep the URL in configuration and the secret in the environment."""
    s = settings_of(url="redis://h:6379/0", password="from-env", username="app")
    assert (s.password, s.username) == ("from-env", "app")


def test_password_never_appears_in_address_repr_or_errors() -> None:
    engine = RedisEngine(url="redis://app:hunter2@h:6379/0")
    assert engine.address == "redis://h:6379/0"
    assert "hunter2" not in repr(engine) and "hunter2" not in repr(engine.settings)
    with pytest.raises(sessionware.ConfigurationError) as info:
        RedisEngine(url="redis://app:hunter2@h:6379/zero")
    assert "hunter2" not in str(info.value) and "***" in str(info.value)


@pytest.mark.parametrize(
    ("options", "address"),
    [
        ({"url": "rediss://h:1/2"}, "rediss://h:1/2"),
        ({"url": "unix:///run/r.sock"}, "unix:///run/r.sock?db=0"),
        ({"url": "redis+sentinel://a,b:2/m/1"}, "redis+sentinel://a:26379,b:2/m/1"),
        ({"url": "redis+cluster://a:1,[::1]:2"}, "redis+cluster://a:1,[::1]:2"),
    ],
)
def test_address_names_the_target(options: dict[str, Any], address: str) -> None:
    assert RedisEngine(**options).address == address


def test_tls_files_are_checked_and_made_absolute(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read at construction")
    s = settings_of(url="rediss://h", ssl_ca_certs=ca, ssl_cert_reqs="optional")
    assert (s.ssl_ca_certs, s.ssl_cert_reqs) == (str(ca), "optional")
    assert settings_of(url="rediss://h", ssl_cert_reqs="none").ssl_check_hostname is False


# -- refusals ----------------------------------------------------------------------------

BAD_URLS = [
    42,
    "",
    "http://h:6379",
    "localhost:6379",
    "redis://",
    "redis://:pw@",
    "redis://h:0",
    "redis://h:99999",
    "redis://h:port",
    "redis://h/zero",
    "redis://h/1/2",
    "redis://a,b",
    "redis://h k",
    "redis://h\n",
    "redis://::1:6379",
    "redis://[::1",
    "redis://h/0#frag",
    "redis://h?socket_timeout=1",
    "redis://h?db=1&db=2",
    "redis://h/1?db=2",
    "redis://h?db=x",
    "redis://h?cluster=maybe",
    "redis://h?cluster",
    "redis://h/1?cluster=true",
    "unix://relative/path",
    "unix://",
    "unix:///s.sock?cluster=true",
    "redis+sentinel://h",
    "redis+sentinel://h/m/1/2",
    "redis+sentinel://h/m?cluster=true",
    "redis+cluster://h/1",
    "redis+cluster://",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_malformed_url_is_refused(url: Any) -> None:
    with pytest.raises(sessionware.ConfigurationError, match="'url'") as info:
        sessionware.get_engine("redis", url=url)
    assert info.value.field == "engine_options.url"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("host", 42),
        ("host", "a b"),
        ("host", "h/x"),
        ("port", 0),
        ("port", 70000),
        ("port", "6379"),
        ("port", True),
        ("db", -1),
        ("db", "0"),
        ("db", False),
        ("username", 5),
        ("password", b"bytes"),
        ("ssl", "yes"),
        ("ssl_cert_reqs", "maybe"),
        ("ssl_check_hostname", "no"),
        ("prefix", ""),
        ("prefix", "has space"),
        ("prefix", "glob*"),
        ("prefix", "which?"),
        ("prefix", "[set]"),
        ("prefix", "{tag}:"),
        ("prefix", 'quote"'),
        ("prefix", "é:"),
        ("prefix", "x" * 129),
        ("prefix", 5),
        ("socket_timeout", 0),
        ("socket_timeout", -1),
        ("socket_timeout", float("nan")),
        ("socket_timeout", float("inf")),
        ("socket_timeout", "2"),
        ("socket_connect_timeout", True),
        ("max_connections", 0),
        ("max_connections", 1.5),
        ("max_connections", True),
        ("health_check_interval", -1),
        ("health_check_interval", None),
        ("retries", -1),
        ("retries", 1.5),
        ("retries", None),
        ("cluster", "yes"),
        ("sentinels", "s1:26379"),
        ("sentinels", []),
        ("sentinels", [42]),
        ("sentinels", [("s1", "26379")]),
        ("sentinels", ["s1:x"]),
    ],
)
def test_invalid_option_names_the_option(option: str, value: Any) -> None:
    options = {option: value}
    if option == "sentinels":
        options["service_name"] = "m"
    with pytest.raises(sessionware.ConfigurationError, match=repr(option)) as info:
        sessionware.get_engine("redis", **options)
    assert info.value.field == f"engine_options.{option}"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"url": "redis://h", "host": "other"}, "host"),
        ({"url": "redis://h", "port": 6380}, "port"),
        ({"url": "redis://h", "db": 1}, "db"),
        ({"url": "redis://h", "ssl": True}, "ssl"),
        ({"url": "redis://h", "sentinels": ["s"]}, "sentinels"),
        ({"url": "redis://:a@h", "password": "b"}, "password"),
        ({"url": "redis://u@h", "username": "v"}, "username"),
        ({"url": "redis+sentinel://s/m", "cluster": True}, "cluster"),
        ({"url": "unix:///r.sock", "cluster": True}, "cluster"),
        ({"sentinels": ["s1"]}, "service_name"),
        ({"service_name": "m"}, "sentinels"),
        ({"sentinels": ["s1"], "service_name": ""}, "service_name"),
        ({"sentinels": ["s1"], "service_name": "m", "host": "h"}, "host"),
        ({"sentinels": ["s1"], "service_name": "m", "cluster": True}, "cluster"),
        ({"cluster": True, "db": 1}, "db"),
        ({"sentinel_password": "x"}, "sentinel_password"),
        ({"url": "redis://h", "sentinel_username": "x"}, "sentinel_username"),
        ({"ssl_cert_reqs": "none"}, "ssl_cert_reqs"),
        ({"url": "rediss://h", "ssl_ca_certs": "/nonexistent/ca.pem"}, "ssl_ca_certs"),
    ],
)
def test_conflicting_options_are_refused(options: dict[str, Any], field: str) -> None:
    with pytest.raises(sessionware.ConfigurationError, match=repr(field)) as info:
        sessionware.get_engine("redis", **options)
    assert info.value.field == f"engine_options.{field}"


def test_tls_option_without_tls_is_refused(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(sessionware.ConfigurationError, match="TLS is off") as info:
        sessionware.get_engine("redis", url="redis://h", ssl_ca_certs=ca)
    assert info.value.field == "engine_options.ssl_ca_certs"


def test_client_certificate_needs_its_key(tmp_path: Path) -> None:
    cert = tmp_path / "client.pem"
    cert.write_text("x")
    with pytest.raises(sessionware.ConfigurationError) as info:
        sessionware.get_engine("redis", url="rediss://h", ssl_certfile=cert)
    assert info.value.field == "engine_options.ssl_keyfile"


def test_session_config_passes_engine_options() -> None:
    """Options arrive through SessionConfig (TOML, env) as they do through keywords."""
    config = sessionware.SessionConfig(
        engine="redis", engine_options={"url": "redis+cluster://n1:7000", "prefix": "app:"}
    )
    store = sessionware.session_store(config, serializer_instance=_Plain())
    assert isinstance(store.engine, RedisEngine)
    assert (store.engine.settings.mode, store.engine.prefix) == ("cluster", "app:")


class _Plain:
    name = "plain"

    def dumps(self, data: dict[str, Any]) -> bytes:
        return json.dumps(data).encode()

    def loads(self, raw: bytes) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(raw)
        return loaded
