"""Two processes racing read-modify-write cycles on one session; counts the lost updates.

Each worker increments its own top-level key of a JSON object ``cycles`` times:
``versioned`` mode with ``load_versioned``/``save_versioned``, starting again
on :class:`~sessionware.VersionConflict`; ``plain`` mode with ``load``/``save``,
as every session library does today; ``locked`` mode with plain ``load``/``save``
inside ``acquire_lock``/``release_lock`` (polled every 100 µs), every worker
also incrementing the shared key ``"n"``. Whatever the final object lacks of
``workers * cycles`` (in each worker's key, and in ``"n"`` for ``locked``) is
lost. Workers are separate interpreters (``subprocess``) that build the engine
directly (``module:Class`` + JSON options) and start together on a go-file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

WORKER = r"""
import importlib, json, os, sys, time
import sessionware
spec, options, key, field, mode, cycles, go = sys.argv[1:8]
module, _, cls = spec.partition(":")
engine = getattr(importlib.import_module(module), cls)(**json.loads(options))
cycles = int(cycles)
later = time.time() + 600
deadline = time.monotonic() + 30
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.0005)
conflicts = 0
began = time.time()
started = time.perf_counter()
for _ in range(cycles):
    if mode == "versioned":
        while True:
            data, version = engine.load_versioned(key)
            state = json.loads(data)
            state[field] = state.get(field, 0) + 1
            try:
                engine.save_versioned(key, json.dumps(state).encode(), later, version)
                break
            except sessionware.VersionConflict:
                conflicts += 1
    elif mode == "locked":
        while (token := engine.acquire_lock(key, 10.0)) is None:
            time.sleep(0.0001)
        try:
            state = json.loads(engine.load(key))
            state[field] = state.get(field, 0) + 1
            state["n"] = state.get("n", 0) + 1
            engine.save(key, json.dumps(state).encode(), later)
        finally:
            engine.release_lock(key, token)
    else:
        state = json.loads(engine.load(key))
        state[field] = state.get(field, 0) + 1
        engine.save(key, json.dumps(state).encode(), later)
elapsed = time.perf_counter() - started
engine.close()
print(json.dumps({"conflicts": conflicts, "seconds": elapsed, "span": [began, time.time()]}))
"""


def race(
    engine: Any,
    spec: str,
    options: dict[str, Any],
    key: str,
    mode: str,
    cycles: int,
    go: Path,
    workers: int = 2,
) -> dict[str, Any]:
    """Race ``workers`` processes on ``key`` (created here, empty); the lost count and more."""
    engine.save(key, b"{}", time.time() + 600, must_create=True)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                spec,
                json.dumps(options),
                key,
                f"w{index}",
                mode,
                str(cycles),
                str(go),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(workers)
    ]
    try:
        time.sleep(0.3)  # let the interpreters start, so the workers overlap
        go.touch()
        reports = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            reports.append(json.loads(out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        go.unlink(missing_ok=True)
    final = json.loads(engine.load(key))
    counted = sum(final.get(f"w{index}", 0) for index in range(workers))
    spans = [report["span"] for report in reports]
    return {
        # Seconds all workers ran at once: a race without overlap would prove nothing.
        "overlap": min(end for _, end in spans) - max(start for start, _ in spans),
        "lost": workers * cycles - counted,
        "lost_shared": workers * cycles - final.get("n", 0),
        "final": final,
        "conflicts": sum(report["conflicts"] for report in reports),
        "seconds": max(report["seconds"] for report in reports),
    }
