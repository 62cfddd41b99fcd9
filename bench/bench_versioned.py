"""What versioned saves and session locks cost (issue 12), engine level, without contention.

One load + modify one key + save cycle of the benchmark session (JSON), four ways per
engine (db, file, redis, cache), interleaved in one run:

- ``before``: plain ``load`` + ``save`` of the engine as it was at ``--against`` (default
  ``6922635~1``, the commit before versioning reached any engine), imported side by side
  from ``git archive`` under another package name, on a store of its own;
- ``plain``: plain ``load`` + ``save`` of this checkout's engine (every write now bumps a
  version);
- ``versioned``: ``load_versioned`` + ``save_versioned`` (compare-and-set);
- ``locked``: ``acquire_lock`` + plain cycle + ``release_lock`` (what ``session.lock()``
  adds to a request, without the session's own work).

Prints medians and p10-p90 in µs per cycle and each row's ratio to the same engine's
``before`` (issue 12's target: versioning costs at most 10%). Redis runs a quarter of
the cycles per round (a round trip is ~20 file writes). Never imported by tests; run it
by hand (redis rows need a server on 127.0.0.1:6379):

    .venv/bin/python bench/bench_versioned.py [--repeat 15] [--number 2000] [--quick]
        [--engines db,file,redis,cache] [--against REV]
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
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

from harness import PAYLOAD
from harness.services import REDIS_URL, redis_available, redis_cleanup
from harness.timing import counts, interleave, print_table

import sessionware

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("db", "file", "redis", "cache")
#: engine -> (plugin directory, package, class)
PLUGINS = {
    "db": ("sessionware-db", "sessionware_db", "DbEngine"),
    "file": ("sessionware-file", "sessionware_file", "FileEngine"),
    "redis": ("sessionware-redis", "sessionware_redis", "RedisEngine"),
    "cache": ("sessionware-cache", "sessionware_cache", "CacheEngine"),
}


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


def options(name: str, place: Path, prefix: str) -> dict[str, Any]:
    """The options of an engine ``name`` on a store of its own under ``place``."""
    if name == "db":
        return {"path": place.with_suffix(".sqlite3")}
    if name == "file":
        place.mkdir(mode=0o700)
        return {"path": place}
    if name == "redis":
        return {"url": REDIS_URL, "prefix": f"{prefix}{place.name}:"}
    return {}


def cycles(engine: Any) -> dict[str, Callable[[], None]]:
    """The plain, versioned and locked cycles, each on its own seeded session of ``engine``."""
    later = time.time() + 3600
    counter = itertools.count()

    def seeded() -> str:
        key = sessionware.new_session_key()
        engine.save(key, json.dumps(PAYLOAD).encode(), later, must_create=True)
        return key

    plain_key, versioned_key, locked_key = seeded(), seeded(), seeded()

    def plain(key: str = plain_key) -> None:
        data = json.loads(engine.load(key))
        data["counter"] = next(counter)  # a new value every time
        engine.save(key, json.dumps(data).encode(), later)

    def versioned() -> None:
        raw, version = engine.load_versioned(versioned_key)
        data = json.loads(raw)
        data["counter"] = next(counter)
        engine.save_versioned(versioned_key, json.dumps(data).encode(), later, version)

    def locked() -> None:
        token = engine.acquire_lock(locked_key, 10.0)
        assert token is not None, "nobody else holds it"
        try:
            plain(locked_key)
        finally:
            engine.release_lock(locked_key, token)

    return {"plain": plain, "versioned": versioned, "locked": locked}


def main() -> None:
    parser = counts(__doc__)
    parser.add_argument("--quick", action="store_true", help="3 rounds x 200 cycles")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated")
    parser.add_argument("--against", default="6922635~1", help="the revision of 'before'")
    args = parser.parse_args()
    n, r = (200, 3) if args.quick else (args.number, args.repeat)
    names = [name for name in args.engines.split(",") if name]
    unknown = sorted(set(names) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engines {unknown}; choose from {','.join(ENGINES)}")
    if "redis" in names and not redis_available():
        print("(no Redis answering PING on 127.0.0.1:6379: redis rows skipped)")
        names.remove("redis")
    prefix = f"swbench-ver-{uuid.uuid4().hex[:8]}:"
    print(
        f"load + modify + save, uncontended; {r} interleaved rounds after a warm-up; "
        f"before = {args.against}; ratio to the same engine's before\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for name in names:
                plugin, package, cls = PLUGINS[name]
                old = old_package(args.against, plugin, package, Path(tmp) / "src")
                now = importlib.import_module(package)
                before = getattr(old, cls)(**options(name, Path(tmp) / f"{name}-before", prefix))
                engine = getattr(now, cls)(**options(name, Path(tmp) / f"{name}-now", prefix))
                number = max(1, n // 4) if name == "redis" else n
                ops = {f"{name}: before: plain": cycles(before)["plain"]}
                ops.update({f"{name}: {path}": fn for path, fn in cycles(engine).items()})
                results = interleave(ops, number=number, rounds=r)
                print(f"{name} ({number} cycles a round)")
                print_table(results, dict.fromkeys(ops, f"{name}: before: plain"), width=24)
                print()
                before.close()
                engine.close()
        finally:
            if "redis" in names:
                redis_cleanup(prefix)


if __name__ == "__main__":
    main()
