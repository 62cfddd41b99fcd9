"""Compare: session store operations, sessionware's engines against Django's backends.

Per engine, in one run, ours and theirs interleaved: create + save, load + read
one key, and load + modify one key + save, through
``sessionware.session_store(engine=..., serializer="json")`` and through the
matching ``django.contrib.sessions`` ``SessionStore`` (Django configured with
its defaults: db on a SQLite file, file in a temporary directory, cache on the
default locmem cache, signed_cookies). The redis engine is compared with raw
redis-py on the same server, blocking and asyncio. Then the floor: the raw
primitives an operation cannot avoid (SQLite select + upsert, json, msgpack,
HMAC, AES-GCM, a file write + rename, a cachetools get + set).

Method: every group (one engine and its peer, or the floor) runs in rounds;
each round times every operation of the group once, in an order rotated every
round, so drift on a shared VM hits all of them alike. One sample is a batch
of calls sized to last about the same time for every operation (calibrated
after a warm-up). Medians and p10-p90 are over the rounds, in µs per
operation; ratios are of medians measured in the same run. Created sessions
are deleted between samples, outside the timing. Every write changes the
payload (a counter), so SQLite really writes. Needs Redis on 127.0.0.1:6379
for the redis groups (skipped with a note otherwise; keys under a unique
prefix, deleted at the end).

    .venv/bin/python bench/compare_store.py [--quick] [--out DIR] [--only file,floor]

``--only`` runs some groups (db, file, cache, signed_cookies, floor, redis) and
prints them without writing the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import os
import sqlite3
import struct
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from _results import Results, arguments
from _timing import PAYLOAD, median, time_batch

import sessionware

SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"  # noqa: S105 - throwaway
REDIS_URL = "redis://127.0.0.1:6379/0"
NAMES = {
    "create": "create + save",
    "load": "load + read one key",
    "lms": "load + modify one key + save",
}


# -- timing ---------------------------------------------------------------------------


@dataclass
class Op:
    """One timed operation: ``fn`` called ``number`` times per sample."""

    name: str
    fn: Callable[[], object]
    #: Run after each sample (and the warm-up), untimed: deletes what creates made.
    cleanup: Callable[[], object] | None = None
    #: ``fn`` returns an awaitable: the batch runs on the group's event loop.
    is_async: bool = False
    number: int = 1
    samples: list[float] = field(default_factory=list)


def _batch(op: Op, number: int, loop: asyncio.AbstractEventLoop | None) -> float:
    """Seconds for ``number`` calls of ``op``."""
    return time_batch(op.fn, number, loop if op.is_async else None)


def run_group(
    ops: list[Op], rounds: int, sample_s: float, loop: asyncio.AbstractEventLoop | None = None
) -> None:
    """Warm up and calibrate every op, then ``rounds`` rotating rounds of one sample each."""
    for op in ops:
        # Warm-up: at least 30 calls and half a sample's time; it also sizes the batch.
        calls, spent = 0, 0.0
        while calls < 30 or spent < sample_s / 2:
            step = max(10, calls)
            spent += _batch(op, step, loop)
            calls += step
        if op.cleanup is not None:
            op.cleanup()
        op.number = max(3, round(sample_s / (spent / calls)))
    for r in range(rounds):
        shift = r % len(ops)
        for op in ops[shift:] + ops[:shift]:
            op.samples.append(_batch(op, op.number, loop) / op.number * 1e6)
            if op.cleanup is not None:
                op.cleanup()


def spread(samples: list[float]) -> tuple[float, float]:
    """p10 and p90 of ``samples`` (the nearest-rank values ``_timing.summary`` prints)."""
    ordered = sorted(samples)
    return (
        ordered[max(0, len(ordered) // 10)],
        ordered[min(len(ordered) - 1, (len(ordered) * 9) // 10)],
    )


def cell(op: Op) -> str:
    low, high = spread(op.samples)
    return f"{median(op.samples):.1f} ({low:.1f}-{high:.1f})"


def ratio(ours: Op, theirs: Op) -> float:
    return median(ours.samples) / median(theirs.samples)


# -- sessionware ----------------------------------------------------------------------


def session_ops(who: str, Store: Any, *, server_side: bool) -> dict[str, Op]:
    """create + save, load + read, load + modify + save through one ``SessionStore`` class.

    Ours and Django's share the API these use; ``server_side=False`` (cookie
    sessions) keeps nothing on the server, so there is nothing to delete.
    """
    seed = Store()
    seed.update(PAYLOAD)
    seed.save()
    key = seed.session_key
    assert key is not None
    counter = itertools.count()
    created: list[str] = []

    def create() -> None:
        session = Store()
        session.update(PAYLOAD)
        session.save()
        if server_side:
            created.append(session.session_key)

    def cleanup() -> None:
        for old in created:
            Store().delete(old)
        created.clear()

    def load() -> None:
        Store(key)["user_id"]

    def load_modify_save() -> None:
        session = Store(key)
        session["counter"] = next(counter)
        session.save()

    return {
        "create": Op(f"{who}: {NAMES['create']}", create, cleanup),
        "load": Op(f"{who}: {NAMES['load']}", load),
        "lms": Op(f"{who}: {NAMES['lms']}", load_modify_save),
    }


def ours_ops(label: str, Store: type[sessionware.SessionStore]) -> dict[str, Op]:
    """The three operations through a bound sessionware SessionStore."""
    server_side = Store.engine.capabilities.server_side
    return session_ops(f"sessionware {label}", Store, server_side=server_side)


# -- Django ---------------------------------------------------------------------------


def setup_django(tmp: Path) -> dict[str, str]:
    """Configure Django with its defaults (a SQLite file, a file dir), migrate sessions."""
    import django
    from django.conf import settings
    from django.core.management import call_command

    files = tmp / "django-files"
    files.mkdir()
    settings.configure(
        SECRET_KEY=SECRET,
        INSTALLED_APPS=["django.contrib.sessions"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(tmp / "django.sqlite3"),
            }
        },
        SESSION_FILE_PATH=str(files),
        # LocMemCache as Django configures it by default, except MAX_ENTRIES (300): the
        # creates of one timed sample would otherwise cull the session the other ops use.
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "OPTIONS": {"MAX_ENTRIES": 100_000},
            }
        },
        USE_TZ=True,
    )
    django.setup()
    call_command("migrate", "sessions", verbosity=0)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[cursor.fetchone()[0]]
    return {"journal_mode": journal, "synchronous": synchronous}


def django_ops(label: str, backend: str) -> dict[str, Op]:
    """The same three operations through ``django.contrib.sessions.backends.<backend>``."""
    Store: Any = import_module(f"django.contrib.sessions.backends.{backend}").SessionStore
    return session_ops(f"Django {label}", Store, server_side=backend != "signed_cookies")


# -- floors ---------------------------------------------------------------------------


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
    upsert = (
        "INSERT INTO sessions (session_key, session_data, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT (session_key) DO UPDATE SET session_data = excluded.session_data, "
        "expires_at = excluded.expires_at"
    )
    select = "SELECT session_data FROM sessions WHERE session_key = ? AND expires_at > ?"
    db.execute(upsert, (key, json.dumps(PAYLOAD).encode(), expires))
    counter = itertools.count()

    def read() -> None:
        (blob,) = db.execute(select, (key, time.time())).fetchone()
        json.loads(blob)["user_id"]

    def write() -> None:
        (blob,) = db.execute(select, (key, time.time())).fetchone()
        data = json.loads(blob)
        data["counter"] = next(counter)
        db.execute(upsert, (key, json.dumps(data).encode(), expires))

    return (
        Op("floor: sqlite SELECT + json loads", read),
        Op("floor: sqlite SELECT + json + upsert", write),
    )


def primitive_floor(tmp: Path) -> list[Op]:
    """The raw primitives, one op each."""
    import cachetools
    import msgpack
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    ops: list[Op] = []
    counter = itertools.count()

    # SQLite, the same table and journal settings as the db engine.
    read, write = sqlite_floor(tmp / "floor.sqlite3")
    ops += [read, write]

    def json_roundtrip() -> None:
        json.loads(json.dumps(PAYLOAD))

    def msgpack_roundtrip() -> None:
        msgpack.unpackb(msgpack.packb(PAYLOAD))

    raw = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    hkey = hashlib.sha256(SECRET.encode()).digest()

    def hmac_sign_verify() -> None:
        mac = hmac.new(hkey, raw, hashlib.sha256).digest()
        hmac.compare_digest(mac, hmac.new(hkey, raw, hashlib.sha256).digest())

    aead = AESGCM(hkey)
    nonce = os.urandom(12)

    def aes_roundtrip() -> None:
        aead.decrypt(nonce, aead.encrypt(nonce, raw, None), None)

    files = tmp / "floor-files"
    files.mkdir()
    target = str(files / "session")
    temp = str(files / ".session.tmp")
    Path(target).write_bytes(raw)

    def write_rename() -> None:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, raw + str(next(counter)).encode())
        finally:
            os.close(fd)
        os.replace(temp, target)

    slots = str(files / "slots")
    Path(slots).write_bytes(bytes(80 + 2 * 4096))
    header = struct.Struct(">QQI")

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

    def read_file() -> None:
        fd = os.open(target, os.O_RDONLY)
        try:
            os.read(fd, 65536)
        finally:
            os.close(fd)

    cache: cachetools.TTLCache[str, bytes] = cachetools.TTLCache(10_000, 3600)
    ckey = sessionware.new_session_key()
    cache[ckey] = raw

    def cache_get_set() -> None:
        cache[ckey] = cache[ckey]

    ops += [
        Op("json dumps + loads", json_roundtrip),
        Op("msgpack packb + unpackb", msgpack_roundtrip),
        Op("HMAC-SHA256 sign + verify (stdlib hmac)", hmac_sign_verify),
        Op("AES-256-GCM encrypt + decrypt (AESGCM reused)", aes_roundtrip),
        Op("file: open + read + close", read_file),
        Op("file: temp write + os.replace over the file", write_rename),
        Op("file: open + pwrite data + pwrite header beside it (two slots)", write_slot),
        Op("cachetools TTLCache get + set", cache_get_set),
    ]
    return ops


# -- redis ----------------------------------------------------------------------------


def redis_ops(prefix: str) -> tuple[list[Op], list[Op], Any]:
    """(blocking ops, asyncio ops, engine) for ours and raw redis-py, one session each."""
    import redis
    import redis.asyncio

    Store = sessionware.session_store(
        engine="redis", url=REDIS_URL, prefix=prefix, serializer="json"
    )
    ours = ours_ops("redis", Store)
    seed = Store()
    seed.update(PAYLOAD)
    seed.save()
    key = seed.session_key
    assert key is not None
    ttl = Store.config.cookie_age * 1000
    raw_name = f"{prefix}raw-session"
    client = redis.Redis.from_url(REDIS_URL)
    client.set(raw_name, json.dumps(PAYLOAD).encode(), px=ttl)
    counter = itertools.count()
    created: list[str] = []

    def raw_create() -> None:
        name = f"{prefix}raw-{sessionware.new_session_key()}"
        client.set(name, json.dumps(PAYLOAD).encode(), px=ttl, nx=True)
        created.append(name)

    def raw_cleanup() -> None:
        if created:
            client.delete(*created)
            created.clear()

    def raw_get() -> None:
        json.loads(client.get(raw_name))["user_id"]  # type: ignore[arg-type]

    def raw_get_set() -> None:
        data = json.loads(client.get(raw_name))  # type: ignore[arg-type]
        data["counter"] = next(counter)
        client.set(raw_name, json.dumps(data).encode(), px=ttl, xx=True)

    blocking = [
        ours["create"],
        Op(f"raw redis-py: json + SET NX PX ({NAMES['create']})", raw_create, raw_cleanup),
        ours["load"],
        Op(f"raw redis-py: GET + json loads ({NAMES['load']})", raw_get),
        ours["lms"],
        Op(f"raw redis-py: GET + json + SET XX PX ({NAMES['lms']})", raw_get_set),
    ]

    aclient = redis.asyncio.Redis.from_url(REDIS_URL)
    acreated: list[str] = []

    async def ours_acreate() -> None:
        session = Store()
        await session.aupdate(PAYLOAD)
        await session.asave()
        acreated.append(session.session_key)  # type: ignore[arg-type]

    def ours_acleanup() -> None:
        for old in acreated:
            Store.engine.delete(old)
        acreated.clear()

    async def ours_aload() -> None:
        session = Store(key)
        await session.aload()
        session["user_id"]

    async def ours_alms() -> None:
        session = Store(key)
        await session.aset("counter", next(counter))
        await session.asave()

    async def raw_acreate() -> None:
        name = f"{prefix}raw-{sessionware.new_session_key()}"
        await aclient.set(name, json.dumps(PAYLOAD).encode(), px=ttl, nx=True)
        created.append(name)

    async def raw_aget() -> None:
        json.loads(await aclient.get(raw_name))["user_id"]

    async def raw_aget_set() -> None:
        data = json.loads(await aclient.get(raw_name))
        data["counter"] = next(counter)
        await aclient.set(raw_name, json.dumps(data).encode(), px=ttl, xx=True)

    asynchronous = [
        Op(f"sessionware redis asyncio: {NAMES['create']}", ours_acreate, ours_acleanup, True),
        Op(
            f"raw redis.asyncio: json + SET NX PX ({NAMES['create']})",
            raw_acreate,
            raw_cleanup,
            True,
        ),
        Op(f"sessionware redis asyncio: {NAMES['load']}", ours_aload, None, True),
        Op(f"raw redis.asyncio: GET + json loads ({NAMES['load']})", raw_aget, None, True),
        Op(f"sessionware redis asyncio: {NAMES['lms']}", ours_alms, None, True),
        Op(
            f"raw redis.asyncio: GET + json + SET XX PX ({NAMES['lms']})",
            raw_aget_set,
            None,
            True,
        ),
    ]
    return blocking, asynchronous, (Store, client, aclient)


def redis_available() -> str | None:
    """The server's version, or None when no Redis answers on 127.0.0.1:6379."""
    try:
        import redis
    except ImportError:
        return None
    probe = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        return str(probe.info("server").get("redis_version"))
    except redis.RedisError:
        return None
    finally:
        probe.close()


