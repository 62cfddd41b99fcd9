"""``count_lost_updates``: the stress helper plugin authors race their engines with.

The process form is exercised by the db, file and redis plugins' tests (it
needs a store shared across processes); here the thread form runs against
``MemoryEngine``, and the helper's refusals are checked.
"""

from __future__ import annotations

import pytest

from sessionware import Capabilities
from sessionware.testing import LostUpdates, MemoryEngine, count_lost_updates

CYCLES = 500


def test_versioned_cycles_in_threads_lose_nothing() -> None:
    """Each thread's own field ends at ``cycles``: conflicts were retried, nothing lost."""
    engine = MemoryEngine()
    report = count_lost_updates(engine, mode="versioned", cycles=CYCLES, processes=False)
    assert isinstance(report, LostUpdates)
    assert report.overlapped
    assert report.lost == 0 and report.lost_fraction == 0.0
    assert report.final == {"w0": CYCLES, "w1": CYCLES}
    assert report.expected == 2 * CYCLES and report.busy == 0
    assert engine.data == {}, "the raced session is deleted at the end"


def test_locked_cycles_on_one_shared_field_lose_nothing() -> None:
    """Under the lock, threads adding to the same field lose nothing."""
    report = count_lost_updates(
        MemoryEngine(), mode="locked", workers=3, cycles=CYCLES, processes=False, same_key=True
    )
    assert report.final == {"n": 3 * CYCLES}
    assert report.lost == 0
    assert "locked: 3 threads x 500 cycles (one shared key): 0 lost" in str(report)


def test_plain_cycles_report_what_they_lost() -> None:
    """Plain load/save: whatever is missing from the final session is counted as lost."""
    report = count_lost_updates(MemoryEngine(), mode="plain", cycles=CYCLES, processes=False)
    counted = report.final.get("w0", 0) + report.final.get("w1", 0)
    assert report.lost == 2 * CYCLES - counted >= 0
    assert report.conflicts == 0


def test_a_factory_is_called_per_thread_and_the_engines_it_made_are_closed() -> None:
    """Given a factory, each worker gets its own engine (here: all views of one store)."""
    shared = MemoryEngine()
    made: list[MemoryEngine] = []

    class View(MemoryEngine):
        def __init__(self) -> None:
            super().__init__()
            self.data, self.leases, self._lock = shared.data, shared.leases, shared._lock
            self._versions = shared._versions
            made.append(self)

        def close(self) -> None:
            self.closed = True

    report = count_lost_updates(View, mode="locked", cycles=100, processes=False)
    assert report.lost == 0
    assert len(made) == 3 and all(getattr(e, "closed", False) for e in made)


def test_refusals() -> None:
    """Wrong modes, undeclared capabilities and unimportable factories are errors."""
    with pytest.raises(ValueError, match="mode"):
        count_lost_updates(MemoryEngine(), mode="merge", processes=False)  # type: ignore[arg-type]
    plain = MemoryEngine(capabilities=Capabilities())
    with pytest.raises(ValueError, match="versioned=True"):
        count_lost_updates(plain, mode="versioned", processes=False)
    with pytest.raises(ValueError, match="locking=True"):
        count_lost_updates(plain, mode="locked", processes=False)
    with pytest.raises(ValueError, match="not an instance"):
        count_lost_updates(MemoryEngine())
    with pytest.raises(ValueError, match="importable by name"):
        count_lost_updates(lambda: MemoryEngine())
    with pytest.raises(ValueError, match="shared_across_processes=False"):
        count_lost_updates(MemoryEngine)
    with pytest.raises(ValueError, match="at least 2 workers"):
        count_lost_updates(MemoryEngine(), workers=1, processes=False)
