"""A writer killed at any point of an update leaves the old version or the new one.

Deterministic twin of ``tests/crash`` (which SIGKILLs real processes at random
moments): each step of an update is cut short in turn, at several points, and
the file exactly as it was at that instant is loaded by another engine. A
SIGKILL runs no cleanup, so the file is captured before the engine's own error
handling runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sessionware_file import FileEngine
from sessionware_file._format import SLOT_SIZE

import sessionware
from sessionware.testing import expires_in

PatchOs = Callable[[str, Callable[..., Any]], None]


class Killed(BaseException):
    """Stands for SIGKILL: nothing after this point of the write happens."""


def equal(marker: bytes) -> bytes:
    # Two versions of one length that differ only at both ends: the case where a
    # torn in-place rewrite used to keep the size and serve a mix.
    ends = marker * 8
    return b'{"a": "' + ends + b'", "pad": "' + b"." * 20_000 + b'", "b": "' + ends + b'"}'


CASES = {
    "same length": (equal(b"A"), equal(b"B")),
    "growing": (b"g" * 3000, b"G" * 20_101),
    "shrinking": (b"s" * 20_101, b"S" * 3000),
    "to empty": (b"e" * 500, b""),
    "from empty": (b"", b"f" * 500),
}
#: The step labels after which the new version must be the one served.
HEADER_WRITTEN = f"pwrite #2 cut at {SLOT_SIZE}/{SLOT_SIZE}"


def cuts(n: int) -> list[int]:
    """Where to cut a write of ``n`` bytes: nothing, one byte, half, all but one, all."""
    return sorted({0, min(1, n), n // 2, max(n - 1, 0), n})


def states_during_update(
    engine: FileEngine, patch_os: PatchOs, path: Path, key: str, new: bytes
) -> list[tuple[str, bytes]]:
    """Every (step, file content) a SIGKILL could leave during ``save(key, new)``."""
    before = path.read_bytes()
    seen: list[tuple[str, bytes]] = []
    sizes: list[int] = []

    def recording_pwrite(fd: int, data: bytes, offset: int) -> int:
        sizes.append(len(data))
        return os.pwrite(fd, data, offset)

    def ftruncate(fd: int, length: int) -> None:
        seen.append(("before ftruncate", path.read_bytes()))
        raise Killed

    # A whole update first: the size of each pwrite it makes, in order, and
    # the file just before it cuts the unused bytes, if it does.
    patch_os("pwrite", recording_pwrite)
    patch_os("ftruncate", ftruncate)
    with contextlib.suppress(Killed):
        engine.save(key, new, expires_in())
    patch_os("pwrite", os.pwrite)
    patch_os("ftruncate", os.ftruncate)
    path.write_bytes(before)
    engine.save(key, new, expires_in())
    seen.append(("done", path.read_bytes()))
    # Then each pwrite cut short in turn.
    for call, size in enumerate(sizes):
        for cut in cuts(size):
            path.write_bytes(before)
            patch_os("pwrite", killing_pwrite(call, cut, path, seen))
            with pytest.raises(Killed):
                engine.save(key, new, expires_in())
            seen[-1] = (f"pwrite #{call + 1} cut at {cut}/{size}", seen[-1][1])
    patch_os("pwrite", os.pwrite)
    path.write_bytes(before)
    return seen


def killing_pwrite(
    call: int, cut: int, path: Path, seen: list[tuple[str, bytes]]
) -> Callable[[int, bytes, int], int]:
    """A pwrite whose call number ``call`` writes ``cut`` bytes, records the file, and dies."""
    calls = 0

    def pwrite(fd: int, data: bytes, offset: int) -> int:
        nonlocal calls
        calls += 1
        if calls <= call:
            return os.pwrite(fd, data, offset)
        if calls == call + 1:
            os.pwrite(fd, bytes(data[:cut]), offset)
            seen.append(("", path.read_bytes()))
        raise Killed  # and a dead process writes nothing more (the engine's cleanup)

    return pwrite


@pytest.mark.parametrize("fsync", [False, True])
@pytest.mark.parametrize("updates_before", [0, 1, 2], ids=["first update", "second", "third"])
@pytest.mark.parametrize(("old", "new"), CASES.values(), ids=CASES.keys())
def test_every_instant_of_an_update_leaves_old_or_new(
    make_engine: Callable[..., FileEngine],
    patch_os: PatchOs,
    old: bytes,
    new: bytes,
    updates_before: int,
    fsync: bool,
) -> None:
    engine = make_engine(fsync=fsync)
    reader = make_engine()
    key = sessionware.new_session_key()
    path = Path(engine.path) / f"{engine.prefix}{key}"
    # Earlier versions put other data in the slot this update will overwrite.
    versions = [*[b"h" * 7000, b"i" * 10][:updates_before], old]
    engine.save(key, versions[0], expires_in(), must_create=True)
    for data in versions[1:]:
        engine.save(key, data, expires_in())
    assert reader.load(key) == old
    states = states_during_update(engine, patch_os, path, key, new)
    steps = [step for step, _ in states]
    assert HEADER_WRITTEN in steps and f"pwrite #1 cut at 0/{len(new)}" in steps
    for step, content in states:
        path.write_bytes(content)
        got = reader.load(key)
        assert got in (old, new), f"{step}: neither version ({len(got or b'')} bytes)"
        if step.startswith("pwrite #1"):  # the data: until its header is written, old
            assert got == old, step
        if step in ("before ftruncate", "done", HEADER_WRITTEN):
            assert got == new, step