# -- output ---------------------------------------------------------------------------


def print_group(title: str, ops: list[Op]) -> None:
    print(f"\n{title}")
    for op in ops:
        low, high = spread(op.samples)
        print(f"  {op.name:66} {median(op.samples):9.2f} µs  ({low:.2f}-{high:.2f})  x{op.number}")


def pair_table(
    results: Results,
    title: str,
    ours: dict[str, Op],
    theirs: dict[str, Op],
    peer: str,
    note: str,
    extra: tuple[tuple[str, Op], ...] = (),
) -> None:
    rows = []
    print(f"  {'':30} {'sessionware / ' + peer:>28}")
    for step, label in NAMES.items():
        r = ratio(ours[step], theirs[step])
        rows.append([label, cell(ours[step]), cell(theirs[step]), f"{r:.2f}x"])
        print(f"  {label:30} {r:27.2f}x")
    for label, op in extra:  # rows of ours alone (a setting the peer has no twin of)
        rows.append([label, cell(op), "", ""])
    results.table(
        title,
        ["operation", "sessionware µs (p10-p90)", f"{peer} µs (p10-p90)", "ratio"],
        rows,
        note,
    )


GROUPS = ("db", "file", "cache", "signed_cookies", "floor", "redis")


def only_groups() -> set[str]:
    """The groups ``--only a,b`` asks for (all by default).

    Taken off the command line before the flags every comparison script shares
    are parsed, so ``_results.arguments`` stays the same for all of them.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--only", default=",".join(GROUPS))
    known, rest = parser.parse_known_args()
    sys.argv[1:] = rest
    wanted = {name.strip() for name in known.only.split(",") if name.strip()}
    if not wanted or wanted - set(GROUPS):
        raise SystemExit(
            f"--only {known.only!r}: choose one or more of {', '.join(GROUPS)}, comma-separated"
        )
    return wanted


def main() -> None:
    only = only_groups()
    args = arguments((__doc__ or "").splitlines()[0])
    rounds, sample_s = (4, 0.006) if args.quick else (20, 0.05)
    results = Results("bench/compare_store.py", "Session store operations", quick=args.quick)
    results.versions(
        "sessionware",
        "sessionware-db",
        "sessionware-file",
        "sessionware-cache",
        "sessionware-signed-cookies",
        "sessionware-redis",
        "sessionware-json",
        "django",
        "redis",
        "cachetools",
        "msgpack",
        "cryptography",
    )
    results.data["versions"]["sqlite"] = sqlite3.sqlite_version
    started = time.perf_counter()
    print(
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}; "
        f"{rounds} interleaved rounds, samples of ~{sample_s * 1000:.0f} ms; "
        "µs per operation, median (p10-p90), xN = calls per sample"
    )
    pairs: list[tuple[str, dict[str, Op], dict[str, Op], str]] = []

    with tempfile.TemporaryDirectory(prefix="compare-store-") as tmpdir:
        tmp = Path(tmpdir)
        django_db = setup_django(tmp)
        results.data["versions"]["django sqlite journal"] = (
            f"{django_db['journal_mode']}, synchronous={django_db['synchronous']}"
        )

        # -- db ---------------------------------------------------------------------
        if "db" in only:
            ours_db = ours_ops(
                "db",
                sessionware.session_store(
                    engine="db", path=tmp / "ours.sqlite3", serializer="json"
                ),
            )
            theirs_db = django_ops("db", "db")
            floor_read, floor_write = sqlite_floor(tmp / "db-floor.sqlite3")
            db_group = [
                *ours_db.values(),
                *theirs_db.values(),
                floor_read,
                floor_write,
            ]
            run_group(db_group, rounds, sample_s)
            print_group(
                "db: sessionware db engine vs django.contrib.sessions.backends.db", db_group
            )
            pair_table(
                results,
                "db engine vs Django's db backend",
                ours_db,
                theirs_db,
                "Django",
                "Ours: sessionware-db (SQLite file, WAL, synchronous=NORMAL, its defaults). "
                f"Django: backends.db on a SQLite file with Django's defaults "
                f"(journal_mode={django_db['journal_mode']}, "
                f"synchronous={django_db['synchronous']}), the sessions app migrated; each "
                "Django write runs in transaction.atomic, and Django stores the data signed "
                "(django.core.signing: JSON, zlib when it helps, HMAC), ours plain JSON. Floor: a "
                "raw sqlite3 SELECT + json loads + json dumps + INSERT ... ON CONFLICT DO UPDATE "
                "on the same schema, WAL + NORMAL.",
            )
            db_floor = ratio(ours_db["lms"], floor_write)
            print(f"  {'load + modify + save / floor':30} {db_floor:27.2f}x")
            results.target(
                "db engine load + modify + save vs Django's db backend",
                ratio(ours_db["lms"], theirs_db["lms"]),
                0.10,
                f"{median(ours_db['lms'].samples):.1f} µs vs "
                f"{median(theirs_db['lms'].samples):.1f} µs",
            )
            results.target(
                "db engine load + modify + save vs the raw floor (SELECT + json + upsert)",
                db_floor,
                4.0,
                f"{median(ours_db['lms'].samples):.1f} µs vs {median(floor_write.samples):.1f} µs",
            )
            pairs.append(("db", ours_db, theirs_db, "Django"))

        # -- file -------------------------------------------------------------------
        if "file" in only:
            ours_dir = tmp / "ours-files"
            ours_dir.mkdir()
            ours_file = ours_ops(
                "file", sessionware.session_store(engine="file", path=ours_dir, serializer="json")
            )
            theirs_file = django_ops("file", "file")
            synced_dir = tmp / "ours-files-fsync"
            synced_dir.mkdir()
            synced = ours_ops(
                "file fsync=True",
                sessionware.session_store(
                    engine="file", path=synced_dir, serializer="json", fsync=True
                ),
            )["lms"]
            file_group = [*ours_file.values(), *theirs_file.values(), synced]
            run_group(file_group, rounds, sample_s)
            print_group(
                "file: sessionware file engine vs django.contrib.sessions.backends.file", file_group
            )
            pair_table(
                results,
                "file engine vs Django's file backend",
                ours_file,
                theirs_file,
                "Django",
                "Same crash guarantee on both sides: a process killed at any instant of a save "
                "leaves the old version or the new one (tests/crash checks ours). Ours: "
                "sessionware-file, fsync=False (its default), a directory on the same file "
                "system; under flock (readers take LOCK_SH) an update writes the new data beside "
                "the current version in the same file, then a 40-byte header with a CRC-32 that "
                "makes it current. Django: backends.file with SESSION_FILE_PATH a temporary "
                "directory on the same file system, everything else default (it writes a "
                "temporary file and renames it over the session file, no fsync, no lock; the data "
                "signed with django.core.signing). With fsync=True (last row, no Django twin: "
                "Django never fsyncs) ours does the same update plus one fsync of the file, so an "
                "acknowledged save also survives a power cut.",
                extra=((f"{NAMES['lms']}, fsync=True", synced),),
            )
            results.target(
                "file engine load + modify + save vs Django's file backend (same crash guarantee)",
                ratio(ours_file["lms"], theirs_file["lms"]),
                0.5,
                f"{median(ours_file['lms'].samples):.1f} µs vs "
                f"{median(theirs_file['lms'].samples):.1f} µs",
            )
            pairs.append(("file", ours_file, theirs_file, "Django"))

        # -- cache ------------------------------------------------------------------
        if "cache" in only:
            ours_cache = ours_ops(
                "cache", sessionware.session_store(engine="cache", serializer="json")
            )
            theirs_cache = django_ops("cache", "cache")
            cache_group = [*ours_cache.values(), *theirs_cache.values()]
            run_group(cache_group, rounds, sample_s)
            print_group(
                "cache: sessionware cache engine vs django.contrib.sessions.backends.cache",
                cache_group,
            )
            pair_table(
                results,
                "cache engine vs Django's cache backend (locmem)",
                ours_cache,
                theirs_cache,
                "Django",
                "Ours: sessionware-cache (cachetools TLRUCache, maxsize=10000, one lock). Django: "
                "backends.cache on LocMemCache (pickled values) with MAX_ENTRIES raised from 300 "
                "to 100,000, so a sample's creates never cull the session under test (no culling "
                "is the faster case for Django). Sessions created during a sample are deleted "
                "after it, untimed.",
            )
            results.target(
                "cache engine load + modify + save vs Django's cache backend (locmem)",
                ratio(ours_cache["lms"], theirs_cache["lms"]),
                0.5,
                f"{median(ours_cache['lms'].samples):.1f} µs vs "
                f"{median(theirs_cache['lms'].samples):.1f} µs",
            )
            pairs.append(("cache", ours_cache, theirs_cache, "Django"))

        # -- signed_cookies ---------------------------------------------------------
        if "signed_cookies" in only:
            ours_cookie = ours_ops(
                "signed_cookies",
                sessionware.session_store(
                    engine="signed_cookies", secret_key=SECRET, serializer="json"
                ),
            )
            theirs_cookie = django_ops("signed_cookies", "signed_cookies")
            cookie_group = [*ours_cookie.values(), *theirs_cookie.values()]
            run_group(cookie_group, rounds, sample_s)
            print_group(
                "signed_cookies: sessionware vs django.contrib.sessions.backends.signed_cookies",
                cookie_group,
            )
            pair_table(
                results,
                "signed_cookies engine vs Django's signed_cookies backend",
                ours_cookie,
                theirs_cookie,
                "Django",
                "Ours: sessionware-signed-cookies, HMAC-SHA256, not encrypted (its default). "
                "Django: backends.signed_cookies (HMAC-SHA256 via django.core.signing, zlib "
                "compression when it helps). Load means building the session from the cookie "
                "value and reading one key; save produces the new cookie value.",
            )
            pairs.append(("signed_cookies", ours_cookie, theirs_cookie, "Django"))

        # -- floor ------------------------------------------------------------------
        if "floor" in only:
            floor_group = primitive_floor(tmp)
            run_group(floor_group, rounds, sample_s)
            print_group("the floor: raw primitives", floor_group)
            results.table(
                "The floor: raw primitives",
                ["primitive", "µs (p10-p90)"],
                [[op.name, cell(op)] for op in floor_group],
                "The 5-key PAYLOAD plus a counter. SQLite: a file, WAL, synchronous=NORMAL, the db "
                "engine's table, INSERT ... ON CONFLICT DO UPDATE by primary key. File: the same "
                "file system as the engines. AES-GCM and HMAC objects/keys built once.",
            )

    # -- redis ----------------------------------------------------------------------
    if "redis" in only:
        version = redis_available()
        if version is None:
            print("\nredis: no server on 127.0.0.1:6379, skipped")
            results.note("The redis groups were skipped: no Redis server on 127.0.0.1:6379.")
        else:
            prefix = f"bench-store-{uuid.uuid4().hex[:12]}:"
            blocking, asynchronous, (Store, client, aclient) = redis_ops(prefix)
            loop = asyncio.new_event_loop()
            try:
                run_group(blocking, rounds, sample_s)
                run_group(asynchronous, rounds, sample_s, loop)
            finally:
                loop.run_until_complete(aclient.aclose())
                loop.run_until_complete(Store.engine.aclose())
                loop.close()
                for leftover in client.scan_iter(match=f"{prefix}*"):
                    client.delete(leftover)
                client.close()
                Store.engine.close()
            results.data["versions"]["redis server"] = version
            for mode, group in (("blocking", blocking), ("asyncio", asynchronous)):
                print_group(f"redis ({mode}): sessionware redis engine vs raw redis-py", group)
                ours = {step: group[2 * i] for i, step in enumerate(NAMES)}
                theirs = {step: group[2 * i + 1] for i, step in enumerate(NAMES)}
                pairs.append((f"redis {mode}", ours, theirs, "raw redis-py"))
                pair_table(
                    results,
                    f"redis engine vs raw redis-py ({mode})",
                    ours,
                    theirs,
                    "raw redis-py",
                    f"Redis {version} on 127.0.0.1:6379, one client each (redis-py defaults). Raw: "
                    "json dumps + SET NX PX; GET + json loads; GET + json loads + dumps + SET XX "
                    "PX, i.e. the commands and serialization each operation needs, without the "
                    "session layer.",
                )
                results.target(
                    f"redis engine load + modify + save vs raw redis-py GET + SET ({mode})",
                    ratio(ours["lms"], theirs["lms"]),
                    1.3,
                    f"{median(ours['lms'].samples):.1f} µs vs "
                    f"{median(theirs['lms'].samples):.1f} µs",
                )

    # -- chart and summary ----------------------------------------------------------
    for engine, ours, theirs, peer in pairs:
        for who, ops in (("sessionware", ours), (peer, theirs)):
            results.chart(
                "Session load + modify + save (µs, lower is better)",
                f"{engine}: {who}",
                round(median(ops["lms"].samples), 2),
                "µs",
            )
    print("\ntargets")
    for target in results.data["targets"]:
        verdict = "met" if target["met"] else "MISSED"
        print(
            f"  {target['name']:76} {target['value']:.3f} <= {target['limit']}  "
            f"{verdict}  ({target['detail']})"
        )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if only == set(GROUPS):
        results.write(args.out)
    else:
        # A partial run would replace the whole run's results that report.py reads.
        print(f"--only {','.join(sorted(only))}: results not written")


if __name__ == "__main__":
    main()
