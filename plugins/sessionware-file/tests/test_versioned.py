"""Versioned loads and compare-and-set saves (issue 12), sync and async, and a real race."""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from sessionware_file import FileEngine
from sessionware_file._format import HEADER_SIZE, SLOT_SIZE, encode

import sessionware
from sessionware.testing import count_lost_updates, expired, expires_in


def new_key() -> str:
    return sessionware.new_session_key()


def file_of(engine: FileEngine, key: str) -> Path:
    return Path(engine.path) / f"{engine.prefix}{key}"


def plant(engine: FileEngine, content: bytes) -> str:
    key = new_key()
    path = file_of(engine, key)
    path.write_bytes(content)
    os.chmod(path, 0o600)
    return key


def created(engine: FileEngine, data: bytes = b"one") -> tuple[str, sessionware.Version]:
    key = new_key()
    assert engine.save_versioned(key, data, expires_in(), None)[0] == key
    loaded = engine.load_versioned(key)
    assert loaded is not None
    return key, loaded[1]


# -- load_versioned --------------------------------------------------------------------


def test_capabilities_declare_versioned_and_locking() -> None:
    assert FileEngine.capabilities.versioned is True
    assert FileEngine.capabilities.locking is True


def test_load_versioned_returns_the_data_and_the_version_save_versioned_returned(
    engine: FileEngine,
) -> None:
    key = new_key()
    cookie, version = engine.save_versioned(key, b"one", expires_in(), None)
    assert cookie == key
    assert engine.load_versioned(key) == (b"one", version)
    assert engine.load(key) == b"one"


def test_load_versioned_is_none_for_missing_expired_broken_and_invalid_keys(
    engine: FileEngine,
) -> None:
    assert engine.load_versioned(new_key()) is None
    gone = new_key()
    engine.save(gone, b"x", expired(), must_create=True)
    assert engine.load_versioned(gone) is None
    assert engine.load_versioned(plant(engine, b"SWSF garbage")) is None
    assert engine.load_versioned("../etc/passwd") is None
    assert engine.load_versioned("") is None


def test_load_versioned_never_creates(engine: FileEngine, session_dir: Path) -> None:
    engine.load_versioned(new_key())
    assert os.listdir(session_dir) == []


# -- save_versioned ---------------------------------------------------------------------


def test_fresh_save_succeeds_and_changes_the_version(engine: FileEngine) -> None:
    key, v1 = created(engine)
    cookie, v2 = engine.save_versioned(key, b"two", expires_in(), v1)
    assert cookie == key and v2 != v1
    assert engine.load_versioned(key) == (b"two", v2)
    _, v3 = engine.save_versioned(key, b"two", expires_in(), v2)  # same bytes: still a write
    assert v3 not in (v1, v2)
    assert engine.load_versioned(key) == (b"two", v3)


def test_stale_save_is_refused_and_writes_nothing(engine: FileEngine) -> None:
    key, v1 = created(engine)
    _, v2 = engine.save_versioned(key, b"two", expires_in(), v1)
    before = file_of(engine, key).read_bytes()
    with pytest.raises(sessionware.VersionConflict, match="another writer"):
        engine.save_versioned(key, b"stale", expires_in(), v1)
    assert file_of(engine, key).read_bytes() == before
    assert engine.load_versioned(key) == (b"two", v2)


def test_plain_save_bumps_the_version_so_a_versioned_writer_conflicts(
    engine: FileEngine,
) -> None:
    key, v1 = created(engine)
    engine.save(key, b"plain", expires_in())
    loaded = engine.load_versioned(key)
    assert loaded is not None and loaded[0] == b"plain" and loaded[1] != v1
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"lost?", expires_in(), v1)
    assert engine.load(key) == b"plain"


def test_create_with_none_refuses_an_existing_key(engine: FileEngine) -> None:
    key, version = created(engine)
    with pytest.raises(sessionware.CreateError):
        engine.save_versioned(key, b"other", expires_in(), None)
    assert engine.load_versioned(key) == (b"one", version)


def test_create_with_none_replaces_an_expired_file(engine: FileEngine) -> None:
    key = new_key()
    engine.save(key, b"old", expired(), must_create=True)
    _, version = engine.save_versioned(key, b"new", expires_in(), None)
    assert engine.load_versioned(key) == (b"new", version)


