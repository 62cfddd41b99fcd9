"""A process forked while another thread was inside the engine still works."""

from __future__ import annotations

import os
import signal
import time
import warnings

import pytest
from sessionware_cache import CacheEngine

import sessionware
from sessionware.testing import expires_in


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_while_the_lock_is_held_gets_a_fresh_lock(engine: CacheEngine) -> None:
    key = sessionware.new_session_key()
    engine.save(key, b"parent", expires_in(), must_create=True)
    # As if another thread were inside the engine at fork time: without a new
    # lock in the child, its first engine call would wait forever.
    engine._lock.acquire()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit code
            code = 1
            try:
                inherited = engine.load(key) == b"parent"
                engine.save(key, b"child", expires_in())
                code = 0 if inherited and engine.load(key) == b"child" else 2
            finally:
                os._exit(code)
    finally:
        engine._lock.release()
    deadline = time.monotonic() + 10
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child deadlocked on the engine lock")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    assert engine.load(key) == b"parent"
