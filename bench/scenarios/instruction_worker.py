"""One side of ``count_instructions.py``: the session paths, run under callgrind.

Run as ``valgrind --tool=callgrind --dump-before=os_getppid python instruction_worker.py
N ENGINES`` with ``PYTHONPATH`` naming one checkout's core (and the plugins to use). Between
segments it calls ``os.getppid()``, which makes callgrind dump the cost so far: one dump for
each path's warm-up, one for its ``N`` timed calls. It writes the paths' names, in order, as
JSON to ``$ORDER_OUT``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/, for the harness
from harness import SECRET
from harness.sessions import aload, aload_modify_save, load, load_modify_save, seeded

import sessionware as sw
from sessionware import Capabilities, EngineBase

n = int(sys.argv[1])
names = sys.argv[2].split(",")


class DictEngine(EngineBase):
    name = "bench_dict"
    capabilities = Capabilities(local=True, inline_async=True)

    def __init__(self):
        self.rows = {}

    def load(self, key):
        row = self.rows.get(key)
        return row[0] if row and row[1] > time.time() else None

    def save(self, key, data, expires_at, must_create=False):
        self.rows[key] = (data, expires_at)
        return key

    def exists(self, key):
        return key in self.rows

    def delete(self, key):
        self.rows.pop(key, None)


def settings(name, tmp):
    if name == "dict":
        return dict(engine_instance=DictEngine())
    if name == "cache":
        return dict(engine="cache", maxsize=100_000)
    if name == "signed_cookies":
        return dict(engine="signed_cookies", secret_key=SECRET)
    if name == "db":
        return dict(engine="db", path=f"{tmp}/s.db")
    if name == "file":
        os.makedirs(f"{tmp}/files", mode=0o700, exist_ok=True)
        return dict(engine="file", path=f"{tmp}/files")
    if name == "redis":
        return dict(
            engine="redis", url="redis://127.0.0.1:6379/0", prefix=f"ab{uuid.uuid4().hex[:6]}:"
        )
    raise KeyError(name)


def create(Store):
    def run():
        s = Store()
        s["counter"] = 1
        s.save()

    return run


def acreate(Store):
    async def run():
        s = Store()
        await s.aset("counter", 1)
        await s.asave()

    return run


def guarded(Store, key):
    """One middleware request through the rules: open, read, modify, finish (save)."""
    from importlib import import_module

    try:
        rules_mod = import_module(sw.__name__ + ".http._rules")
    except ImportError:
        rules_mod = import_module(sw.__name__ + "._session_middleware")
    rules = rules_mod.SessionRules(
        engine_instance=Store.engine, serializer_instance=Store.serializer
    )
    counter = iter(range(10**9))

    def run():
        s = rules.open(key)
        s["counter"] = next(counter)
        rules.finish(s, True, 200)

    return run


def main():
    loop = asyncio.new_event_loop()
    order = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            Store = sw.session_store(**settings(name, tmp))
            key = seeded(Store)
            ops = {
                "load": load(Store, key),
                "lms": load_modify_save(Store, key),
                "mw_lms": guarded(Store, key),
                "aload": aload(Store, key),
                "alms": aload_modify_save(Store, key),
            }
            if name in ("dict", "cache", "signed_cookies"):
                ops["create"] = create(Store)
                ops["acreate"] = acreate(Store)
            for op, fn in ops.items():
                is_async = op.startswith("a")
                for _ in range(max(50, n // 5)):  # warm-up
                    loop.run_until_complete(fn()) if is_async else fn()
                os.getppid()  # dump: the warm-up
                if is_async:

                    async def batch(fn=fn):
                        for _ in range(n):
                            await fn()

                    loop.run_until_complete(batch())
                else:
                    for _ in range(n):
                        fn()
                os.getppid()  # dump: the segment
                order.append(f"{name} {op}")
    Path(os.environ["ORDER_OUT"]).write_text(json.dumps(order))


main()
