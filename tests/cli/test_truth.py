"""The CLI tells the truth: ``check`` reaches the store, ``plugins`` fails on a broken plugin,
``clear-expired`` draws a real progress bar and stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import io
import os
import pty
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import sessionware
from sessionware import EngineBase, EngineUnavailable
from sessionware._plugins import host
from sessionware.cli import main
from sessionware.cli._clear_expired import _Progress
from sessionware.testing import ReferenceSerializer, registered

needs_db = pytest.mark.skipif(
    not os.environ.get("CI")
    and "db" not in {e for p in sessionware.list_plugins() for e in p.engines},
    reason="sessionware-db is not installed (nox -s tests installs it)",
)
needs_redis = pytest.mark.skipif(
    not os.environ.get("CI")
    and "redis" not in {e for p in sessionware.list_plugins() for e in p.engines},
    reason="sessionware-redis is not installed (nox -s tests installs it)",
)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("SESSIONWARE_ENGINE", "SESSIONWARE_SECRET_KEY", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    host.reset()
    yield
    host.reset()


# -- check reaches the store ------------------------------------------------------


@needs_redis
def test_check_fails_for_a_redis_url_nothing_listens_on() -> None:
    code, text = run("check", "--engine", "redis", "-o", "url=redis://127.0.0.1:1/0")
    assert code == 1
    assert "PROBLEM engine: cannot use Redis at redis://127.0.0.1:1/0 for PING" in text
    assert "no problems found" not in text


@needs_db
def test_check_notes_that_the_db_engine_passed_its_health_check(tmp_path: Path) -> None:
    code, text = run("check", "-o", f"path={tmp_path / 's.sqlite3'}")
    assert code == 0, text
    assert "ok      the 'db' engine's health check passed" in text


@needs_db
def test_check_fails_for_a_database_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    code, text = run("check", "-o", f"path={path}")
    assert code == 1
    assert "not an SQLite database" in text


class _Unreachable(EngineBase):
    """An engine whose store is down: ``health`` says so."""

    name: ClassVar[str] = "unreachable_test"

    def health(self) -> None:
        raise EngineUnavailable("nothing answers at store://nowhere", address="store://nowhere")


class _NoHealth:
    """A third-party engine written before ``health`` existed: no such method at all."""

    name: ClassVar[str] = "nohealth_test"
    capabilities: ClassVar[sessionware.Capabilities] = sessionware.Capabilities()

    def close(self) -> None:
        return None


@pytest.fixture
def test_engines() -> Iterator[None]:
    with registered(_Unreachable, _NoHealth, ReferenceSerializer, name="truth-test"):
        yield


@pytest.mark.usefixtures("test_engines")
def test_check_fails_when_the_engine_health_check_fails() -> None:
    code, text = run("check", "--engine", "unreachable_test", "--serializer", "kit_json")
    assert code == 1
    assert "PROBLEM engine: nothing answers at store://nowhere" in text


@pytest.mark.usefixtures("test_engines")
def test_check_passes_an_engine_without_a_health_method() -> None:
    code, text = run("check", "--engine", "nohealth_test", "--serializer", "kit_json")
    assert code == 0, text
    assert "health check passed" not in text


# -- plugins exits non-zero when one is broken ------------------------------------------


@pytest.fixture
def broken_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A distribution on sys.path whose sessionware entry point fails to import."""
    (tmp_path / "cli_broken_mod.py").write_text("raise ImportError('missing libfoo')\n")
    info = tmp_path / "sessionware_clibroken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: sessionware-clibroken\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text("[sessionware]\nclibroken = cli_broken_mod\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    host.reset()
    yield
    sys.modules.pop("cli_broken_mod", None)


