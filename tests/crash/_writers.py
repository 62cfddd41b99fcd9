"""The writer side of the crash tests: forks writers, SIGKILLs them, reports what they acknowledged.

Run as a script by ``test_crash.py`` (never imported by pytest as a test): a fresh
interpreter with no threads, so ``fork`` is safe here, whatever threads the test
process may have. It speaks JSON lines. Its first argument is the engine class
(``module:Class``, imported directly: plugin discovery would cost seconds), the
second the engine options as JSON, the third the case (a key of ``VERSIONS``).
Each line on stdin is a round::

    {"seed": 7, "max_delay": 0.03, "sessions": {"<key>": <index of the stored version>}}

For each session it forks one writer that saves versions ``index+1``, ``index+2``,
... of the case, in order, and writes ``"<key> <k>"`` to a pipe after each save
returns. Once every writer has acknowledged one save, each is killed with SIGKILL
after its own random delay in ``[0, max_delay)`` seconds, so kills land anywhere
in a write. The answer line is::

    {"acked": {"<key>": <last acknowledged index or the start index>},
     "killed": <writers that died of SIGKILL>, "errors": ["..."]}

``acked`` tells the test which two versions a session may hold now: the last one a
writer acknowledged or the one it was writing when it died.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import random
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

#: Seconds to wait for the first acknowledgement of every writer.
FIRST_ACK_TIMEOUT = 20.0
#: A year ahead: these sessions must never expire during a run.
EXPIRES_IN = 365 * 86400.0

MIB = 1 << 20


def equal_version(k: int) -> bytes:
    """Two versions of equal length that differ at both ends, as in the review's finding."""
    return _equal(k % 2)


@functools.cache
def _equal(parity: int) -> bytes:
    x = b"BBBBBBBB" if parity else b"AAAAAAAA"
    return b'{"a": "' + x + b'", "pad": "' + b"." * MIB + b'", "b": "' + x + b'"}'


def growing_version(k: int) -> bytes:
    """Version ``k``: each update 16 KiB longer than the last, up to 1 MiB, then short again."""
    return b'{"k": %d, "pad": "%s", "k2": %d}' % (k, _pad(k % 64), k)


@functools.cache
def _pad(step: int) -> bytes:
    # Built once per length: the writers' time goes into saving, where the kills must land.
    return b"g" * (16384 * (1 + step))


VERSIONS = {"equal": equal_version, "growing": growing_version}


Engine = Callable[..., Any]


def engine_class(spec: str) -> Engine:
    """The class named by ``module:Class``."""
    module, _, name = spec.partition(":")
    cls: Engine = getattr(importlib.import_module(module), name)
    return cls


def _writer(
    cls: Engine, options: dict[str, Any], case: str, key: str, start: int, ack: int
) -> None:
    """The child: save versions start+1, start+2, ... of ``key`` until killed."""
    version = VERSIONS[case]
    engine = cls(**options)
    k = start
    while True:
        k += 1
        data = version(k)
        engine.save(key, data, time.time() + EXPIRES_IN)
        os.write(ack, b"%s %d\n" % (key.encode(), k))


def _round(cls: Engine, options: dict[str, Any], case: str, spec: dict[str, Any]) -> dict[str, Any]:
    rng = random.Random(spec["seed"])
    sessions: dict[str, int] = spec["sessions"]
    max_delay = float(spec["max_delay"])
    read_end, write_end = os.pipe()
    pids: dict[int, str] = {}
    for key, start in sessions.items():
        pid = os.fork()
        if pid == 0:  # the writer
            code = 0
            try:
                os.close(read_end)
                _writer(cls, options, case, key, start, write_end)
            except BaseException:
                text = traceback.format_exc().replace("\n", " | ")
                os.write(write_end, b"E %s %s\n" % (key.encode(), text.encode()[:3000]))
                code = 1
            os._exit(code)
        pids[pid] = key
    os.close(write_end)

    acked = dict(sessions)
    errors: list[str] = []
    buffer = b""

    def drain(timeout: float) -> bool:
        """Read acknowledgements for up to ``timeout`` s; False at end of file."""
        nonlocal buffer
        ready, _, _ = select.select([read_end], [], [], timeout)
        if not ready:
            return True
        chunk = os.read(read_end, 65536)
        if not chunk:
            return False
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.startswith(b"E "):
                errors.append(line[2:].decode(errors="replace"))
                continue
            key, k = line.decode().split()
            acked[key] = int(k)
        return True

    deadline = time.monotonic() + FIRST_ACK_TIMEOUT
    open_ = True
    while open_ and time.monotonic() < deadline and any(acked[k] == sessions[k] for k in sessions):
        if errors:
            break
        open_ = drain(0.05)

    # Each writer dies at its own random moment, after the first save of all of them.
    started = time.monotonic()
    kills = sorted((rng.uniform(0, max_delay), pid) for pid in pids)
    for at, pid in kills:
        while (left := started + at - time.monotonic()) > 0 and open_:
            open_ = drain(min(left, 0.005))
        os.kill(pid, signal.SIGKILL)

    killed = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            killed += 1
    while open_:
        open_ = drain(1.0)
    os.close(read_end)
    return {"acked": acked, "killed": killed, "errors": errors}


def main() -> None:
    spec, options_json, case = sys.argv[1:4]
    cls = engine_class(spec)  # imported once, before any fork
    options = json.loads(options_json)
    for line in sys.stdin:
        if not line.strip():
            continue
        answer = _round(cls, options, case, json.loads(line))
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
