"""Real Redis servers for the redis engine's tests — never mocks.

Where the servers come from, as the repository rules ask:

- ``SESSIONWARE_TEST_REDIS_URL`` when set (it must answer);
- else the Redis already listening on 127.0.0.1:6379;
- else a ``redis-server`` started here on a free loopback port;
- else the tests skip with the reason — except under CI (``CI`` set), where
  they fail, because CI must run them.

The shared server is never flushed: every engine gets a key prefix of its own
and its keys are deleted (``SCAN MATCH prefix*``) at teardown. Servers this
suite starts itself (a private one to kill and restart, a three-master
Cluster, a Sentinel with its primary) live in a temporary directory and are
terminated at teardown.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.cluster
from sessionware_redis import RedisEngine

import sessionware

SHARED = ("127.0.0.1", 6379)
START_TIMEOUT = 15.0


def unavailable(reason: str) -> None:
    """Skip with ``reason``; under CI, fail (CI must run the Redis tests)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the Redis tests (install redis-server)")
    pytest.skip(reason)


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a Redis server (or sentinel) replies to PING at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    # A server with a password answers -NOAUTH: it is up all the same.
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_cluster_port() -> int:
    """A port P with P and P + 10000 (the cluster bus) free, below 55536 as Redis requires."""
    for _ in range(200):
        port = random.randrange(20000, 32000)  # below Linux's ephemeral range
        try:
            with socket.socket() as one, socket.socket() as bus:
                one.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"no {name} binary on PATH to start a Redis server for this test")
        raise AssertionError("unreachable")
    return path