@pytest.mark.usefixtures("broken_plugin")
@pytest.mark.parametrize("flags", [[], ["--json"]], ids=["table", "json"])
def test_plugins_exits_1_naming_a_broken_plugin(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run("plugins", *flags)
    assert code == 1
    assert "clibroken (sessionware-clibroken)" in capsys.readouterr().err
    assert "missing libfoo" in text


def test_plugins_exits_0_when_every_plugin_loads() -> None:
    if any(p.error for p in sessionware.list_plugins()):
        pytest.skip("a plugin installed here is broken (the test above covers that case)")
    assert run("plugins")[0] == 0


# -- clear-expired: a real progress bar ------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_bar_shows_total_share_rate_and_time_left() -> None:
    clock = _Clock()
    progress = _Progress(_Terminal(), total=2000, clock=clock)
    clock.now += 10
    progress(500)
    assert progress.line(clock.now) == (
        "[#######.......................]  25% 500/2,000 removed, 50/s, ETA 30s"
    )
    assert progress.stream.getvalue().endswith("ETA 30s\x1b[K")  # type: ignore[attr-defined]


def test_progress_without_a_total_shows_the_count_and_rate() -> None:
    clock = _Clock()
    progress = _Progress(_Terminal(), clock=clock)
    clock.now += 4
    progress(1000)
    assert progress.line(clock.now) == "removed 1,000 expired sessions (250/s)"


def test_progress_is_silent_off_a_terminal_but_keeps_the_count() -> None:
    stream = io.StringIO()
    progress = _Progress(stream, total=10)
    progress(7)
    progress.done()
    assert stream.getvalue() == "" and progress.removed == 7


def test_progress_counts_sessions_that_expired_after_the_count_as_done() -> None:
    clock = _Clock()
    progress = _Progress(_Terminal(), total=100, clock=clock)
    clock.now += 1
    progress(103)
    assert "100% 100/100 removed" in progress.line(clock.now)


def _expired_db(path: Path, rows: int) -> None:
    sessionware.get_engine("db", path=str(path)).close()  # creates the table
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO sessionware_session (session_key, session_data, expires_at) "
            "VALUES (?, ?, ?)",
            ((sessionware.new_session_key(), b"{}", time.time() - 60) for _ in range(rows)),
        )


def _left(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM sessionware_session").fetchone()[0])


@needs_db
def test_clear_expired_draws_the_bar_with_the_engine_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "s.sqlite3"
    _expired_db(db, 250)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code, text = run("clear-expired", "-o", f"path={db}", "-o", "batch_size=100")
    assert code == 0 and "removed 250 expired session(s)" in text
    assert "100% 250/250 removed" in terminal.getvalue()


# -- clear-expired: Ctrl-C -------------------------------------------------------------


@pytest.fixture
def ctrl_c_after_batches(monkeypatch: pytest.MonkeyPatch) -> Callable[[int, int], None]:
    """Deliver ``presses`` SIGINTs to this process after the db engine's ``after``-th batch."""
    from sessionware_db import _purge

    def arrange(after: int, presses: int = 1) -> None:
        original = _purge._purge_batch
        done = [0]

        def purge_batch(conn: Any, purge_sql: str, batch: Any) -> int:
            count = original(conn, purge_sql, batch)
            done[0] += 1
            if done[0] == after:
                for _ in range(presses):
                    signal.raise_signal(signal.SIGINT)
            return count

        monkeypatch.setattr(_purge, "_purge_batch", purge_batch)

    return arrange


@needs_db
def test_ctrl_c_stops_at_the_next_batch_and_says_exactly_how_many_were_removed(
    tmp_path: Path, ctrl_c_after_batches: Callable[[int, int], None]
) -> None:
    db = tmp_path / "s.sqlite3"
    _expired_db(db, 1000)
    ctrl_c_after_batches(3, 1)
    code, text = run("clear-expired", "-o", f"path={db}", "-o", "batch_size=100")
    assert code == 130
    assert "interrupted after removing 300 expired session(s)" in text
    assert _left(db) == 700
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


@needs_db
def test_a_second_ctrl_c_stops_at_once_and_says_at_least(
    tmp_path: Path, ctrl_c_after_batches: Callable[[int, int], None]
) -> None:
    db = tmp_path / "s.sqlite3"
    _expired_db(db, 1000)
    ctrl_c_after_batches(2, 2)
    code, text = run("clear-expired", "-o", f"path={db}", "-o", "batch_size=100")
    assert code == 130
    assert "interrupted after removing at least 100 expired session(s)" in text
    assert 1000 - _left(db) >= 100


SLOW_PURGE = textwrap.dedent(
    """
    import sys, time
    from sessionware_db import _purge
    from sessionware.cli import main

    original = _purge.checkpoint
    def slow_checkpoint(conn):
        original(conn)
        time.sleep(0.05)  # so the purge is surely still running when Ctrl-C comes
    _purge.checkpoint = slow_checkpoint
    sys.exit(main(sys.argv[1:]))
    """
)


@needs_db
def test_ctrl_c_in_a_terminal_leaves_no_traceback(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    _expired_db(db, 2000)
    args = ["-o", f"path={db}", "-o", "batch_size=10"]
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_PURGE, "clear-expired", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    seen = b""
    try:
        while b"removed" not in seen:  # the bar is drawn: the purge has begun
            seen += os.read(leader, 4096)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        proc.kill()
        os.close(leader)
    err = seen.decode("utf-8", "replace")
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted after removing" in out
    removed = int(out.split("after removing ")[1].split(" ")[0])
    assert _left(db) == 2000 - removed
