"""The engine operations on disk: layout, expiry, permissions, the purge, OS failures."""

from __future__ import annotations

import errno
import io
import logging
import os
import stat
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sessionware_file import FORMAT_VERSION, HEADER_SIZE, MAGIC, FileEngine

import sessionware
from sessionware.cli import main
from sessionware.testing import expired, expires_in


def new_key() -> str:
    return sessionware.new_session_key()


def file_of(engine: FileEngine, key: str) -> Path:
    return Path(engine.path) / f"{engine.prefix}{key}"


def make_old(path: Path, seconds: float = 7200) -> None:
    old = path.stat().st_mtime - seconds
    os.utime(path, (old, old))


# -- layout ------------------------------------------------------------------------


def test_file_is_named_prefix_plus_key(
    engine: FileEngine, listing: Callable[[], list[str]]
) -> None:
    key = new_key()
    engine.save(key, b"data", expires_in(), must_create=True)
    assert listing() == [f"sessionware-{key}"]


def test_file_holds_header_with_two_slots_then_the_data(engine: FileEngine) -> None:
    key = new_key()
    expires_at = expires_in(300)
    engine.save(key, b"payload", expires_at, must_create=True)
    raw = file_of(engine, key).read_bytes()
    assert HEADER_SIZE == 88
    assert struct.unpack(">4sB3x", raw[:8]) == (MAGIC, FORMAT_VERSION)
    seq, stored, offset, length, crc = struct.unpack(">QdQQ4xI", raw[8:48])
    assert (seq, stored, offset, length) == (1, expires_at, HEADER_SIZE, 7)
    assert crc == zlib.crc32(b"payload", zlib.crc32(raw[8:44]))
    assert raw[48:88] == bytes(40)  # slot 1: empty until the first update
    assert raw[HEADER_SIZE:] == b"payload"


def test_expiry_comes_from_the_header_not_from_mtime(engine: FileEngine) -> None:
    key = new_key()
    engine.save(key, b"x", expired(), must_create=True)
    os.utime(file_of(engine, key))  # a fresh mtime changes nothing
    assert engine.load(key) is None
    other = new_key()
    engine.save(other, b"y", expires_in(3600), must_create=True)
    make_old(file_of(engine, other), seconds=86_400 * 30)  # an old mtime neither
    assert engine.load(other) == b"y"


@pytest.mark.parametrize("fsync", [False, True])
def test_update_replaces_the_content_and_its_expiry(
    make_engine: Callable[..., FileEngine], monkeypatch: pytest.MonkeyPatch, fsync: bool
) -> None:
    engine = make_engine(fsync=fsync)
    key = new_key()
    engine.save(key, b"one", expires_in(10), must_create=True)
    before = file_of(engine, key).stat().st_ino
    for data in (b"two", b"three and more", b"4"):  # the same size, longer, shorter
        engine.save(key, data, expires_in(5000))
        assert engine.load(key) == data
    later = engine.now() + 4000
    monkeypatch.setattr(engine, "now", lambda: later)
    assert engine.load(key) == b"4"  # the new expiry, not the first one's 10 s
    assert file_of(engine, key).stat().st_ino == before  # written in place, never renamed


@pytest.mark.parametrize("fsync", [False, True])
def test_the_file_stays_within_the_two_versions_it_holds(
    make_engine: Callable[..., FileEngine], fsync: bool
) -> None:
    # The new version goes before the current one if it fits, else after it, and
    # the bytes past both are cut: the data area never grows past three times the
    # largest of the last three versions, however the sizes go.
    engine = make_engine(fsync=fsync)
    key = new_key()
    engine.save(key, b"x", expires_in(), must_create=True)
    sizes = [7, 300, 5, 5000, 4999, 5001, 10, 0, 2, 6000, 8000, 7000, 100, 1, 1, 9000, 1]
    recent = [1]
    for n in sizes * 3:
        data = os.urandom(n)
        engine.save(key, data, expires_in())
        assert engine.load(key) == data
        recent = [*recent[-2:], n]
        size = file_of(engine, key).stat().st_size
        assert size <= HEADER_SIZE + 3 * max(recent), (recent, size)