class RedisProcess:
    """A ``redis-server`` this suite owns: start, SIGKILL, restart on the same port, stop."""

    def __init__(
        self,
        workdir: Path,
        *args: str,
        port: int | None = None,
        sentinel_conf: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.sentinel_conf = sentinel_conf
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        if self.sentinel_conf is not None:  # the port and the rest are in the file
            command = [binary("redis-server"), str(self.sentinel_conf), "--sentinel"]
        else:
            command = [
                binary("redis-server"),
                *self.args,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
                "--daemonize",
                "no",
            ]
        log = (self.workdir / "server.log").open("ab")
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not answers("127.0.0.1", self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = (self.workdir / "server.log").read_text(errors="replace")[-2000:]
                self.stop()
                unavailable(f"redis-server on port {self.port} did not start:\n{tail}")
            time.sleep(0.02)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no save — an outage as the app sees it."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def cluster_ok(info: Any) -> bool:
    """True when a ``CLUSTER INFO`` reply (parsed to a dict, or raw) says the cluster is ok."""
    if isinstance(info, dict):
        return str(info.get("cluster_state")) == "ok"
    return b"cluster_state:ok" in bytes(info)


def forget_prefix(client: Any, prefix: str) -> None:
    """Delete every key under ``prefix`` (works for a single node and a cluster client)."""
    for key in list(client.scan_iter(match=f"{prefix}*", count=1000)):
        client.delete(key)


def unique_prefix(tag: str = "t") -> str:
    return f"swtest-{tag}-{uuid.uuid4().hex[:12]}:"


# -- the shared single node ---------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A reachable single Redis server: the configured one, 127.0.0.1:6379, or our own."""
    configured = os.environ.get("SESSIONWARE_TEST_REDIS_URL")
    if configured:
        client = redis.Redis.from_url(configured, socket_timeout=2)
        try:
            client.ping()
        except redis.RedisError as exc:
            pytest.fail(f"SESSIONWARE_TEST_REDIS_URL={configured} does not answer: {exc}")
        finally:
            client.close()
        yield configured
        return
    if answers(*SHARED):
        yield "redis://127.0.0.1:6379/0"
        return
    if shutil.which("redis-server") is None:
        unavailable("no Redis on 127.0.0.1:6379 and no redis-server binary to start one")
    server = RedisProcess(
        tmp_path_factory.mktemp("redis-single"), "--save", "", "--appendonly", "no"
    ).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain redis-py client to the shared server, for looking behind the engine."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def make_engine(redis_url: str, raw: redis.Redis) -> Iterator[Callable[..., RedisEngine]]:
    """Build engines on the shared server, each under a fresh prefix; cleaned up at teardown."""
    made: list[RedisEngine] = []

    def make(**options: Any) -> RedisEngine:
        options.setdefault("url", redis_url)
        options.setdefault("prefix", unique_prefix())
        engine = sessionware.get_engine("redis", **options)
        assert isinstance(engine, RedisEngine)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()
        forget_prefix(raw, engine.prefix)


@pytest.fixture
def engine(make_engine: Callable[..., RedisEngine]) -> RedisEngine:
    return make_engine()


# -- servers of our own -------------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[..., RedisProcess]]:
    """Start ``redis-server`` processes this test owns (to kill, restart, lock with a password)."""
    started: list[RedisProcess] = []

    def start(*args: str, name: str = "private") -> RedisProcess:
        server = RedisProcess(tmp_path / f"{name}-{len(started)}", *args)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real three-master Redis Cluster on loopback ports; its ``redis+cluster://`` URL."""
    binary("redis-server")
    cli = binary("redis-cli")
    root = tmp_path_factory.mktemp("redis-cluster")
    nodes = []
    try:
        for _ in range(3):
            port = free_cluster_port()
            node = RedisProcess(
                root / str(port),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(root / f"nodes-{port}.conf"),
                "--cluster-node-timeout",
                "5000",
                "--save",
                "",
                "--appendonly",
                "no",
                port=port,
            )
            nodes.append(node.start())
        addresses = [f"127.0.0.1:{n.port}" for n in nodes]
        created = subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if created.returncode != 0:
            unavailable(f"redis-cli --cluster create failed: {created.stdout}{created.stderr}")
        deadline = time.monotonic() + 30
        for node in nodes:
            client = redis.Redis(port=node.port)
            try:
                while not cluster_ok(client.execute_command("CLUSTER INFO")):
                    if time.monotonic() > deadline:
                        unavailable("the test cluster did not reach cluster_state:ok")
                    time.sleep(0.05)
            finally:
                client.close()
        yield "redis+cluster://" + ",".join(addresses)
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture(scope="session")
def cluster_raw(cluster_url: str) -> Iterator[redis.cluster.RedisCluster]:
    """A plain redis-py cluster client, for looking behind the engine and cleaning up."""
    host, port = cluster_url.removeprefix("redis+cluster://").split(",")[0].rsplit(":", 1)
    client = redis.cluster.RedisCluster(host=host, port=int(port))
    yield client
    client.close()


@pytest.fixture
def make_cluster_engine(
    cluster_url: str, cluster_raw: redis.cluster.RedisCluster
) -> Iterator[Callable[..., RedisEngine]]:
    """Build engines on the test cluster, each under a fresh prefix; cleaned up at teardown."""
    made: list[RedisEngine] = []

    def make(**options: Any) -> RedisEngine:
        engine = RedisEngine(url=cluster_url, prefix=unique_prefix("c"), **options)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()
        forget_prefix(cluster_raw, engine.prefix)


@pytest.fixture(scope="class")
def class_cluster_engine(cluster_url: str) -> Iterator[RedisEngine]:
    # redis-py's cluster clients cost ~0.1 s of CPU each to build (they load the server's
    # command table), so a test class shares one engine, emptied after every test.
    engine = RedisEngine(url=cluster_url, prefix=unique_prefix("c"))
    yield engine
    engine.close()


@pytest.fixture
def cluster_engine(
    class_cluster_engine: RedisEngine, cluster_raw: redis.cluster.RedisCluster
) -> Iterator[RedisEngine]:
    """An empty engine on the test cluster (its keys are deleted after the test)."""
    yield class_cluster_engine
    forget_prefix(cluster_raw, class_cluster_engine.prefix)


@pytest.fixture(scope="session")
def sentinel_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A primary and one real sentinel watching it; the ``redis+sentinel://`` URL."""
    root = tmp_path_factory.mktemp("redis-sentinel")
    primary = RedisProcess(root / "primary", "--save", "", "--appendonly", "no")
    sentinel: RedisProcess | None = None
    try:
        primary.start()
        port = free_port()
        conf = root / "sentinel.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {root}\n"
            f"sentinel monitor sw-primary 127.0.0.1 {primary.port} 1\n"
            "sentinel down-after-milliseconds sw-primary 5000\n"
        )
        sentinel = RedisProcess(root / "sentinel", port=port, sentinel_conf=conf).start()
        client = redis.Redis(port=port)
        try:
            deadline = time.monotonic() + 10
            while not client.execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", "sw-primary"):
                if time.monotonic() > deadline:
                    unavailable("the test sentinel does not know its primary")
                time.sleep(0.05)
        finally:
            client.close()
        yield f"redis+sentinel://127.0.0.1:{port}/sw-primary/0"
    finally:
        if sentinel is not None:
            sentinel.stop()
        primary.stop()


@pytest.fixture
def make_sentinel_engine(sentinel_url: str) -> Iterator[Callable[..., RedisEngine]]:
    """Build engines on the Sentinel-managed primary (private to this test session)."""
    made: list[RedisEngine] = []

    def make(**options: Any) -> RedisEngine:
        engine = RedisEngine(url=sentinel_url, prefix=unique_prefix("s"), **options)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()


# -- app servers in their own processes ---------------------------------------------

APPS = Path(__file__).with_name("_apps.py")


class AppServers:
    """``_apps.py`` processes under uvicorn (``"asgi"``) or waitress (``"wsgi"``)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *specs: tuple[str, str, str, str]) -> list[str]:
        """Start one server per ``(kind, redis_url, prefix, on_unavailable)``; their base URLs.

        The servers start in parallel (each takes a second or two to import and
        discover plugins); this returns once all of them answer.
        """
        started = []
        for kind, redis_url, prefix, on_unavailable in specs:
            port = free_port()
            env = {
                **os.environ,
                "SW_REDIS_URL": redis_url,
                "SW_PREFIX": prefix,
                "SW_ON_UNAVAILABLE": on_unavailable,
            }
            path = self.logs / f"{kind}-{port}.log"
            with path.open("ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, str(APPS), kind, str(port)], env=env, stdout=log, stderr=log
                )
            self.procs.append(proc)
            started.append((proc, f"http://127.0.0.1:{port}", path))
        deadline = time.monotonic() + START_TIMEOUT
        for proc, base, path in started:
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = path.read_text(errors="replace")
                    pytest.fail(f"the app server {path.stem} did not start:\n{output[-3000:]}")
                time.sleep(0.05)
        return [base for _, base, _ in started]

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def serve_apps(tmp_path: Path) -> Iterator[AppServers]:
    """App server processes stopped at the end of the test."""
    servers = AppServers(tmp_path)
    yield servers
    servers.close()


@pytest.fixture(scope="module")
def module_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServers]:
    """App server processes shared by a module's tests."""
    servers = AppServers(tmp_path_factory.mktemp("apps"))
    yield servers
    servers.close()