def test_versioned_update_of_a_deleted_or_expired_session_raises_update_error(
    engine: FileEngine, session_dir: Path
) -> None:
    key, version = created(engine)
    engine.delete(key)
    with pytest.raises(sessionware.UpdateError):
        engine.save_versioned(key, b"zombie", expires_in(), version)
    assert os.listdir(session_dir) == []  # never resurrected
    old, old_version = created(engine)
    engine.save(old, b"expiring", expired())
    loaded_version = old_version  # the writer still holds the version it loaded earlier
    with pytest.raises(sessionware.UpdateError):
        engine.save_versioned(old, b"zombie", expires_in(), loaded_version)
    assert engine.load(old) is None


def test_missing_session_wins_over_a_wrong_version(engine: FileEngine) -> None:
    # UpdateError (gone) is checked before the version: a stale writer of a deleted
    # session learns that it is deleted, not that it should merge.
    with pytest.raises(sessionware.UpdateError):
        engine.save_versioned(new_key(), b"x", expires_in(), 12345)


def test_a_session_created_again_under_the_same_key_has_a_new_version(
    engine: FileEngine,
) -> None:
    key, first = created(engine)
    engine.delete(key)
    _, second = engine.save_versioned(key, b"again", expires_in(), None)
    assert second != first  # the random generation, although seq is 1 in both
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"stale", expires_in(), first)


def test_invalid_key_and_data_are_refused_as_by_save(engine: FileEngine) -> None:
    with pytest.raises(sessionware.InvalidSessionKey):
        engine.save_versioned("../x", b"x", expires_in(), None)
    with pytest.raises(sessionware.InvalidSessionKey):
        engine.save_versioned("../x", b"x", expires_in(), 1)


def test_versions_of_other_types_never_match(engine: FileEngine) -> None:
    key, version = created(engine)
    for wrong in (str(version), repr(version).encode(), 0, -1):
        with pytest.raises(sessionware.VersionConflict):
            engine.save_versioned(key, b"x", expires_in(), wrong)
    assert engine.load(key) == b"one"


def test_unreachable_directory_raises_engine_unavailable(
    make_engine: Callable[..., FileEngine], tmp_path: Path
) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    engine = make_engine(path=volume)
    key, version = created(engine)
    shutil.rmtree(volume)
    with pytest.raises(sessionware.EngineUnavailable) as raised:
        engine.load_versioned(key)
    assert raised.value.address == str(volume)
    with pytest.raises(sessionware.EngineUnavailable):
        engine.save_versioned(key, b"x", expires_in(), version)
    with pytest.raises(sessionware.EngineUnavailable):
        engine.save_versioned(new_key(), b"x", expires_in(), None)


@pytest.mark.parametrize("fsync", [False, True])
def test_growing_and_shrinking_data_keeps_versions_consistent(
    make_engine: Callable[..., FileEngine], fsync: bool
) -> None:
    engine = make_engine(fsync=fsync)
    key, version = created(engine)
    seen = {version}
    for size in (10, 100_000, 3, 70_000, 0, 5):
        _, version = engine.save_versioned(key, b"x" * size, expires_in(), version)
        assert version not in seen
        seen.add(version)
        assert engine.load_versioned(key) == (b"x" * size, version)


# -- files written before versioning ------------------------------------------------------


def test_a_file_of_the_current_format_written_before_versioning_is_versioned(
    engine: FileEngine,
) -> None:
    # Releases before versioning wrote the slot's generation field as reserved zeros.
    content = encode(b"written before", expires_in())
    assert content[8 + 32 : 8 + 36] == bytes(4)
    key = plant(engine, content)
    loaded = engine.load_versioned(key)
    assert loaded == (b"written before", 1)
    _, version = engine.save_versioned(key, b"now", expires_in(), 1)
    assert version == 2
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"stale", expires_in(), 1)
    # The header a pre-versioning reader parses: magic, then seq/expiry/offset/length/crc.
    raw = file_of(engine, key).read_bytes()
    seq, _, offset, length = struct.unpack(">QdQQ", raw[8 + SLOT_SIZE : 8 + SLOT_SIZE + 32])
    assert (seq, raw[offset : offset + length]) == (2, b"now")


