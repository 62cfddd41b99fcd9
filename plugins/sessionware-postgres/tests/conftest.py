"""Real PostgreSQL servers for the postgres engine's tests — never mocks.

Where the shared server comes from:

- `SESSIONWARE_TEST_POSTGRES_URL` when set (it must answer);
- else the PostgreSQL on 127.0.0.1:5432 (user `postgres`, database `test`);
- else a private server started here (`initdb` + `pg_ctl` on a free port in a
  temporary directory; as root, run as the `postgres` OS user);
- else the tests skip with the reason — except under CI (`CI` set), where
  they fail, because CI must run them.

Every test session works in a schema of its own (`swtest_<random>`), dropped
at the end; every engine gets a table of its own in it, so each starts empty.
The outage tests stop and restart a private server (never the shared one).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import psycopg.sql
import pytest
from sessionware_postgres import PostgresEngine

from sessionware.testing import engine_factory

SHARED_URL = "postgresql://postgres@127.0.0.1:5432/test"
START_TIMEOUT = 30.0


def unavailable(reason: str) -> None:
    """Skip with `reason`; under CI, fail (CI must run the PostgreSQL tests)."""
    if os.environ.get("CI"):
        pytest.fail(
            f"{reason}; CI must run the PostgreSQL tests: start PostgreSQL on 127.0.0.1:5432 "
            "(trust auth, user postgres, database test), set SESSIONWARE_TEST_POSTGRES_URL, "
            "or install the server binaries (initdb, pg_ctl) so the tests start their own"
        )
    pytest.skip(reason)


def answers(url: str, timeout: int = 2) -> str | None:
    """None when a server at `url` accepts a connection, else why not."""
    try:
        with psycopg.connect(url, connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_binaries() -> str | None:
    """The directory holding `initdb` and `pg_ctl`, if this machine has them."""
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(found)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    candidates += sorted(glob.glob("/usr/local/pgsql/bin/pg_ctl"))
    return os.path.dirname(candidates[0]) if candidates else None


class PostgresProcess:
    """A PostgreSQL this suite owns: initdb, start, stop (`-m immediate` or fast), restart."""

    def __init__(self, name: str = "private") -> None:
        bindir = server_binaries()
        if bindir is None:
            unavailable("no PostgreSQL server binaries (initdb, pg_ctl) to start a private server")
            raise AssertionError("unreachable")
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix=f"swpg-{name}-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.runas: list[str] = []
        if os.geteuid() == 0:  # the server refuses to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                unavailable("running as root without a 'postgres' OS user to run the server")
                raise AssertionError("unreachable") from None
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.runas = ["runuser", "-u", "postgres", "--"]
        self._run(
            f"{self.bindir}/initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        done = subprocess.run(
            [*self.runas, *command], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            unavailable(f"{' '.join(command)} failed: {done.stdout}{done.stderr}{tail}")

    def start(self) -> PostgresProcess:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c shared_buffers=16MB -c max_connections=60"
        )
        self._run(
            f"{self.bindir}/pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", str(int(START_TIMEOUT)), "start",
        )  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            [*self.runas, f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# -- the shared server and this session's schema ------------------------------------------


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A reachable PostgreSQL: the configured one, 127.0.0.1:5432, or one of our own."""
    configured = os.environ.get("SESSIONWARE_TEST_POSTGRES_URL")
    if configured:
        problem = answers(configured)
        if problem is not None:
            pytest.fail(f"SESSIONWARE_TEST_POSTGRES_URL does not answer: {problem}")
        yield configured
        return
    if answers(SHARED_URL) is None:
        yield SHARED_URL
        return
    server = PostgresProcess("shared").start()
    try:
        yield server.url
    finally:
        server.remove()


@pytest.fixture(scope="session")
def pg_schema(pg_url: str) -> Iterator[str]:
    """A schema of this test session's own, dropped (with every table in it) at the end."""
    schema = f"swtest_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def raw(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A plain autocommit connection to the shared server, for looking behind the engine."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        yield conn


def unique_table() -> str:
    return f"t_{uuid.uuid4().hex[:16]}"


@pytest.fixture
def make_engine(pg_url: str, pg_schema: str) -> Iterator[Callable[..., PostgresEngine]]:
    """Build engines by name, each on a fresh table of the session's schema; closed at teardown."""
    with engine_factory("postgres", PostgresEngine, url=pg_url, schema=pg_schema) as make:

        def fresh(**options: Any) -> PostgresEngine:
            options.setdefault("table", unique_table())
            engine: PostgresEngine = make(**options)
            return engine

        yield fresh


@pytest.fixture
def engine(make_engine: Callable[..., PostgresEngine]) -> PostgresEngine:
    return make_engine()


@pytest.fixture
def rows(raw: psycopg.Connection[Any], engine: PostgresEngine) -> Callable[[], int]:
    """Count the rows of `engine`'s session table through `raw`."""

    def count() -> int:
        query = psycopg.sql.SQL("SELECT count(*) FROM {}")
        cursor = raw.execute(query.format(psycopg.sql.Identifier(engine.schema, engine.table)))
        row = cursor.fetchone()
        assert row is not None
        return int(row[0])

    return count


# -- a private server to stop and restart ----------------------------------------------------


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PostgresProcess]:
    """A PostgreSQL of this session's own, started; tests may stop and start it again."""
    server = PostgresProcess().start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def running_private(private_postgres: PostgresProcess) -> Iterator[PostgresProcess]:
    """The private server, running at the start of the test and left running after it."""
    if answers(private_postgres.url, timeout=2) is not None:
        private_postgres.start()
    yield private_postgres
    if answers(private_postgres.url, timeout=2) is not None:
        private_postgres.start()


# -- app servers in their own processes ------------------------------------------------------

APPS = Path(__file__).with_name("_apps.py")


class AppServers:
    """`_apps.py` processes under uvicorn (`"asgi"`) or waitress (`"wsgi"`)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *specs: tuple[str, dict[str, str]]) -> list[str]:
        """Start one server per `(kind, environment)`; their base URLs once all answer."""
        started = []
        for kind, env in specs:
            port = free_port()
            path = self.logs / f"{kind}-{port}.log"
            with path.open("ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, str(APPS), kind, str(port)],
                    env={**os.environ, **env},
                    stdout=log,
                    stderr=log,
                )
            self.procs.append(proc)
            started.append((proc, f"http://127.0.0.1:{port}", path))
        deadline = time.monotonic() + START_TIMEOUT
        for proc, base, path in started:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = path.read_text(errors="replace")
                    pytest.fail(f"the app server {path.stem} did not start:\n{output[-3000:]}")
                time.sleep(0.05)
        return [base for _, base, _ in started]

    def close(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
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
