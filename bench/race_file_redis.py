"""The race of issue 12 at full size: 2 processes x 2,000 read-modify-write cycles on one session.

For the file and redis engines, three ways to write:

- ``plain``: ``load`` + modify + ``save``, as every session library does today;
- ``versioned``: ``load_versioned`` + modify + ``save_versioned``, again on
  ``VersionConflict`` (each process increments its own key);
- ``locked``: ``acquire_lock`` (polled every 100 µs), ``load`` + modify + ``save``,
  ``release_lock`` (each process increments its own key and a shared one).

Prints how many increments were lost (own keys; and the shared key for ``locked``),
the conflicts retried, the seconds the slower worker took and how long both ran at
once. The workers are the plugins' own race helper (``plugins/*/tests/_race.py``).
Never imported by tests; run it by hand (Redis rows need a server on 127.0.0.1:6379):

    .venv/bin/python bench/race_file_redis.py [--cycles 2000] [--workers 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import socket
import tempfile
import uuid
from pathlib import Path
from typing import Any

import sessionware

ROOT = Path(__file__).resolve().parent.parent
RACE = ROOT / "plugins" / "sessionware-file" / "tests" / "_race.py"
REDIS_URL = "redis://127.0.0.1:6379/0"


def load_race() -> Any:
    spec = importlib.util.spec_from_file_location("_race", RACE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.race


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    race = load_race()
    engines: list[tuple[str, str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as directory:
        engines.append(("file", "sessionware_file:FileEngine", {"path": directory}))
        if redis_answers():
            prefix = f"swbench-race-{uuid.uuid4().hex[:8]}:"
            engines.append(
                ("redis", "sessionware_redis:RedisEngine", {"url": REDIS_URL, "prefix": prefix})
            )
        else:
            print("(no Redis on 127.0.0.1:6379: redis rows skipped)")
        total = args.workers * args.cycles
        print(f"{args.workers} processes x {args.cycles} cycles on one session\n")
        print(
            f"{'engine':<7} {'mode':<10} {'lost (own keys)':>17} {'lost (shared)':>15} "
            f"{'conflicts':>10} {'seconds':>8} {'overlap':>8}"
        )
        for name, spec, options in engines:
            module, _, cls = spec.partition(":")
            engine = getattr(importlib.import_module(module), cls)(**options)
            try:
                for mode in ("plain", "versioned", "locked"):
                    key = sessionware.new_session_key()
                    go = Path(directory) / f"go-{uuid.uuid4().hex}"
                    result = race(engine, spec, options, key, mode, args.cycles, go, args.workers)
                    shared = f"{result['lost_shared']} ({result['lost_shared'] / total:.1%})"
                    print(
                        f"{name:<7} {mode:<10} "
                        f"{result['lost']:>6} ({result['lost'] / total:>6.1%}) "
                        f"{shared if mode == 'locked' else '-':>15} "
                        f"{result['conflicts']:>10} {result['seconds']:>8.2f} "
                        f"{result['overlap']:>8.2f}"
                    )
                    engine.delete(key)
            finally:
                engine.close()


if __name__ == "__main__":
    main()
