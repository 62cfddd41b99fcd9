"""What the redis engine does in Redis, against real servers: keys, TTLs, failures.

The protocol itself is the conformance kit's job (test_conformance.py); here
are the Redis-specific promises: the key layout and TTL, expiries already
past, errors mapped to sessionware's, credentials, TLS, Unix sockets,
Cluster and Sentinel specifics, and the lifecycle of the per-process and
per-event-loop clients.
"""

from __future__ import annotations

import asyncio
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.cluster
from sessionware_redis import RedisEngine

import sessionware
from sessionware.testing import expired, expires_in

Make = Callable[..., RedisEngine]


def key() -> str:
    return sessionware.new_session_key()


def closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


# -- key layout and TTL ----------------------------------------------------------------


def test_session_is_one_string_under_the_prefix_with_the_ttl(
    engine: RedisEngine, raw: redis.Redis
) -> None:
    k = key()
    engine.save(k, b"\x00data\xff", expires_in(100), must_create=True)
    name = engine.prefix + k
    assert raw.type(name) == b"string"
    assert raw.get(name) == b"\x00data\xff"
    assert 99_000 < raw.pttl(name) <= 100_000


def test_update_replaces_the_ttl(engine: RedisEngine, raw: redis.Redis) -> None:
    k = key()
    engine.save(k, b"v1", expires_in(10), must_create=True)
    engine.save(k, b"v2", expires_in(3600), must_create=False)
    assert 3_590_000 < raw.pttl(engine.prefix + k) <= 3_600_000


def test_ttl_is_milliseconds_left_rounded_up(
    engine: RedisEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "now", lambda: 1_000.0)
    assert engine._ttl_ms(1_001.5) == 1_500
    assert engine._ttl_ms(1_000.0004) == 1  # never 0: PX 0 is an error in Redis
    assert engine._ttl_ms(1_000.0) is None
    assert engine._ttl_ms(999.0) is None


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "soon", True, None])
def test_expires_at_must_be_a_finite_timestamp(engine: RedisEngine, bad: Any) -> None:
    with pytest.raises(TypeError, match="expires_at"):
        engine.save(key(), b"x", bad, must_create=True)


def test_data_must_be_bytes(engine: RedisEngine) -> None:
    with pytest.raises(TypeError, match="bytes"):
        engine.save(key(), "text", expires_in(), must_create=True)  # type: ignore[arg-type]


def test_create_with_a_past_expiry_stores_nothing(engine: RedisEngine, raw: redis.Redis) -> None:
    k = key()
    assert engine.save(k, b"stale", expired(), must_create=True) == k
    assert raw.exists(engine.prefix + k) == 0


def test_create_with_a_past_expiry_on_a_taken_key_raises_create_error(
    engine: RedisEngine,
) -> None:
    k = key()
    engine.save(k, b"original", expires_in(), must_create=True)
    with pytest.raises(sessionware.CreateError):
        engine.save(k, b"intruder", expired(), must_create=True)
    assert engine.load(k) == b"original"


def test_update_with_a_past_expiry_ends_the_session(engine: RedisEngine, raw: redis.Redis) -> None:
    k = key()
    engine.save(k, b"alive", expires_in(), must_create=True)
    assert engine.save(k, b"ended", expired(), must_create=False) == k
    assert raw.exists(engine.prefix + k) == 0
    with pytest.raises(sessionware.UpdateError):
        engine.save(k, b"again", expired(), must_create=False)


async def test_async_past_expiry_behaves_like_sync(engine: RedisEngine, raw: redis.Redis) -> None:
    k = key()
    await engine.asave(k, b"stale", expired(), True)
    assert raw.exists(engine.prefix + k) == 0
    await engine.asave(k, b"alive", expires_in(), True)
    with pytest.raises(sessionware.CreateError):
        await engine.asave(k, b"x", expired(), True)
    await engine.asave(k, b"ended", expired(), False)
    assert raw.exists(engine.prefix + k) == 0
    with pytest.raises(sessionware.UpdateError):
        await engine.asave(k, b"x", expired(), False)


def test_prefixes_keep_engines_apart(make_engine: Make) -> None:
    one, two = make_engine(), make_engine()
    k = key()
    one.save(k, b"one", expires_in(), must_create=True)
    assert two.load(k) is None
    two.save(k, b"two", expires_in(), must_create=True)  # the same key is free there
    assert one.load(k) == b"one"


def test_clear_expired_is_zero_without_io() -> None:
    engine = RedisEngine(url=closed_port_url())
    assert engine.clear_expired() == 0
    assert asyncio.run(engine.aclear_expired()) == 0
    assert engine._sync is None and not engine._loops


