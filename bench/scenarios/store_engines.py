"""The session store comparison, one group per engine: ours against Django's backend.

Django is configured with its defaults (``harness.services.setup_django``): db on a
SQLite file, file in a temporary directory, cache on locmem, signed_cookies.
"""

from __future__ import annotations

from harness import SECRET

import sessionware
from scenarios.store_floor import sqlite_floor
from scenarios.store_ops import NAMES, Context, compare, django_ops, lms_target, ours_ops, ratio

NOTES = {
    "db": "Ours: sessionware-db (SQLite file, WAL, synchronous=NORMAL, its defaults). "
    "Django: backends.db on a SQLite file with Django's defaults "
    "(journal_mode={journal_mode}, synchronous={synchronous}), the sessions app migrated; "
    "each Django write runs in transaction.atomic, and Django stores the data signed "
    "(django.core.signing: JSON, zlib when it helps, HMAC), ours plain JSON. Floor: a raw "
    "sqlite3 SELECT + json loads + json dumps + INSERT ... ON CONFLICT DO UPDATE on the "
    "same schema, WAL + NORMAL.",
    "file": "Same crash guarantee on both sides: a process killed at any instant of a save "
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
    "cache": "Ours: sessionware-cache (cachetools TLRUCache, maxsize=10000, one lock). Django: "
    "backends.cache on LocMemCache (pickled values) with MAX_ENTRIES raised from 300 "
    "to 100,000, so a sample's creates never cull the session under test (no culling "
    "is the faster case for Django). Sessions created during a sample are deleted "
    "after it, untimed.",
    "signed_cookies": "Ours: sessionware-signed-cookies, HMAC-SHA256, not encrypted (its "
    "default). Django: backends.signed_cookies (HMAC-SHA256 via django.core.signing, zlib "
    "compression when it helps). Load means building the session from the cookie "
    "value and reading one key; save produces the new cookie value.",
}
BACKEND = "django.contrib.sessions.backends"


def db(ctx: Context) -> None:
    """sessionware-db against backends.db, with the raw SQLite floor in the same rounds."""
    Store = sessionware.session_store(engine="db", path=ctx.tmp / "ours.sqlite3", serializer="json")
    ours, theirs = ours_ops("db", Store), django_ops("db", "db")
    floor_read, floor_write = sqlite_floor(ctx.tmp / "db-floor.sqlite3")
    group = [*ours.values(), *theirs.values(), floor_read, floor_write]
    ctx.measure(f"db: sessionware db engine vs {BACKEND}.db", group)
    note = NOTES["db"].format(**ctx.django_db)
    compare(ctx, "db", "db engine vs Django's db backend", ours, theirs, note)
    print(f"  {'load + modify + save / floor':30} {ratio(ours['lms'], floor_write):27.2f}x")
    name = "db engine load + modify + save vs Django's db backend"
    lms_target(ctx, name, ours["lms"], theirs["lms"], 0.10)
    name = "db engine load + modify + save vs the raw floor (SELECT + json + upsert)"
    lms_target(ctx, name, ours["lms"], floor_write, 4.0)


def file(ctx: Context) -> None:
    """sessionware-file (and with fsync=True) against backends.file."""
    made = {}
    for label, fsync in (("file", False), ("file fsync=True", True)):
        folder = ctx.tmp / ("ours-files-fsync" if fsync else "ours-files")
        folder.mkdir()
        Store = sessionware.session_store(
            engine="file", path=folder, serializer="json", fsync=fsync
        )
        made[label] = ours_ops(label, Store)
    ours, theirs, synced = made["file"], django_ops("file", "file"), made["file fsync=True"]["lms"]
    ctx.measure(
        f"file: sessionware file engine vs {BACKEND}.file",
        [*ours.values(), *theirs.values(), synced],
    )
    extra = ((f"{NAMES['lms']}, fsync=True", synced),)
    title = "file engine vs Django's file backend"
    compare(ctx, "file", title, ours, theirs, NOTES["file"], extra=extra)
    name = "file engine load + modify + save vs Django's file backend (same crash guarantee)"
    lms_target(ctx, name, ours["lms"], theirs["lms"], 0.5)


def cache(ctx: Context) -> None:
    """sessionware-cache against backends.cache on LocMemCache."""
    ours = ours_ops("cache", sessionware.session_store(engine="cache", serializer="json"))
    theirs = django_ops("cache", "cache")
    ctx.measure(
        f"cache: sessionware cache engine vs {BACKEND}.cache", [*ours.values(), *theirs.values()]
    )
    title = "cache engine vs Django's cache backend (locmem)"
    compare(ctx, "cache", title, ours, theirs, NOTES["cache"])
    name = "cache engine load + modify + save vs Django's cache backend (locmem)"
    lms_target(ctx, name, ours["lms"], theirs["lms"], 0.5)


def signed_cookies(ctx: Context) -> None:
    """sessionware-signed-cookies against backends.signed_cookies."""
    Store = sessionware.session_store(engine="signed_cookies", secret_key=SECRET, serializer="json")
    ours, theirs = ours_ops("signed_cookies", Store), django_ops("signed_cookies", "signed_cookies")
    ctx.measure(
        f"signed_cookies: sessionware vs {BACKEND}.signed_cookies",
        [*ours.values(), *theirs.values()],
    )
    title = "signed_cookies engine vs Django's signed_cookies backend"
    compare(ctx, "signed_cookies", title, ours, theirs, NOTES["signed_cookies"])
