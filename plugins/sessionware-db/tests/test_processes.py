"""Two real processes sharing one database file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sessionware_db import DbEngine

import sessionware

# Runs in a fresh interpreter: argv = path, role, go-file, shared keys, hot keys.
WORKER = r"""
import json, os, sys, time
import sessionware
path, role, go, shared, hot = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
engine = sessionware.get_engine("db", path=path)
deadline = time.monotonic() + 20
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.001)
later = engine.now() + 600
own = [sessionware.new_session_key() for _ in range(150)]
won, errors = [], []
for i, key in enumerate(own):
    engine.save(key, f"{role}:created".encode(), later, must_create=True)
    engine.save(key, f"{role}:updated".encode(), later)
    if i % 15 == 0:
        for s in shared.split(",")[i // 15 * 5 : i // 15 * 5 + 5]:
            try:
                engine.save(s, role.encode(), later, must_create=True)
                won.append(s)
            except sessionware.CreateError:
                pass
for n in range(100):
    for h in hot.split(","):
        engine.save(h, f"{role}:{n}".encode(), later)
engine.close()
print(json.dumps({"own": own, "won": won}))
"""

# argv = path, key: report what an update and a create of ``key`` raise here.
PROBE = r"""
import sys
import sessionware
engine = sessionware.get_engine("db", path=sys.argv[1])
result = []
for must_create in (False, True):
    try:
        engine.save(sys.argv[2], b"probe", engine.now() + 60, must_create=must_create)
        result.append("saved")
    except sessionware.SessionwareError as exc:
        result.append(type(exc).__name__)
engine.close()
print(",".join(result))
"""


def run_probe(path: Path, key: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), key],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_two_processes_share_one_file_without_losing_writes(
    engine: DbEngine, db_path: Path, tmp_path: Path
) -> None:
    later = engine.now() + 600
    shared = [sessionware.new_session_key() for _ in range(50)]
    hot = [sessionware.new_session_key() for _ in range(5)]
    for key in hot:
        engine.save(key, b"start", later, must_create=True)
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                str(db_path),
                role,
                str(go),
                ",".join(shared),
                ",".join(hot),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in ("a", "b")
    ]
    time.sleep(0.2)  # let both interpreters start, so their writes overlap
    go.touch()
    results = {}
    for role, worker in zip(("a", "b"), workers, strict=True):
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results[role] = json.loads(out)

    for role, result in results.items():
        assert all(engine.load(k) == f"{role}:updated".encode() for k in result["own"])
    won_a, won_b = set(results["a"]["won"]), set(results["b"]["won"])
    assert won_a.isdisjoint(won_b)
    assert won_a | won_b == set(shared)
    assert all(engine.load(k) == b"a" for k in won_a)
    assert all(engine.load(k) == b"b" for k in won_b)
    assert {engine.load(k) for k in hot} <= {b"a:99", b"b:99"}
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM sessionware_session").fetchone()[0] == (
            300 + 50 + 5
        )
    finally:
        conn.close()


def test_create_and_update_errors_hold_across_processes(engine: DbEngine, db_path: Path) -> None:
    key = sessionware.new_session_key()
    engine.save(key, b"mine", engine.now() + 60, must_create=True)
    # Another process: the update succeeds, the create finds the key taken.
    assert run_probe(db_path, key) == "saved,CreateError"
    assert engine.load(key) == b"probe"
    engine.delete(key)
    # Deleted here: the other process may not resurrect it by updating.
    gone = run_probe(db_path, key)
    assert gone.startswith("UpdateError")
