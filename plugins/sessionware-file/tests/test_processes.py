"""Real processes sharing one session directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sessionware_file import FileEngine

import sessionware
from sessionware.testing import expired, expires_in

# Every worker: argv = directory, go-file, then its own arguments. It waits for the
# go-file so that the processes of one test really overlap. It builds the engine
# directly: discovery would import every installed plugin, seconds on a dev venv.
PRELUDE = r"""
import json, os, random, sys, time
import sessionware
from sessionware_file import FileEngine
directory, go = sys.argv[1], sys.argv[2]
args = sys.argv[3:]
engine = FileEngine(path=directory)
open(f"{go}.ready.{os.getpid()}", "w").close()  # imported and built: ready to start
deadline = time.monotonic() + 60
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.001)
later = engine.now() + 600
"""

# args = role, shared keys, hot keys
MIXED = r"""
role, shared, hot = args[0], args[1].split(","), args[2].split(",")
own = [sessionware.new_session_key() for _ in range(100)]
won = []
for i, key in enumerate(own):
    engine.save(key, f"{role}:created".encode(), later, must_create=True)
    engine.save(key, f"{role}:updated".encode(), later)
    if i % 2:
        engine.delete(key)
    if i % 10 == 0:
        for s in shared[i // 10 * 5 : i // 10 * 5 + 5]:
            try:
                engine.save(s, role.encode(), later, must_create=True)
                won.append(s)
            except sessionware.CreateError:
                pass
for n in range(60):
    for h in hot:
        engine.save(h, f"{role}:{n}".encode(), later)
print(json.dumps({"own": own, "won": won}))
"""

# args = keys; updates them over and over while another process deletes them
UPDATER = r"""
keys = args[0].split(",")
refused = 0
for n in range(40):
    for key in keys:
        try:
            engine.save(key, b"update %d" % n, later)
        except sessionware.UpdateError:
            refused += 1
print(refused)
"""

# args = keys; deletes them in a random order
DELETER = r"""
keys = args[0].split(",")
random.shuffle(keys)
for key in keys:
    engine.delete(key)
    time.sleep(0.0005)
print(len(keys))
"""

# args = keys, rounds; creates, rewrites (payloads of several sizes) and deletes
CHURN = r"""
keys, rounds = args[0].split(","), int(args[1])
for n in range(rounds):
    for key in keys:
        try:
            engine.save(key, b"a" * 10, later, must_create=True)
        except sessionware.CreateError:
            pass
        engine.save(key, b"b" * 5000, later)
        engine.save(key, b"c" * 70, later)
        engine.delete(key)
print("done")
"""

# args = keys to renew (expired now), count of new ones
RENEWER = r"""
stale, fresh = args[0].split(","), int(args[1])
for key in stale:
    engine.save(key, b"renewed", later, must_create=True)
created = []
for _ in range(fresh):
    key = sessionware.new_session_key()
    engine.save(key, b"fresh", later, must_create=True)
    engine.save(key, b"fresh-updated", later)
    created.append(key)
print(json.dumps(created))
"""


class Processes:
    """Start workers on one directory, release them together, collect their output."""

    def __init__(self, directory: Path, tmp_path: Path) -> None:
        self.directory = directory
        self.go = tmp_path / "go"
        self.running: list[subprocess.Popen[str]] = []

    def start(self, script: str, *args: str) -> subprocess.Popen[str]:
        worker = subprocess.Popen(
            [sys.executable, "-c", PRELUDE + script, str(self.directory), str(self.go), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.running.append(worker)
        return worker

    def release(self) -> None:
        """Start every worker at once, when all of them have imported and built their engine
        (on a busy machine an interpreter can take seconds to start: a fixed wait let one
        worker finish before another began, and the workers did not overlap)."""
        deadline = time.monotonic() + 60
        while len(list(self.go.parent.glob(f"{self.go.name}.ready.*"))) < len(self.running):
            failed = [w for w in self.running if w.poll() is not None]
            assert not failed, f"a worker exited before the start: {failed[0].communicate()}"
            assert time.monotonic() < deadline, "the workers did not start within 60 s"
            time.sleep(0.01)
        self.go.touch()

    @staticmethod
    def output(worker: subprocess.Popen[str]) -> str:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        assert err == ""
        return out

    def stop_all(self) -> None:
        for worker in self.running:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()


@pytest.fixture
def processes(session_dir: Path, tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(session_dir, tmp_path)
    yield procs
    procs.stop_all()


def keys(n: int) -> list[str]:
    return [sessionware.new_session_key() for _ in range(n)]


def joined(values: Sequence[str]) -> str:
    return ",".join(values)


def no_temporary_files(directory: Path) -> bool:
    return not any(name.startswith(".") for name in os.listdir(directory))


@pytest.mark.slow
def test_two_processes_create_update_and_delete_in_one_directory(
    engine: FileEngine, processes: Processes, session_dir: Path
) -> None:
    shared, hot = keys(50), keys(5)
    for key in hot:
        engine.save(key, b"start", expires_in(600), must_create=True)
    workers = {role: processes.start(MIXED, role, joined(shared), joined(hot)) for role in "ab"}
    processes.release()
    results = {role: json.loads(processes.output(w)) for role, w in workers.items()}

    for role, result in results.items():
        for i, key in enumerate(result["own"]):
            assert engine.load(key) == (None if i % 2 else f"{role}:updated".encode())
    won_a, won_b = set(results["a"]["won"]), set(results["b"]["won"])
    assert won_a.isdisjoint(won_b)
    assert won_a | won_b == set(shared)  # every shared key has exactly one creator
    assert all(engine.load(k) == b"a" for k in won_a)
    assert all(engine.load(k) == b"b" for k in won_b)
    assert {engine.load(k) for k in hot} <= {b"a:59", b"b:59"}
    assert len(os.listdir(session_dir)) == 2 * 50 + 50 + 5
    assert no_temporary_files(session_dir)


@pytest.mark.slow
def test_sessions_deleted_by_one_process_are_never_resurrected_by_anothers_updates(
    engine: FileEngine, processes: Processes, session_dir: Path
) -> None:
    targets = keys(150)
    for key in targets:
        engine.save(key, b"start", expires_in(600), must_create=True)
    updater = processes.start(UPDATER, joined(targets))
    deleter = processes.start(DELETER, joined(targets))
    processes.release()
    refused = int(processes.output(updater))
    assert int(processes.output(deleter)) == len(targets)
    assert refused > 0  # the updates ran into the deletes
    assert [k for k in targets if engine.load(k) is not None] == []
    assert os.listdir(session_dir) == []


@pytest.mark.slow
def test_loads_while_another_process_creates_rewrites_and_deletes_never_fail(
    engine: FileEngine, processes: Processes
) -> None:
    hot = keys(3)
    churn = processes.start(CHURN, joined(hot), "60")
    processes.release()
    seen: set[bytes | None] = set()
    while churn.poll() is None:
        for key in hot:
            seen.add(engine.load(key))
            engine.exists(key)
    assert processes.output(churn).strip() == "done"
    # Whole payloads or nothing: never an exception, never a torn file.
    assert seen <= {None, b"a" * 10, b"b" * 5000, b"c" * 70}
    assert all(engine.load(key) is None for key in hot)


@pytest.mark.slow
def test_clear_expired_while_another_process_renews_and_writes_keeps_every_live_session(
    engine: FileEngine, processes: Processes, session_dir: Path
) -> None:
    stale = keys(150)
    for key in stale:
        engine.save(key, b"stale", expired(), must_create=True)
    renewer = processes.start(RENEWER, joined(stale), "100")
    processes.release()
    removed = 0
    while renewer.poll() is None:
        removed += engine.clear_expired()
    created = json.loads(processes.output(renewer))
    removed += engine.clear_expired()
    assert removed <= len(stale)
    assert all(engine.load(key) == b"renewed" for key in stale)
    assert all(engine.load(key) == b"fresh-updated" for key in created)
    assert len(os.listdir(session_dir)) == len(stale) + len(created)


PROBE = r"""
import sys
import sessionware
from sessionware_file import FileEngine
engine = FileEngine(path=sys.argv[1])
result = []
for must_create in (False, True):
    try:
        engine.save(sys.argv[2], b"probe", engine.now() + 60, must_create=must_create)
        result.append("saved")
    except sessionware.SessionwareError as exc:
        result.append(type(exc).__name__)
print(",".join(result))
"""


def run_probe(directory: Path, key: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(directory), key],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_create_and_update_errors_hold_across_processes(
    engine: FileEngine, session_dir: Path
) -> None:
    key = sessionware.new_session_key()
    engine.save(key, b"mine", expires_in(), must_create=True)
    assert run_probe(session_dir, key) == "saved,CreateError"
    assert engine.load(key) == b"probe"
    engine.delete(key)
    assert run_probe(session_dir, key).startswith("UpdateError")
