"""The scale comparison's purge load: a reader or a writer on the db engine, a process each.

Started by ``scale_purge.py`` as ``python -m scenarios.scale_workers ROLE DB_PATH
KEYS_PATH SAMPLES_PATH`` in ``bench/``; runs from its first line on stdin to the next.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from array import array
from pathlib import Path

from harness import PAYLOAD

#: The concurrent load during the purge.
READS_PER_SECOND = 2000
WRITES_PER_SECOND = 500


def _wait_for_stop(stop: threading.Event) -> None:
    sys.stdin.readline()
    stop.set()


def worker(role: str, db_path: str, keys_path: str, samples_path: str) -> None:
    """Load (reader) or update (writer) random sessions until told to stop.

    Prints ``ready``, waits for a line on stdin, then runs paced until the next
    line; writes (start, seconds) pairs as doubles to ``samples_path`` and a
    JSON summary on stdout. ``time.monotonic`` is system-wide on Linux, so the
    parent can place the samples against the purge's start and end.
    """
    from sessionware_db import DbEngine

    import sessionware

    engine = DbEngine(path=db_path)
    keys = Path(keys_path).read_text().split()
    rng = random.Random(role)
    body = json.dumps(PAYLOAD, separators=(",", ":"))
    prefix = body[: body.rindex(":") + 1].encode()
    for key in keys[:100]:
        engine.load(key)
    interval = 1 / (READS_PER_SECOND if role == "reader" else WRITES_PER_SECOND)
    samples = array("d")
    errors: dict[str, int] = {}
    missing = 0
    print("ready", flush=True)
    sys.stdin.readline()
    stop = threading.Event()
    threading.Thread(target=_wait_for_stop, args=(stop,), daemon=True).start()
    clock = time.monotonic
    counter = 0
    due = clock()
    while not stop.is_set():
        key = rng.choice(keys)
        start = clock()
        try:
            if role == "reader":
                if engine.load(key) is None:
                    missing += 1
            else:
                counter += 1
                data = prefix + str(counter).encode() + b"}"
                engine.save(key, data, time.time() + 86400, must_create=False)
        except sessionware.SessionwareError as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
        end = clock()
        samples.append(start)
        samples.append(end - start)
        due += interval
        if due > end:
            time.sleep(due - end)
        else:
            due = end
    with open(samples_path, "wb") as out:
        samples.tofile(out)
    engine.close()
    print(json.dumps({"role": role, "errors": errors, "missing": missing}), flush=True)


if __name__ == "__main__":
    worker(*sys.argv[1:5])