def test_invalid_keys_never_reach_redis() -> None:
    """Hostile cookie values are absent even while Redis is unreachable: no I/O at all."""
    engine = RedisEngine(url=closed_port_url())
    for hostile in ("../x", "*", "a" * 10_000, ""):
        assert engine.load(hostile) is None
        assert engine.exists(hostile) is False
        engine.delete(hostile)
        with pytest.raises(sessionware.InvalidSessionKey):
            engine.save(hostile, b"x", expires_in(), must_create=True)
    assert engine._sync is None


def test_repr_names_address_and_prefix(engine: RedisEngine) -> None:
    assert engine.address in repr(engine) and engine.prefix in repr(engine)


# -- failures become sessionware errors --------------------------------------------------


@pytest.mark.parametrize("operation", ["load", "save", "exists", "delete"])
def test_unreachable_redis_raises_engine_unavailable_with_the_address(operation: str) -> None:
    engine = RedisEngine(url=closed_port_url(), socket_connect_timeout=1)
    call = {
        "load": lambda k: engine.load(k),
        "save": lambda k: engine.save(k, b"x", expires_in(), True),
        "exists": lambda k: engine.exists(k),
        "delete": lambda k: engine.delete(k),
    }[operation]
    with pytest.raises(sessionware.EngineUnavailable) as info:
        call(key())
    assert info.value.address == engine.address
    assert engine.address in str(info.value) and "check that the server is running" in str(
        info.value
    )


@pytest.mark.parametrize("operation", ["aload", "asave", "aexists", "adelete"])
async def test_unreachable_redis_raises_engine_unavailable_async(operation: str) -> None:
    engine = RedisEngine(url=closed_port_url(), socket_connect_timeout=1)
    calls = {
        "aload": lambda k: engine.aload(k),
        "asave": lambda k: engine.asave(k, b"x", expires_in(), True),
        "aexists": lambda k: engine.aexists(k),
        "adelete": lambda k: engine.adelete(k),
    }
    with pytest.raises(sessionware.EngineUnavailable) as info:
        await calls[operation](key())
    assert info.value.address == engine.address
    await engine.aclose()


def test_engine_recovers_when_redis_comes_back(private_redis: Callable[..., Any]) -> None:
    server = private_redis("--save", "", "--appendonly", "no")
    engine = RedisEngine(url=server.url)
    k = key()
    engine.save(k, b"before", expires_in(), must_create=True)
    server.kill()
    with pytest.raises(sessionware.EngineUnavailable):
        engine.load(k)
    with pytest.raises(sessionware.EngineUnavailable):
        asyncio.run(engine.aload(k))
    server.start()  # no persistence: the old session is gone, not resurrected
    assert engine.load(k) is None
    assert asyncio.run(engine.aload(k)) is None
    with pytest.raises(sessionware.UpdateError):
        engine.save(k, b"zombie", expires_in(), must_create=False)
    engine.save(k, b"after", expires_in(), must_create=True)
    assert engine.load(k) == b"after"
    engine.close()


def test_key_of_another_type_under_the_prefix_is_a_configuration_error(
    engine: RedisEngine, raw: redis.Redis
) -> None:
    k = key()
    raw.rpush(engine.prefix + k, "not a session")
    with pytest.raises(sessionware.ConfigurationError, match="prefix") as info:
        engine.load(k)
    assert info.value.field == "engine_options.prefix"
    with pytest.raises(sessionware.ConfigurationError, match="prefix"):
        asyncio.run(engine.aload(k))


def test_password_protected_server(private_redis: Callable[..., Any]) -> None:
    server = private_redis("--save", "", "--appendonly", "no", "--requirepass", "s3cret")
    for options in ({}, {"password": "wrong"}):
        engine = RedisEngine(url=server.url, **options)
        with pytest.raises(sessionware.EngineUnavailable, match="credentials") as info:
            engine.load(key())
        assert "s3cret" not in str(info.value)
        with pytest.raises(sessionware.EngineUnavailable, match="credentials"):
            asyncio.run(engine.aload(key()))
        engine.close()
    url = server.url.replace("redis://", "redis://:s3cret@")
    for engine in (RedisEngine(url=server.url, password="s3cret"), RedisEngine(url=url)):
        k = key()
        engine.save(k, b"ok", expires_in(), must_create=True)
        assert engine.load(k) == b"ok"
        assert asyncio.run(engine.aload(k)) == b"ok"
        engine.close()


