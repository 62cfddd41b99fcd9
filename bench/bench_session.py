"""Cost of the session layer itself, isolated from storage: a dict engine in this process.

Measures what nested-change detection (``detect_nested_changes``, on by default) costs on a
request that reads the session without changing it, next to a plain read and a write.

    python bench/bench_session.py
"""

from __future__ import annotations

import sys
import time

from harness.sessions import seeded
from harness.timing import measure, median, summary

import sessionware
from sessionware import Capabilities, EngineBase


class DictEngine(EngineBase):
    """Bytes in a dict: no I/O, so what remains is the session layer."""

    name = "bench_dict"
    capabilities = Capabilities(local=True, inline_async=True)

    def __init__(self) -> None:
        self.rows: dict[str, tuple[bytes, float]] = {}

    def load(self, key: str) -> bytes | None:
        row = self.rows.get(key)
        return row[0] if row and row[1] > time.time() else None

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        self.rows[key] = (data, expires_at)
        return key

    def exists(self, key: str) -> bool:
        return key in self.rows

    def delete(self, key: str) -> None:
        self.rows.pop(key, None)


def main() -> None:
    engine = DictEngine()
    on = sessionware.session_store(engine_instance=engine, detect_nested_changes=True)
    off = sessionware.session_store(engine_instance=engine, detect_nested_changes=False)
    key = seeded(on)

    def read(store: type[sessionware.SessionStore]) -> None:
        t = store(key)
        t.get("username")
        t.detect_changes()

    counter = [0]

    def write() -> None:
        t = on(key)
        counter[0] += 1
        t["counter"] = counter[0]
        t.detect_changes()
        t.save()

    print(f"python {sys.version.split()[0]}, sessionware {sessionware.__version__}")
    r_off = measure(lambda: read(off))
    r_on = measure(lambda: read(on))
    r_w = measure(write)
    print(f"load + read, detection off      {summary(r_off)}")
    print(f"load + read, detection on       {summary(r_on)}")
    print(f"  cost of detection per read    {median(r_on) - median(r_off):8.2f} µs")
    print(f"load + modify + save (dict)     {summary(r_w)}")


if __name__ == "__main__":
    main()
