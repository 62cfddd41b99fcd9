"""The session store comparison's floor: the raw primitives an operation cannot avoid.

SQLite select + upsert (the db engine's schema, WAL, synchronous=NORMAL), json,
msgpack, HMAC, AES-GCM, a file read, a temp write + rename, the file engine's two-slot
write, a cachetools get + set. Every write changes the payload (a counter).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import sqlite3
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from harness import PAYLOAD, SECRET
from harness.timing import Op

import sessionware
from scenarios.store_ops import Context

NOTE = (
    "The 5-key PAYLOAD plus a counter. SQLite: a file, WAL, synchronous=NORMAL, the db "
    "engine's table, INSERT ... ON CONFLICT DO UPDATE by primary key. File: the same "
    "file system as the engines. AES-GCM and HMAC objects/keys built once."
)
UPSERT = (
    "INSERT INTO sessions (session_key, session_data, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (session_key) DO UPDATE SET session_data = excluded.session_data, "
    "expires_at = excluded.expires_at"
)
SELECT = "SELECT session_data FROM sessions WHERE session_key = ? AND expires_at > ?"


def sqlite_floor(path: Path) -> tuple[Op, Op]:
    """SELECT + json loads; SELECT + json + upsert by primary key (WAL, NORMAL)."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(
        "CREATE TABLE sessions (session_key TEXT PRIMARY KEY, session_data BLOB NOT NULL, "
        "expires_at REAL NOT NULL)"
    )
    key = sessionware.new_session_key()
    expires = time.time() + 3600
    db.execute(UPSERT, (key, json.dumps(PAYLOAD).encode(), expires))
    counter = itertools.count()

    def read() -> None:
        (blob,) = db.execute(SELECT, (key, time.time())).fetchone()
        json.loads(blob)["user_id"]

    def write() -> None:
        (blob,) = db.execute(SELECT, (key, time.time())).fetchone()
        data = json.loads(blob)
        data["counter"] = next(counter)
        db.execute(UPSERT, (key, json.dumps(data).encode(), expires))

    return (
        Op("floor: sqlite SELECT + json loads", read),
        Op("floor: sqlite SELECT + json + upsert", write),
    )


def codecs() -> dict[str, Callable[[], object]]:
    """json, msgpack, HMAC and AES-GCM round trips of the payload."""
    import msgpack
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    hkey = hashlib.sha256(SECRET.encode()).digest()
    aead, nonce = AESGCM(hkey), os.urandom(12)

    def hmac_sign_verify() -> None:
        mac = hmac.new(hkey, raw, hashlib.sha256).digest()
        hmac.compare_digest(mac, hmac.new(hkey, raw, hashlib.sha256).digest())

    return {
        "json dumps + loads": lambda: json.loads(json.dumps(PAYLOAD)),
        "msgpack packb + unpackb": lambda: msgpack.unpackb(msgpack.packb(PAYLOAD)),
        "HMAC-SHA256 sign + verify (stdlib hmac)": hmac_sign_verify,
        "AES-256-GCM encrypt + decrypt (AESGCM reused)": lambda: aead.decrypt(
            nonce, aead.encrypt(nonce, raw, None), None
        ),
    }


def storage(files: Path) -> dict[str, Callable[[], object]]:
    """A file read, a temp write + rename, the two-slot write, a cachetools get + set."""
    import cachetools

    raw = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    counter = itertools.count()
    files.mkdir()
    target, temp, slots = (str(files / name) for name in ("session", ".session.tmp", "slots"))
    Path(target).write_bytes(raw)
    Path(slots).write_bytes(bytes(80 + 2 * 4096))
    header = struct.Struct(">QQI")

    def read_file() -> None:
        fd = os.open(target, os.O_RDONLY)
        try:
            os.read(fd, 65536)
        finally:
            os.close(fd)

    def write_rename() -> None:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, raw + str(next(counter)).encode())
        finally:
            os.close(fd)
        os.replace(temp, target)

    def write_slot() -> None:
        # What the file engine's update writes: the data into the slot that is not
        # current, then a header (sequence, length, CRC-32) that makes it current.
        seq = next(counter)
        content = raw + str(seq).encode()
        fd = os.open(slots, os.O_RDWR)
        try:
            os.pwrite(fd, content, 80 + 4096 * (seq % 2))
            os.pwrite(fd, header.pack(seq, len(content), zlib.crc32(content)), 40 * (seq % 2))
        finally:
            os.close(fd)

    cache: cachetools.TTLCache[str, bytes] = cachetools.TTLCache(10_000, 3600)
    ckey = sessionware.new_session_key()
    cache[ckey] = raw

    def cache_get_set() -> None:
        cache[ckey] = cache[ckey]

    return {
        "file: open + read + close": read_file,
        "file: temp write + os.replace over the file": write_rename,
        "file: open + pwrite data + pwrite header beside it (two slots)": write_slot,
        "cachetools TTLCache get + set": cache_get_set,
    }


def floor(ctx: Context) -> None:
    """Every primitive in one group; one table row each."""
    ops = list(sqlite_floor(ctx.tmp / "floor.sqlite3"))
    ops += [Op(name, fn) for name, fn in {**codecs(), **storage(ctx.tmp / "floor-files")}.items()]
    ctx.measure("the floor: raw primitives", ops)
    ctx.results.table(
        "The floor: raw primitives",
        ["primitive", "µs (p10-p90)"],
        [[op.name, op.cell()] for op in ops],
        NOTE,
    )