def test_least_privilege_acl_user(private_redis: Callable[..., Any]) -> None:
    """The engine needs four commands on its own prefix, nothing else (docs: Security)."""
    server = private_redis("--save", "", "--appendonly", "no")
    with redis.Redis(port=server.port) as admin:
        admin.execute_command(
            "ACL SETUSER",
            "sessions",
            "on",
            ">pw",
            "~sessionware:*",
            "+get",
            "+set",
            "+exists",
            "+del",
        )
    engine = RedisEngine(url=server.url, username="sessions", password="pw")
    k = key()
    engine.save(k, b"x", expires_in(), must_create=True)
    assert engine.load(k) == b"x" and engine.exists(k)
    assert asyncio.run(engine.aload(k)) == b"x"
    engine.delete(k)
    engine.close()
    elsewhere = RedisEngine(url=server.url, username="sessions", password="pw", prefix="other:")
    with pytest.raises(sessionware.EngineUnavailable, match="NoPermissionError"):
        elsewhere.load(k)
    elsewhere.close()


def test_unix_socket(private_redis: Callable[..., Any], tmp_path: Path) -> None:
    sock = tmp_path / "redis.sock"
    private_redis("--save", "", "--appendonly", "no", "--unixsocket", str(sock))
    engine = RedisEngine(url=f"unix://{sock}?db=2")
    k = key()
    engine.save(k, b"over a socket", expires_in(), must_create=True)
    assert engine.load(k) == b"over a socket"
    assert asyncio.run(engine.aload(k)) == b"over a socket"
    assert redis.Redis(unix_socket_path=str(sock), db=2).exists(engine.prefix + k) == 1
    engine.close()


# -- TLS -----------------------------------------------------------------------------------


