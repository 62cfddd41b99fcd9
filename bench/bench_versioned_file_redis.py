"""What versioning and session locks cost on the file and redis engines, uncontended.

Times one load + modify + save cycle (a JSON object of ten keys, one changed per
cycle) four ways, in one process, rounds alternating the paths:

- ``before``: plain ``load``/``save`` of the engine as it was at ``--against``
  (default: ``5c5b259~1``, the commit before versioning reached these plugins),
  imported side by side from ``git archive`` under another package name;
- ``plain``: plain ``load``/``save`` of this checkout's engine;
- ``versioned``: ``load_versioned``/``save_versioned``;
- ``locked``: ``acquire_lock`` + plain cycle + ``release_lock`` (what
  ``session.lock()`` adds to a request, without the core's own work).

Prints the median µs per cycle (p10-p90) and each path's ratio to ``before``.
Never imported by tests; run it by hand (Redis rows need a server on 127.0.0.1:6379):

    .venv/bin/python bench/bench_versioned_file_redis.py [--repeats 15] [--number 2000]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import sessionware

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"


def old_package(revision: str, plugin: str, package: str, into: Path) -> ModuleType:
    """``package`` of ``plugins/<plugin>`` at ``revision``, imported as ``<package>_before``."""
    archive = subprocess.run(
        ["git", "archive", revision, f"plugins/{plugin}/src/{package}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    source = into / "plugins" / plugin / "src" / package
    name = f"{package}_before"
    spec = importlib.util.spec_from_file_location(
        name, source / "__init__.py", submodule_search_locations=[str(source)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def cycles(engine: Any, key: str, number: int, mode: str) -> None:
    later = time.time() + 3600
    for i in range(number):
        token = None
        if mode == "locked":
            token = engine.acquire_lock(key, 10.0)
            assert token is not None
        if mode == "versioned":
            data, version = engine.load_versioned(key)
            state = json.loads(data)
            state["k3"] = i
            engine.save_versioned(key, json.dumps(state).encode(), later, version)
        else:
            state = json.loads(engine.load(key))
            state["k3"] = i
            engine.save(key, json.dumps(state).encode(), later)
        if token is not None:
            engine.release_lock(key, token)


def measure(paths: dict[str, Callable[[int], None]], repeats: int, number: int) -> None:
    for run in paths.values():  # warm-up
        run(max(1, number // 10))
    samples: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    for round_ in range(repeats):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            started = time.perf_counter()
            paths[name](number)
            samples[name].append((time.perf_counter() - started) / number * 1e6)
    base = statistics.median(samples[names[0]])
    for name in names:
        values = sorted(samples[name])
        mid = statistics.median(values)
        low, high = values[len(values) // 10], values[-1 - len(values) // 10]
        print(f"  {name:<28} {mid:8.1f} µs  ({low:.1f}-{high:.1f})  x{mid / base:.3f}")


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="5c5b259~1")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    payload = json.dumps({f"k{i}": f"value {i}" * 3 for i in range(10)}).encode()
    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryDirectory() as directory:
        setups: list[tuple[str, Any, Any, int]] = []
        from sessionware_file import FileEngine

        old_file = old_package(args.against, "sessionware-file", "sessionware_file", Path(scratch))
        setups.append(
            ("file", old_file.FileEngine(path=directory), FileEngine(path=directory), args.number)
        )
        if redis_answers():
            from sessionware_redis import RedisEngine

            old_redis = old_package(
                args.against, "sessionware-redis", "sessionware_redis", Path(scratch)
            )
            prefix = f"swbench-ver-{uuid.uuid4().hex[:8]}:"
            setups.append(
                (
                    "redis",
                    old_redis.RedisEngine(url=REDIS_URL, prefix=prefix),
                    RedisEngine(url=REDIS_URL, prefix=prefix),
                    max(1, args.number // 4),  # a round trip is ~20x a file write
                )
            )
        else:
            print("(no Redis on 127.0.0.1:6379: redis rows skipped)")
        print(
            f"load + modify + save, uncontended; median of {args.repeats} rounds; "
            f"before = {args.against}"
        )
        for name, before, now, number in setups:
            keys = {path: sessionware.new_session_key() for path in ("b", "p", "v", "l")}
            for key in keys.values():
                now.save(key, payload, time.time() + 3600, must_create=True)
            print(f"{name} ({number} cycles a round):")
            measure(
                {
                    "before: plain load/save": lambda n, e=before, k=keys["b"]: cycles(
                        e, k, n, "plain"
                    ),
                    "now: plain load/save": lambda n, e=now, k=keys["p"]: cycles(e, k, n, "plain"),
                    "now: versioned": lambda n, e=now, k=keys["v"]: cycles(e, k, n, "versioned"),
                    "now: lock + plain + unlock": lambda n, e=now, k=keys["l"]: cycles(
                        e, k, n, "locked"
                    ),
                },
                args.repeats,
                number,
            )
            for key in keys.values():
                now.delete(key)
            before.close()
            now.close()


if __name__ == "__main__":
    main()
