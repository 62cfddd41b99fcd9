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

import argparse
import itertools
import json
import os
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import PAYLOAD, measure, median, summary

import sessionware


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="parent directory for the benchmark's session directory")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--number", type=int, default=2000, help="reads per repeat")
    args = parser.parse_args()
    r, n = args.repeats, args.number
    n_write, n_sync = max(n // 4, 1), max(n // 40, 1)

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        sessions = Path(tmp) / "sessions"
        floor_dir = Path(tmp) / "floor"
        sessions.mkdir()
        floor_dir.mkdir()
        fs = file_system_of(os.path.realpath(tmp))
        counter = itertools.count()

        stores = {
            fsync: sessionware.session_store(engine="file", path=sessions, fsync=fsync)
            for fsync in (False, True)
        }
        seed = stores[False]()
        seed.update(PAYLOAD)
        seed.save()
        key = seed.session_key
        assert key is not None

        def store_read() -> None:
            stores[False](key)["user_id"]

        def store_write(fsync: bool) -> Callable[[], None]:
            Store = stores[fsync]

            def write() -> None:
                session = Store(key)
                session["counter"] = next(counter)  # a new payload on every write
                session.save()

            return write

        # The floor: what one request's session cannot avoid on this file system.
        floor_file = str(floor_dir / "session")
        floor_tmp = str(floor_dir / ".session.tmp")
        Path(floor_file).write_bytes(json.dumps(PAYLOAD).encode())

        def raw_read() -> bytes:
            fd = os.open(floor_file, os.O_RDONLY)
            try:
                return os.read(fd, 65536)
            finally:
                os.close(fd)

        def raw_json() -> None:
            json.loads(json.dumps(PAYLOAD).encode())

        def raw_read_loads() -> None:
            json.loads(raw_read())

        def raw_replace(content: bytes, fsync: bool) -> None:
            fd = os.open(floor_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, content)
                if fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(floor_tmp, floor_file)
            if fsync:
                dfd = os.open(floor_dir, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)

        def raw_temp_rename() -> None:
            raw_replace(b'{"counter": %d}' % next(counter), False)

        # Two fixed 4 KiB regions and two headers (sequence, length, CRC-32): the least
        # an update with the engine's crash guarantee does (the new data beside the
        # current one, then the header that makes it current), without the engine's
        # checks, expiry, placement for growth and lock.
        slots_file = str(floor_dir / "slots")
        slot_header = struct.Struct(">QQI")
        first = json.dumps(PAYLOAD).encode()
        Path(slots_file).write_bytes(
            slot_header.pack(1, len(first), zlib.crc32(first)).ljust(40, b"\0")
            + bytes(40)
            + first.ljust(4096, b"\0")
        )
        current = [1]  # the sequence number of the current slot's header

        def raw_slot_write(fsync: bool) -> Callable[[], None]:
            def write() -> None:
                fd = os.open(slots_file, os.O_RDWR)
                try:
                    seq = current[0]
                    head = os.pread(fd, 80, 0)
                    _, length, crc = slot_header.unpack_from(head, 40 * ((seq - 1) % 2))
                    old = os.pread(fd, length, 80 + 4096 * ((seq - 1) % 2))
                    assert zlib.crc32(old) == crc
                    data = json.loads(old)
                    data["counter"] = next(counter)
                    content = json.dumps(data).encode()
                    os.pwrite(fd, content, 80 + 4096 * (seq % 2))
                    header = slot_header.pack(seq + 1, len(content), zlib.crc32(content))
                    os.pwrite(fd, header, 40 * (seq % 2))
                    if fsync:
                        os.fsync(fd)
                    current[0] = seq + 1
                finally:
                    os.close(fd)

            return write

        def raw_write_rename() -> None:
            data = json.loads(raw_read())
            data["counter"] = next(counter)
            raw_replace(json.dumps(data).encode(), False)

        results = {
            "raw: open + read + close of one file": measure(raw_read, number=n, repeat=r),
            "raw: json dumps + loads of PAYLOAD": measure(raw_json, number=n, repeat=r),
            "raw: read + json loads (read floor)": measure(raw_read_loads, number=n, repeat=r),
            "raw: write temp + rename over (no fsync)": measure(
                raw_temp_rename, number=n_write, repeat=r
            ),
            "raw: read + json + temp + rename over": measure(
                raw_write_rename, number=n_write, repeat=r
            ),
            "raw: read + json + two-slot write (floor)": measure(
                raw_slot_write(False), number=n_write, repeat=r
            ),
            "file: SessionStore(key) + one read": measure(store_read, number=n, repeat=r),
            "file: load + modify + save, fsync=False": measure(
                store_write(False), number=n_write, repeat=r
            ),
            "raw: two-slot write floor + fsync": measure(
                raw_slot_write(True), number=n_sync, repeat=r
            ),
            "file: load + modify + save, fsync=True": measure(
                store_write(True), number=n_sync, repeat=r
            ),
        }
        for Store in stores.values():
            Store.engine.close()

    floors = {
        "file: SessionStore(key) + one read": "raw: read + json loads (read floor)",
        "file: load + modify + save, fsync=False": "raw: read + json + two-slot write (floor)",
        "file: load + modify + save, fsync=True": "raw: two-slot write floor + fsync",
    }
    print(
        f"file system {fs}; {r} repeats x {n} reads / {n_write} writes / {n_sync} fsync writes "
        "after a warm-up; µs per op"
    )
    print(f"{'operation':48} {'median (p10-p90)':>26}  vs floor")
    for name, runs in results.items():
        ratio = f"{median(runs) / median(results[floors[name]]):.2f}x" if name in floors else ""
        print(f"{name:48} {summary(runs):>26}  {ratio}")


if __name__ == "__main__":
    main()
