"""Benchmark: the file engine through SessionStore, against the raw file + JSON floor.

Prints medians with p10-p90 in microseconds per operation over several repeats (after a
warm-up), and each operation's ratio to the floor measured in the same run: absolute
numbers move +-30% between runs on a shared VM, ratios much less. Every write changes
the payload. Writes with fsync are measured with fewer operations (each costs
milliseconds) and reported separately.

The write floor keeps the engine's crash guarantee (a process killed at any instant
leaves the old version or the new one): new data beside the current version, then a
header with a CRC-32 that makes it current. "read + json + temp + rename over" is the
other way to that guarantee, the one Django's file backend takes. Never imported by
tests; run it by hand:

    .venv/bin/python bench/bench_file.py [--dir DIR] [--repeats 15] [--number 2000]

``--dir`` picks the file system to measure (default: a new directory under the system
temp dir); the results depend on it (ext4, tmpfs and xfs differ a lot on renames).
"""

from __future__ import annotations

import itertools
import json
import os
import struct
import tempfile
import zlib
from pathlib import Path

from harness import PAYLOAD
from harness.sessions import load, load_modify_save, seeded
from harness.timing import counts, measure, print_table

import sessionware

FLOORS = {
    "file: SessionStore(key) + one read": "raw: read + json loads (read floor)",
    "file: load + modify + save, fsync=False": "raw: read + json + two-slot write (floor)",
    "file: load + modify + save, fsync=True": "raw: two-slot write floor + fsync",
}
SLOT = struct.Struct(">QQI")  # a slot's header: sequence, length, CRC-32


def file_system_of(path: str) -> str:
    """The mount type holding ``path`` (from /proc/mounts; "?" elsewhere)."""
    best, kind = "", "?"
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                fields = line.split()
                point = fields[1]
                if path.startswith(point) and len(point) > len(best):
                    best, kind = point, fields[2]
    except OSError:
        pass
    return kind


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Floor:
    """What one request's session cannot avoid on this file system, without the engine."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.counter = folder, itertools.count()
        self.file, self.temp = str(folder / "session"), str(folder / ".session.tmp")
        Path(self.file).write_bytes(json.dumps(PAYLOAD).encode())
        # Two fixed 4 KiB regions and two headers: the least an update with the engine's
        # crash guarantee does (the new data beside the current one, then the header that
        # makes it current), without the engine's checks, expiry, placement and lock.
        self.slots, first = str(folder / "slots"), json.dumps(PAYLOAD).encode()
        head = SLOT.pack(1, len(first), zlib.crc32(first)).ljust(40, b"\0")
        Path(self.slots).write_bytes(head + bytes(40) + first.ljust(4096, b"\0"))
        self.current = 1  # the sequence number of the current slot's header

    def read(self) -> bytes:
        fd = os.open(self.file, os.O_RDONLY)
        try:
            return os.read(fd, 65536)
        finally:
            os.close(fd)

    def replace(self, content: bytes, fsync: bool = False) -> None:
        fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, content)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.temp, self.file)
        if fsync:
            fsync_dir(self.folder)

    def read_write_rename(self) -> None:
        data = json.loads(self.read())
        data["counter"] = next(self.counter)
        self.replace(json.dumps(data).encode())

    def slot_write(self, fsync: bool) -> None:
        fd = os.open(self.slots, os.O_RDWR)
        try:
            seq = self.current
            _, length, crc = SLOT.unpack_from(os.pread(fd, 80, 0), 40 * ((seq - 1) % 2))
            old = os.pread(fd, length, 80 + 4096 * ((seq - 1) % 2))
            assert zlib.crc32(old) == crc
            data = json.loads(old)
            data["counter"] = next(self.counter)
            content = json.dumps(data).encode()
            os.pwrite(fd, content, 80 + 4096 * (seq % 2))
            os.pwrite(fd, SLOT.pack(seq + 1, len(content), zlib.crc32(content)), 40 * (seq % 2))
            if fsync:
                os.fsync(fd)
            self.current = seq + 1
        finally:
            os.close(fd)


def main() -> None:
    parser = counts(__doc__)
    parser.add_argument("--dir", help="parent directory for the benchmark's session directory")
    args = parser.parse_args()
    r, n = args.repeat, args.number
    n_write, n_sync = max(n // 4, 1), max(n // 40, 1)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        (Path(tmp) / "sessions").mkdir()
        (Path(tmp) / "floor").mkdir()
        fs = file_system_of(os.path.realpath(tmp))
        raw = Floor(Path(tmp) / "floor")
        store = {
            fsync: sessionware.session_store(
                engine="file", path=Path(tmp) / "sessions", fsync=fsync
            )
            for fsync in (False, True)
        }
        key, counter = seeded(store[False]), itertools.count()

        plan = [  # (name, fn, calls per repeat)
            ("raw: open + read + close of one file", raw.read, n),
            (
                "raw: json dumps + loads of PAYLOAD",
                lambda: json.loads(json.dumps(PAYLOAD).encode()),
                n,
            ),
            ("raw: read + json loads (read floor)", lambda: json.loads(raw.read()), n),
            (
                "raw: write temp + rename over (no fsync)",
                lambda: raw.replace(b'{"counter": %d}' % next(counter)),
                n_write,
            ),
            ("raw: read + json + temp + rename over", raw.read_write_rename, n_write),
            ("raw: read + json + two-slot write (floor)", lambda: raw.slot_write(False), n_write),
            ("file: SessionStore(key) + one read", load(store[False], key), n),
            (
                "file: load + modify + save, fsync=False",
                load_modify_save(store[False], key),
                n_write,
            ),
            ("raw: two-slot write floor + fsync", lambda: raw.slot_write(True), n_sync),
            ("file: load + modify + save, fsync=True", load_modify_save(store[True], key), n_sync),
        ]
        results = {name: measure(fn, number=calls, repeat=r) for name, fn, calls in plan}
        for Store in store.values():
            Store.engine.close()
    print(
        f"file system {fs}; {r} repeats x {n} reads / {n_write} writes / {n_sync} fsync writes "
        "after a warm-up; µs per op"
    )
    print_table(results, FLOORS)


if __name__ == "__main__":
    main()