def _tls_files(directory: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def make(name: str, issuer: Any, issuer_key: Any, *, ca: bool = False, san: Any = None) -> Any:
        private = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer or subject)
            .public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san is not None:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(issuer_key or private, hashes.SHA256())
        return cert, private

    ca_cert, ca_key = make("sessionware test CA", None, None, ca=True)
    san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server_cert, server_key = make("localhost", ca_cert.subject, ca_key, san=san)
    client_cert, client_key = make("client", ca_cert.subject, ca_key)
    files = {}
    for label, cert, private in (
        ("ca", ca_cert, None),
        ("server", server_cert, server_key),
        ("client", client_cert, client_key),
    ):
        files[f"{label}_cert"] = directory / f"{label}.crt"
        files[f"{label}_cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        if private is not None:
            files[f"{label}_key"] = directory / f"{label}.key"
            files[f"{label}_key"].write_bytes(
                private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
    return files


def test_tls_with_client_certificate(private_redis: Callable[..., Any], tmp_path: Path) -> None:
    """``rediss://`` against a real TLS server that verifies client certificates too."""
    files = _tls_files(tmp_path)
    tls_port = _free_port()
    private_redis(
        "--save",
        "",
        "--appendonly",
        "no",
        "--tls-port",
        str(tls_port),
        "--tls-cert-file",
        str(files["server_cert"]),
        "--tls-key-file",
        str(files["server_key"]),
        "--tls-ca-cert-file",
        str(files["ca_cert"]),
        "--tls-auth-clients",
        "yes",
    )
    tls = {
        "ssl_ca_certs": files["ca_cert"],
        "ssl_certfile": files["client_cert"],
        "ssl_keyfile": files["client_key"],
    }
    engine = RedisEngine(url=f"rediss://localhost:{tls_port}/0", **tls)
    k = key()
    engine.save(k, b"encrypted in transit", expires_in(), must_create=True)
    assert engine.load(k) == b"encrypted in transit"
    assert asyncio.run(engine.aload(k)) == b"encrypted in transit"
    engine.close()

    # Without the CA the server's certificate is not trusted: an outage, not a traceback.
    untrusting = RedisEngine(
        url=f"rediss://localhost:{tls_port}/0",
        ssl_certfile=files["client_cert"],
        ssl_keyfile=files["client_key"],
    )
    with pytest.raises(sessionware.EngineUnavailable):
        untrusting.load(k)
    untrusting.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- Cluster and Sentinel specifics -----------------------------------------------------------


def test_cluster_spreads_sessions_over_the_masters(
    make_cluster_engine: Make, cluster_raw: redis.cluster.RedisCluster
) -> None:
    engine = make_cluster_engine()
    keys = [key() for _ in range(30)]
    for k in keys:
        engine.save(k, b"x", expires_in(), must_create=True)
    owners = {cluster_raw.get_node_from_key(engine.prefix + k).name for k in keys}
    assert len(owners) > 1, "every session landed on one node: is the prefix a hash tag?"
    assert all(engine.load(k) == b"x" for k in keys)


def test_a_cluster_node_addressed_as_a_single_server_is_a_configuration_error(
    cluster_url: str,
) -> None:
    first = cluster_url.removeprefix("redis+cluster://").split(",")[0]
    engine = RedisEngine(url=f"redis://{first}/0")
    with pytest.raises(sessionware.ConfigurationError, match="cluster=True") as info:
        for _ in range(50):  # some key hashes to a slot another master serves
            engine.load(key())
    assert info.value.field == "engine_options.cluster"
    engine.close()


def test_a_single_server_addressed_as_a_cluster_is_a_configuration_error(redis_url: str) -> None:
    engine = RedisEngine(url=redis_url, cluster=True)
    with pytest.raises(sessionware.ConfigurationError, match="not a Cluster node") as info:
        engine.load(key())
    assert info.value.field == "engine_options.cluster"
    with pytest.raises(sessionware.ConfigurationError, match="not a Cluster node"):
        asyncio.run(engine.aload(key()))
    engine.close()


def test_unreachable_cluster_raises_engine_unavailable() -> None:
    engine = RedisEngine(url=closed_port_url().replace("redis://", "redis+cluster://")[:-2])
    with pytest.raises(sessionware.EngineUnavailable) as info:
        engine.load(key())
    assert info.value.address == engine.address
    with pytest.raises(sessionware.EngineUnavailable):
        asyncio.run(engine.aload(key()))
    engine.close()


def test_sentinel_finds_the_primary(make_sentinel_engine: Make, sentinel_url: str) -> None:
    engine = make_sentinel_engine()
    k = key()
    engine.save(k, b"via sentinel", expires_in(), must_create=True)
    sentinel_port = int(sentinel_url.split("//")[1].split("/")[0].split(":")[1])
    with redis.Redis(port=sentinel_port) as sentinel:
        host, port = sentinel.execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", "sw-primary")
    with redis.Redis(host=host, port=int(port)) as primary:
        assert primary.get(engine.prefix + k) == b"via sentinel"


def test_unknown_sentinel_service_raises_engine_unavailable(sentinel_url: str) -> None:
    url = sentinel_url.replace("/sw-primary/", "/no-such-service/")
    engine = RedisEngine(url=url)
    with pytest.raises(sessionware.EngineUnavailable, match="no-such-service"):
        engine.load(key())
    with pytest.raises(sessionware.EngineUnavailable, match="no-such-service"):
        asyncio.run(engine.aload(key()))
    engine.close()


# -- clients: one per process, one per event loop ----------------------------------------------


def test_blocking_client_is_built_once_and_shared_by_threads(engine: RedisEngine) -> None:
    k = key()
    engine.save(k, b"x", expires_in(), must_create=True)
    client = engine._sync
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(engine.load(k))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [b"x"] * 8 and engine._sync is client


def test_each_event_loop_gets_its_own_client_closed_with_the_loop(engine: RedisEngine) -> None:
    k = key()
    engine.save(k, b"x", expires_in(), must_create=True)

    async def read() -> tuple[Any, bytes | None]:
        value = await engine.aload(k)
        return engine._loops.current().redis, value

    first, value = asyncio.run(read())
    assert value == b"x"
    # asyncio.run shut the loop down: its client's connections were closed on that loop.
    pool = first.connection_pool
    assert all(
        not c.is_connected for c in pool._available_connections + list(pool._in_use_connections)
    )
    second, _ = asyncio.run(read())
    assert second is not first
    assert len(engine._loops) == 1, "the closed loop's client was not forgotten"


def test_loops_in_two_threads_at_once(engine: RedisEngine) -> None:
    results: list[bytes | None] = []
    errors: list[BaseException] = []

    async def work(tag: bytes) -> None:
        k = key()
        await engine.asave(k, tag, expires_in(), True)
        for _ in range(20):
            results.append(await engine.aload(k))

    def thread(tag: bytes) -> None:
        try:
            asyncio.run(work(tag))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=thread, args=(t,)) for t in (b"a", b"b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(set(results)) == [b"a", b"b"] and len(results) == 40


async def test_close_inside_a_running_loop_and_reuse(engine: RedisEngine) -> None:
    k = key()
    await engine.asave(k, b"x", expires_in(), True)
    engine.close()  # schedules the loop's client to close on this loop
    await asyncio.sleep(0)
    assert await engine.aload(k) == b"x"  # a new client, lazily
    await engine.aclose()
    assert await engine.aload(k) == b"x"
    async with engine as same:
        assert same is engine
    assert not engine._loops


def test_close_twice_and_use_again(engine: RedisEngine) -> None:
    k = key()
    engine.save(k, b"x", expires_in(), must_create=True)
    engine.close()
    engine.close()
    with engine:
        assert engine.load(k) == b"x"
    assert engine._sync is None


def test_forked_child_builds_its_own_client(engine: RedisEngine) -> None:
    k = key()
    engine.save(k, b"parent", expires_in(), must_create=True)
    parent_client = engine._sync
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            fresh = engine._sync is None
            engine.save(k, b"child", expires_in(), must_create=False)
            code = 0 if fresh and engine._sync is not parent_client else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert engine._sync is parent_client
    assert engine.load(k) == b"child"
