"""SIGKILL writers of the db and file engines mid-write; every session stays the old or the new.

Each round, one writer process per session saves version after version of it (see
``_writers.py``) and is killed with SIGKILL at a random moment. Then this process
loads every session with its own engine and requires exactly one of two versions:
the last one its writer acknowledged, or the one it was writing when it died.
Anything else is counted: a **mix** (bytes that are neither version, e.g. the
front of one and the end of the other) or a **loss** (nothing, where a session
existed before the write began). A lost or mixed session is put back in a known
state and the rounds go on, so a run reports how often it happens.

Two cases: ``equal`` (two versions of the same length that differ at both ends,
1 MiB between them: a torn write keeps the size) and ``growing`` (each update
16 KiB longer than the last, up to 1 MiB). ``SESSIONWARE_CRASH_ROUNDS`` sets the
rounds per test (default 8; each kills ``WRITERS`` processes); a long run:

    SESSIONWARE_CRASH_ROUNDS=500 .venv/bin/pytest -q -p no:cacheprovider tests/crash -rA
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import sessionware

from ._tally import TALLIES, Tally
from ._writers import EXPIRES_IN, VERSIONS

ROUNDS = int(os.environ.get("SESSIONWARE_CRASH_ROUNDS", "8"))
#: Writer processes per round, one session each.
WRITERS = 3
#: Each writer dies within this many seconds of the first save of them all.
MAX_DELAY = 0.03
#: Engine name: (distribution, the class the writers' process imports).
ENGINES = {
    "db": ("sessionware-db", "sessionware_db:DbEngine"),
    "file": ("sessionware-file", "sessionware_file:FileEngine"),
}


class Writers:
    """The ``_writers.py`` process: one JSON line per round in, one out."""

    def __init__(self, engine: str, options: dict[str, Any], case: str) -> None:
        script = Path(__file__).with_name("_writers.py")
        self.process = subprocess.Popen(
            [sys.executable, str(script), ENGINES[engine][1], json.dumps(options), case],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def round(self, seed: int, sessions: dict[str, int]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        spec = {"seed": seed, "max_delay": MAX_DELAY, "sessions": sessions}
        self.process.stdin.write(json.dumps(spec) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the writers' process died (exit code {self.process.wait()})"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


def describe(data: bytes | None) -> str:
    """A short, readable description of stored bytes: length and both ends."""
    if data is None:
        return "nothing"
    return f"{len(data)} bytes {data[:24]!r}...{data[-24:]!r}"


@pytest.fixture
def options(engine_name: str, tmp_path: Path) -> dict[str, Any]:
    if engine_name == "db":
        return {"path": str(tmp_path / "sessions.sqlite3")}
    directory = tmp_path / "sessions"
    directory.mkdir(mode=0o700)
    return {"path": str(directory)}


@pytest.fixture
def engine_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name not in {n for info in sessionware.list_plugins() for n in info.engines}:
        pytest.skip(f"{name!r} is not installed (pip install -e plugins/{ENGINES[name][0]})")
    return name


@pytest.fixture
def engine(engine_name: str, options: dict[str, Any]) -> Iterator[sessionware.EngineBase]:
    made = sessionware.get_engine(engine_name, **options)
    yield made
    made.close()


def run_rounds(
    engine: Any, engine_name: str, options: dict[str, Any], case: str, rounds: int
) -> Tally:
    version: Callable[[int], bytes] = VERSIONS[case]
    tally = Tally(engine_name, case)
    TALLIES.append(tally)
    rng = random.Random(f"{engine_name}-{case}")
    expires = time.time() + EXPIRES_IN
    current: dict[str, int] = {}
    for _ in range(WRITERS):
        key = sessionware.new_session_key()
        engine.save(key, version(0), expires, must_create=True)
        current[key] = 0
    writers = Writers(engine_name, options, case)
    try:
        for r in range(rounds):
            answer = writers.round(rng.randrange(1 << 30), current)
            tally.rounds += 1
            tally.kills += answer["killed"]
            tally.writer_errors += answer["errors"]
            for key, start in current.items():
                last = answer["acked"][key]
                tally.saves += last - start
                old, new = version(last), version(last + 1)
                got = engine.load(key)
                if got == old:
                    current[key] = last
                    continue
                if got == new:
                    current[key] = last + 1
                    continue
                what = f"round {r}, session {key[:6]}: {describe(got)}"
                # Put it back in a known state, so the next rounds test something.
                if got is None:
                    tally.losses.append(what)
                    engine.delete(key)
                    engine.save(key, old, expires, must_create=True)
                else:
                    tally.mixes.append(what)
                    engine.save(key, old, expires)
                current[key] = last
    finally:
        writers.close()
    return tally


def check(tally: Tally) -> None:
    print(tally.line())
    assert not tally.writer_errors, tally.writer_errors[:3]
    assert tally.kills == tally.rounds * WRITERS  # every writer died mid-run, none of old age
    assert not tally.mixes and not tally.losses, "\n".join(
        [tally.line(), *tally.mixes[:5], *tally.losses[:5]]
    )


@pytest.mark.parametrize("engine_name", list(ENGINES), indirect=True)
@pytest.mark.parametrize("case", list(VERSIONS))
def test_a_writer_killed_mid_write_leaves_the_old_version_or_the_new(
    engine: Any, engine_name: str, options: dict[str, Any], case: str
) -> None:
    check(run_rounds(engine, engine_name, options, case, ROUNDS))