def test_a_file_written_by_this_release_reads_as_before_with_the_reserved_bytes_skipped(
    engine: FileEngine,
) -> None:
    # What an earlier release's reader does: skip the 4 bytes, check the CRC over all 36.
    import zlib

    key, _ = created(engine, b"payload")
    raw = file_of(engine, key).read_bytes()
    seq, _, offset, length, crc = struct.unpack(">QdQQ4xI", raw[8:48])
    assert seq == 1 and offset == HEADER_SIZE
    assert crc == zlib.crc32(raw[offset : offset + length], zlib.crc32(raw[8:44]))


def test_a_format_1_file_is_versioned_by_digest_and_converted_by_a_versioned_save(
    engine: FileEngine,
) -> None:
    legacy = struct.pack(">4sB3xdQ", b"SWSF", 1, expires_in(), 3) + b"old"
    key = plant(engine, legacy)
    loaded = engine.load_versioned(key)
    assert loaded is not None and loaded[0] == b"old"
    digest = loaded[1]
    assert isinstance(digest, bytes) and len(digest) == 16
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"x", expires_in(), b"\0" * 16)
    _, version = engine.save_versioned(key, b"new", expires_in(), digest)
    assert isinstance(version, int) and engine.load_versioned(key) == (b"new", version)
    assert file_of(engine, key).read_bytes()[4] == 2  # now format 2
    with pytest.raises(sessionware.VersionConflict):
        engine.save_versioned(key, b"stale", expires_in(), digest)


def test_two_format_1_files_with_other_content_have_other_digests(engine: FileEngine) -> None:
    at = expires_in()
    one = plant(engine, struct.pack(">4sB3xdQ", b"SWSF", 1, at, 1) + b"a")
    two = plant(engine, struct.pack(">4sB3xdQ", b"SWSF", 1, at, 1) + b"b")
    same = plant(engine, struct.pack(">4sB3xdQ", b"SWSF", 1, at, 1) + b"a")
    versions = [engine.load_versioned(k)[1] for k in (one, two, same)]  # type: ignore[index]
    assert versions[0] != versions[1] and versions[0] == versions[2]


# -- async twins -------------------------------------------------------------------------


async def test_async_twins_follow_the_same_rules(engine: FileEngine) -> None:
    key = new_key()
    assert await engine.aload_versioned(key) is None
    _, v1 = await engine.asave_versioned(key, b"one", expires_in(), None)
    assert await engine.aload_versioned(key) == (b"one", v1)
    with pytest.raises(sessionware.CreateError):
        await engine.asave_versioned(key, b"again", expires_in(), None)
    _, v2 = await engine.asave_versioned(key, b"two", expires_in(), v1)
    assert v2 != v1
    with pytest.raises(sessionware.VersionConflict):
        await engine.asave_versioned(key, b"stale", expires_in(), v1)
    assert await engine.aload_versioned(key) == (b"two", v2)
    await engine.asave(key, b"plain", expires_in())
    with pytest.raises(sessionware.VersionConflict):
        await engine.asave_versioned(key, b"stale", expires_in(), v2)
    await engine.adelete(key)
    with pytest.raises(sessionware.UpdateError):
        await engine.asave_versioned(key, b"zombie", expires_in(), v2)
    assert await engine.aload_versioned(key) is None


# -- a real race -------------------------------------------------------------------------

CYCLES = 2000


def test_two_processes_of_versioned_cycles_lose_no_update(
    engine: FileEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    options = {"path": engine.path}
    result = count_lost_updates(FileEngine, options, mode="versioned", cycles=CYCLES)
    assert result.overlapped  # the workers really ran at the same time
    assert result.lost == 0, result
    assert result.final == {"w0": CYCLES, "w1": CYCLES}
    plain = count_lost_updates(FileEngine, options, mode="plain", cycles=CYCLES)
    with capsys.disabled():
        print(f"\nfile engine, {result}\nfile engine, {plain}")
    assert json.dumps(plain.final)  # plain mode ran to the end; its losses are reported only