def test_fsync_flushes_the_file_on_every_write_and_the_directory_on_create_and_delete(
    make_engine: Callable[..., FileEngine], patch_os: PatchOs
) -> None:
    engine = make_engine(fsync=True)
    synced: list[str] = []

    def fsync(fd: int) -> None:
        synced.append("directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        os.fsync(fd)

    patch_os("fsync", fsync)
    key = new_key()
    engine.save(key, b"one", expires_in(), must_create=True)
    assert synced == ["file", "directory"]
    synced.clear()
    engine.save(key, b"two", expires_in())
    assert synced == ["file"]  # in place: the directory did not change
    synced.clear()
    engine.delete(key)
    assert synced == ["directory"]


def test_update_leaves_no_temporary_file(
    engine: FileEngine, listing: Callable[[], list[str]]
) -> None:
    key = new_key()
    engine.save(key, b"one", expires_in(), must_create=True)
    for i in range(5):
        engine.save(key, b"v%d" % i, expires_in())
    assert listing() == [f"sessionware-{key}"]


def test_empty_payload_round_trips(engine: FileEngine) -> None:
    key = new_key()
    engine.save(key, b"", expires_in(), must_create=True)
    assert engine.load(key) == b""
    assert engine.exists(key)


def test_bytes_like_data_is_stored_as_bytes(engine: FileEngine) -> None:
    key = new_key()
    engine.save(key, bytearray(b"abc"), expires_in(), must_create=True)  # type: ignore[arg-type]
    engine.save(key, memoryview(b"defg"), expires_in())  # type: ignore[arg-type]
    assert engine.load(key) == b"defg"


# -- expiry --------------------------------------------------------------------------


def test_expiry_is_checked_against_the_engine_clock(
    engine: FileEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    start = engine.now()
    engine.save(key, b"x", start + 60, must_create=True)
    monkeypatch.setattr(engine, "now", lambda: start + 61)
    assert engine.load(key) is None
    assert engine.exists(key) is False
    with pytest.raises(sessionware.UpdateError):
        engine.save(key, b"y", start + 600)


def test_int_expiry_really_expires(
    engine: FileEngine, Store: type[sessionware.SessionStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Django's file backend never expires such a session: it judges by mtime.
    s = Store()
    s["user_id"] = 7
    s.set_expiry(300)
    s.save()
    key = s.session_key
    assert key is not None
    start = engine.now()
    stored = struct.unpack(">d", file_of(engine, key).read_bytes()[16:24])[0]  # slot 0
    assert start + 290 < stored <= start + 301
    assert Store(key)["user_id"] == 7
    monkeypatch.setattr(Store.engine, "now", lambda: stored + 1)
    later = Store(key)
    assert later.get("user_id") is None
    assert later.is_empty()
    assert Store.engine.clear_expired() == 1
    assert not file_of(engine, key).exists()


def test_expired_file_is_replaced_by_create(engine: FileEngine) -> None:
    key = new_key()
    engine.save(key, b"old", expired(), must_create=True)
    engine.save(key, b"new", expires_in(), must_create=True)
    assert engine.load(key) == b"new"


# -- permissions ---------------------------------------------------------------------


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_created_and_updated_files_are_readable_by_the_owner_only(engine: FileEngine) -> None:
    key = new_key()
    engine.save(key, b"x", expires_in(), must_create=True)
    assert stat.S_IMODE(file_of(engine, key).stat().st_mode) == 0o600
    engine.save(key, b"y", expires_in())
    assert stat.S_IMODE(file_of(engine, key).stat().st_mode) == 0o600
    replaced = new_key()
    engine.save(replaced, b"old", expired(), must_create=True)
    engine.save(replaced, b"new", expires_in(), must_create=True)
    assert stat.S_IMODE(file_of(engine, replaced).stat().st_mode) == 0o600


# -- delete --------------------------------------------------------------------------


def test_delete_removes_the_file(engine: FileEngine, listing: Callable[[], list[str]]) -> None:
    key = new_key()
    engine.save(key, b"x", expires_in(), must_create=True)
    engine.delete(key)
    assert listing() == []
    engine.delete(key)  # twice is fine


def test_delete_removes_a_broken_file_too(engine: FileEngine) -> None:
    key = new_key()
    file_of(engine, key).write_bytes(b"garbage")
    engine.delete(key)
    assert not file_of(engine, key).exists()


# -- clear_expired -------------------------------------------------------------------


def test_clear_expired_leaves_other_prefixes_and_other_files_alone(
    make_engine: Callable[..., FileEngine], session_dir: Path
) -> None:
    a = make_engine(prefix="site_a-")
    b = make_engine(prefix="site_b-")
    ka, kb = new_key(), new_key()
    a.save(ka, b"a", expired(), must_create=True)
    b.save(kb, b"b", expired(), must_create=True)
    unrelated = ["notes.txt", "site_a-README", "site_a-" + "A" * 32, "site_a-" + "a" * 31]
    for name in unrelated:
        (session_dir / name).write_bytes(b"keep me")
        make_old(session_dir / name)
    assert a.load(kb) is None and b.load(ka) is None  # prefixes do not see each other
    assert a.clear_expired() == 1
    assert (session_dir / f"site_b-{kb}").exists()
    assert all((session_dir / name).read_bytes() == b"keep me" for name in unrelated)
    assert b.clear_expired() == 1


def test_clear_expired_reports_progress(engine: FileEngine) -> None:
    for _ in range(300):
        engine.save(new_key(), b"x", expired(), must_create=True)
    seen: list[int] = []
    assert engine.clear_expired(progress=seen.append) == 300
    assert seen == [256, 300]


def test_clear_expired_keeps_fresh_temporary_files_and_removes_old_ones(
    engine: FileEngine, session_dir: Path, listing: Callable[[], list[str]]
) -> None:
    fresh = session_dir / f".sessionware-{new_key()}.0123456789ab.tmp"
    old = session_dir / f".sessionware-{new_key()}.ba9876543210.tmp"
    not_ours = session_dir / f".sessionware-{new_key()}.tmp"
    for path in (fresh, old, not_ours):
        path.write_bytes(b"half a sess")
    make_old(old)
    make_old(not_ours)
    assert engine.clear_expired() == 0  # temporary files are not sessions: not counted
    assert listing() == sorted([fresh.name, not_ours.name])


def test_clear_expired_removes_old_broken_files_but_not_fresh_ones(
    engine: FileEngine, session_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old, fresh = new_key(), new_key()
    file_of(engine, old).write_bytes(b"")  # a crashed create
    make_old(file_of(engine, old))
    file_of(engine, fresh).write_bytes(b"")  # possibly a create in progress
    with caplog.at_level(logging.INFO, logger="sessionware.file"):
        assert engine.clear_expired() == 0
    assert not file_of(engine, old).exists()
    assert file_of(engine, fresh).exists()
    assert "unreadable file" in caplog.text
    assert old not in caplog.text  # never a whole key in a log


def test_clear_expired_skips_a_file_deleted_during_the_scan(
    engine: FileEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [new_key() for _ in range(3)]
    for key in keys:
        engine.save(key, b"x", expired(), must_create=True)
    real_lock = engine._lock

    def lock_after_someone_else_deleted(path: str) -> object:
        os.unlink(path)
        return real_lock(path)

    monkeypatch.setattr(engine, "_lock", lock_after_someone_else_deleted)
    assert engine.clear_expired() == 0


def test_clear_expired_on_a_vanished_directory_is_engine_unavailable(
    engine: FileEngine, session_dir: Path
) -> None:
    session_dir.rmdir()
    with pytest.raises(sessionware.EngineUnavailable) as info:
        engine.clear_expired()
    assert info.value.address == str(session_dir)


# -- OS failures become sessionware errors, and leave nothing behind ---------------------


PatchOs = Callable[[str, Callable[..., Any]], None]


def failing_write(patch_os: PatchOs, code: int) -> None:
    def write(fd: int, data: bytes, *offset: int) -> int:
        raise OSError(code, os.strerror(code))

    patch_os("write", write)
    patch_os("pwrite", write)


def test_disk_full_on_create_is_engine_unavailable_and_leaves_no_file(
    engine: FileEngine, patch_os: PatchOs, listing: Callable[[], list[str]]
) -> None:
    failing_write(patch_os, errno.ENOSPC)
    key = new_key()
    with pytest.raises(sessionware.EngineUnavailable, match="free some disk space") as info:
        engine.save(key, b"x", expires_in(), must_create=True)
    assert key not in str(info.value)
    assert listing() == []


@pytest.mark.parametrize("fsync", [False, True])
def test_disk_full_on_update_keeps_the_old_session_and_no_temporary_file(
    make_engine: Callable[..., FileEngine],
    patch_os: PatchOs,
    listing: Callable[[], list[str]],
    fsync: bool,
) -> None:
    engine = make_engine(fsync=fsync)
    key = new_key()
    engine.save(key, b"old", expires_in(), must_create=True)
    failing_write(patch_os, errno.ENOSPC)
    with pytest.raises(sessionware.EngineUnavailable, match="free some disk space"):
        engine.save(key, b"new and longer", expires_in())
    patch_os("write", os.write)
    patch_os("pwrite", os.pwrite)
    assert engine.load(key) == b"old"
    assert listing() == [f"sessionware-{key}"]


@pytest.mark.parametrize("failing", ["data", "header", "fsync"])
def test_update_failing_half_way_keeps_the_old_version_and_size(
    make_engine: Callable[..., FileEngine], patch_os: PatchOs, failing: str
) -> None:
    engine = make_engine(fsync=True)
    key = new_key()
    engine.save(key, b"old" * 10, expires_in(), must_create=True)
    size = file_of(engine, key).stat().st_size
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    calls = []

    def pwrite(fd: int, data: bytes, offset: int) -> int:
        calls.append(offset)
        if failing == "data" and len(calls) == 1:
            return os.pwrite(fd, bytes(data[:10]), offset)  # a short write...
        if failing == "data" and len(calls) == 2:
            raise full  # ...then the disk is full
        if failing == "header" and len(calls) == 2:
            os.pwrite(fd, bytes(data[:20]), offset)  # half the header, then an error
            raise full
        return os.pwrite(fd, data, offset)

    def fsync(fd: int) -> None:
        if failing == "fsync" and not stat.S_ISDIR(os.fstat(fd).st_mode):
            raise full  # delayed allocation: the disk turned out full at the flush
        os.fsync(fd)

    patch_os("pwrite", pwrite)
    patch_os("fsync", fsync)
    with pytest.raises(sessionware.EngineUnavailable, match="free some disk space"):
        engine.save(key, b"new" * 20, expires_in())
    assert engine.load(key) == b"old" * 10
    assert file_of(engine, key).stat().st_size == size  # the space it took is given back
    patch_os("pwrite", os.pwrite)
    patch_os("fsync", os.fsync)
    engine.save(key, b"later", expires_in())  # and the session goes on
    assert engine.load(key) == b"later"


def test_read_error_is_engine_unavailable(engine: FileEngine, patch_os: PatchOs) -> None:
    key = new_key()
    engine.save(key, b"x", expires_in(), must_create=True)

    def read(fd: int, n: int) -> bytes:
        raise OSError(errno.EIO, "Input/output error")

    patch_os("read", read)
    with pytest.raises(sessionware.EngineUnavailable, match="Input/output error"):
        engine.load(key)


def test_directory_removed_after_start_up_is_engine_unavailable_on_save(
    engine: FileEngine, session_dir: Path
) -> None:
    session_dir.rmdir()
    with pytest.raises(sessionware.EngineUnavailable):
        engine.save(new_key(), b"x", expires_in(), must_create=True)
    # Not "no such session": every user would look logged out, every log-out done.
    with pytest.raises(sessionware.EngineUnavailable, match="directory is gone"):
        engine.load(new_key())
    with pytest.raises(sessionware.EngineUnavailable, match="directory is gone"):
        engine.delete(new_key())


def test_close_is_idempotent_and_the_engine_still_works(engine: FileEngine) -> None:
    engine.close()
    engine.close()
    key = new_key()
    engine.save(key, b"x", expires_in(), must_create=True)
    assert engine.load(key) == b"x"


def test_cli_clear_expired_purges_the_directory(engine: FileEngine, session_dir: Path) -> None:
    for _ in range(3):
        engine.save(new_key(), b"x", expired(), must_create=True)
    live = new_key()
    engine.save(live, b"x", expires_in(), must_create=True)
    out = io.StringIO()
    code = main(
        ["clear-expired", "--engine", "file", "-o", f"path={session_dir}", "-o", "fsync=true"],
        out=out,
    )
    assert code == 0
    assert "removed 3 expired session(s) from the 'file' engine" in out.getvalue()
    assert os.listdir(session_dir) == [f"sessionware-{live}"]
