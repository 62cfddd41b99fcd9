"""Whatever sits under a session's name, a load is a safe empty session, never a traceback."""

from __future__ import annotations

import logging
import math
import os
import random
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from sessionware_file import FORMAT_VERSION, HEADER_SIZE, FileEngine
from sessionware_file._format import SLOT_SIZE, State, encode, judge

import sessionware
from sessionware.testing import expired, expires_in

LATER = 4_102_444_800.0  # 2100-01-01: these files must fail for their shape, not their age


def header(
    expires_at: float = LATER, length: int = 4, *, magic: bytes = b"SWSF", version: int = 1
) -> bytes:
    """The 24-byte header of format 1, which earlier releases wrote and this one still reads."""
    return struct.pack(">4sB3xdQ", magic, version, expires_at, length)


def slot_at(index: int) -> slice:
    start = 8 + index * SLOT_SIZE
    return slice(start, start + SLOT_SIZE)


def damaged(content: bytes, at: int, value: bytes = b"\xff") -> bytes:
    return content[:at] + value + content[at + len(value) :]


FRESH = encode(b"data", LATER)  # format 2: slot 0 holds b"data", slot 1 is empty
BROKEN_V2 = {
    "v2: header only": FRESH[:HEADER_SIZE],
    "v2: data cut short": FRESH[:-1],
    "v2: header cut short": FRESH[: HEADER_SIZE - 1],
    "v2: a data byte flipped": damaged(FRESH, HEADER_SIZE + 1),
    "v2: its expiry changed": damaged(FRESH, slot_at(0).start + 9),
    "v2: its crc changed": damaged(FRESH, slot_at(0).stop - 1),
    "v2: its sequence zeroed": FRESH[:8] + bytes(8) + FRESH[16:],
    "v2: data past the end": damaged(FRESH, slot_at(0).start + 16, struct.pack(">Q", 1 << 40)),
    "v2: data inside the header": damaged(FRESH, slot_at(0).start + 16, struct.pack(">Q", 8)),
    "v2: nan expiry": encode(b"data", math.nan),
}
BROKEN = {
    "zero-length": b"",
    "truncated header": b"SWSF\x01\x00",
    "header only": header(length=4),
    "data cut short": header(length=4) + b"da",
    "trailing bytes": header(length=4) + b"data" + b"more",
    "bad magic": header(magic=b"PK\x03\x04") + b"data",
    "version 0": header(version=0) + b"data",
    "nan expiry": header(expires_at=math.nan) + b"data",
    "random bytes": random.Random(2024).randbytes(300),
    "json": b'{"user_id": 1, "is_admin": true}',
    **BROKEN_V2,
}


def new_key() -> str:
    return sessionware.new_session_key()


def plant(engine: FileEngine, content: bytes) -> tuple[str, Path]:
    key = new_key()
    path = Path(engine.path) / f"{engine.prefix}{key}"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    return key, path


@pytest.mark.parametrize("content", BROKEN.values(), ids=BROKEN.keys())
def test_broken_file_loads_as_none_and_does_not_exist(engine: FileEngine, content: bytes) -> None:
    key, _ = plant(engine, content)
    assert engine.load(key) is None
    assert engine.exists(key) is False


@pytest.mark.parametrize("content", BROKEN.values(), ids=BROKEN.keys())
def test_create_replaces_a_broken_file(engine: FileEngine, content: bytes) -> None:
    key, _ = plant(engine, content)
    engine.save(key, b"fresh", expires_in(), must_create=True)
    assert engine.load(key) == b"fresh"


@pytest.mark.parametrize("content", BROKEN.values(), ids=BROKEN.keys())
def test_update_of_a_broken_file_is_update_error_and_changes_nothing(
    engine: FileEngine, content: bytes
) -> None:
    key, path = plant(engine, content)
    with pytest.raises(sessionware.UpdateError, match="not recreated"):
        engine.save(key, b"fresh", expires_in())
    assert path.read_bytes() == content


@pytest.mark.parametrize("content", BROKEN.values(), ids=BROKEN.keys())
def test_session_over_a_broken_file_is_empty_and_saves_under_a_new_key(
    engine: FileEngine, Store: type[sessionware.SessionStore], content: bytes
) -> None:
    key, path = plant(engine, content)
    s = Store(key)
    assert s.load() == {}
    s["user_id"] = 1
    s.save()
    assert s.session_key not in (None, key)
    assert Store(s.session_key)["user_id"] == 1
    assert path.read_bytes() == content  # left for clear_expired, never half-trusted


def test_header_with_zero_length_is_a_valid_empty_payload(engine: FileEngine) -> None:
    key, _ = plant(engine, header(length=0))
    assert engine.load(key) == b""
    key, _ = plant(engine, encode(b"", LATER))
    assert engine.load(key) == b""


@pytest.mark.parametrize("version", [1, FORMAT_VERSION])
def test_expired_header_with_valid_shape_is_expired_not_broken(
    engine: FileEngine, version: int
) -> None:
    content = encode(b"data", expired()) if version == 2 else header(expired()) + b"data"
    key, _ = plant(engine, content)
    assert engine.load(key) is None
    assert engine.clear_expired() == 1


# -- format 2: a slot that does not verify falls back to the other -----------------------


def two_versions(engine: FileEngine) -> tuple[str, Path, bytes]:
    """A session saved twice: slot 0 holds b"old", slot 1 (newest) b"new"; its content."""
    key = new_key()
    engine.save(key, b"old", LATER, must_create=True)
    engine.save(key, b"new", LATER)
    path = Path(engine.path) / f"sessionware-{key}"
    return key, path, path.read_bytes()


def test_the_newest_slot_is_served(engine: FileEngine) -> None:
    key, _, content = two_versions(engine)
    assert content.index(b"old") == HEADER_SIZE  # the new version went beside the old one
    assert engine.load(key) == b"new"


@pytest.mark.parametrize(
    "where",
    ["data byte", "data cut off", "header byte", "header zeroed", "header's crc"],
)
def test_a_newest_slot_that_does_not_verify_gives_the_previous_version(
    engine: FileEngine, where: str
) -> None:
    # What a crash, a full disk or a power cut in the middle of an update leaves.
    key, path, content = two_versions(engine)
    new_at = content.index(b"new")
    bad = {
        "data byte": damaged(content, new_at, b"N"),
        "data cut off": content[:new_at],
        "header byte": damaged(content, slot_at(1).start + 10),
        "header zeroed": damaged(content, slot_at(1).start, bytes(SLOT_SIZE)),
        "header's crc": damaged(content, slot_at(1).stop - 2),
    }[where]
    path.write_bytes(bad)
    assert engine.load(key) == b"old"
    assert engine.exists(key)
    # The next update goes into the slot that failed, never over the intact one.
    engine.save(key, b"newer", LATER)
    assert engine.load(key) == b"newer"
    assert b"old" in path.read_bytes()


def test_no_slot_that_verifies_is_a_broken_file(engine: FileEngine) -> None:
    key, path, content = two_versions(engine)
    path.write_bytes(damaged(damaged(content, content.index(b"new")), content.index(b"old")))
    assert engine.load(key) is None
    with pytest.raises(sessionware.UpdateError):
        engine.save(key, b"x", LATER)


def test_unused_bytes_after_the_data_change_nothing(engine: FileEngine) -> None:
    key, path, content = two_versions(engine)
    path.write_bytes(content + b"\0" * 5000)
    assert engine.load(key) == b"new"


# -- format 1, written by earlier releases -------------------------------------------------


def test_a_session_of_the_previous_format_loads(engine: FileEngine) -> None:
    key, _ = plant(engine, header(length=4) + b"data")
    assert engine.load(key) == b"data"
    assert engine.exists(key)


def test_an_update_converts_a_session_of_the_previous_format(engine: FileEngine) -> None:
    key, path = plant(engine, header(length=4) + b"data")
    inode = path.stat().st_ino
    engine.save(key, b"updated", expires_in())
    assert engine.load(key) == b"updated"
    raw = path.read_bytes()
    assert raw[4] == FORMAT_VERSION
    converted = path.stat().st_ino
    assert converted != inode  # replaced whole, by temporary file + rename
    engine.save(key, b"again", expires_in())  # and from then on in place
    assert path.stat().st_ino == converted
    assert engine.load(key) == b"again"


# -- a newer format sharing the directory ---------------------------------------------


def test_file_of_a_newer_format_is_not_served_replaced_or_purged(engine: FileEngine) -> None:
    content = header(expires_at=expired(), version=FORMAT_VERSION + 1) + b"data"
    key, path = plant(engine, content)
    old = path.stat().st_mtime - 7200
    os.utime(path, (old, old))
    assert engine.load(key) is None
    with pytest.raises(sessionware.CreateError, match="newer"):
        engine.save(key, b"x", expires_in(), must_create=True)
    with pytest.raises(sessionware.UpdateError):
        engine.save(key, b"x", expires_in())
    assert engine.clear_expired() == 0
    assert path.read_bytes() == content
    engine.delete(key)  # a logout still logs out
    assert not path.exists()


# -- things that are not regular files owned by us --------------------------------------


def assert_left_alone_and_refused(engine: FileEngine, key: str) -> None:
    assert engine.load(key) is None
    assert engine.exists(key) is False
    with pytest.raises(sessionware.CreateError):
        engine.save(key, b"x", expires_in(), must_create=True)
    with pytest.raises(sessionware.UpdateError):
        engine.save(key, b"x", expires_in())
    engine.delete(key)
    assert engine.clear_expired() == 0


def test_symlink_under_a_session_name_is_never_followed(
    engine: FileEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "target"
    target.write_bytes(header(length=4) + b"evil")
    key = new_key()
    link = Path(engine.path) / f"sessionware-{key}"
    link.symlink_to(target)
    with caplog.at_level(logging.WARNING, logger="sessionware.security"):
        assert_left_alone_and_refused(engine, key)
    assert link.is_symlink()
    assert target.read_bytes() == header(length=4) + b"evil"
    assert "not a regular file" in caplog.text
    assert key not in caplog.text


def test_directory_under_a_session_name_is_left_alone(engine: FileEngine) -> None:
    key = new_key()
    (Path(engine.path) / f"sessionware-{key}").mkdir()
    assert_left_alone_and_refused(engine, key)
    assert (Path(engine.path) / f"sessionware-{key}").is_dir()


def test_fifo_under_a_session_name_cannot_hang_a_load(engine: FileEngine) -> None:
    key = new_key()
    os.mkfifo(Path(engine.path) / f"sessionware-{key}")
    assert_left_alone_and_refused(engine, key)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_file_owned_by_another_user_is_not_trusted(
    engine: FileEngine, caplog: pytest.LogCaptureFixture
) -> None:
    # What a local user could plant in a shared directory such as /tmp: a well-formed
    # session with data of their choosing.
    key, path = plant(engine, header(expires_at=expired(), length=4) + b"evil")
    os.chown(path, 65534, 65534)
    with caplog.at_level(logging.WARNING, logger="sessionware.security"):
        assert_left_alone_and_refused(engine, key)
    assert path.exists()
    assert "owned by uid 65534" in caplog.text


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode bits say")
def test_unreadable_file_of_our_own_is_engine_unavailable(engine: FileEngine) -> None:
    key, path = plant(engine, header(length=4) + b"data")
    path.chmod(0)
    with pytest.raises(sessionware.EngineUnavailable, match="same user"):
        engine.load(key)


def test_broken_files_do_not_disturb_the_purge_of_expired_ones(
    engine: FileEngine, listing: Callable[[], list[str]]
) -> None:
    for content in BROKEN.values():
        plant(engine, content)
    stale = [new_key() for _ in range(3)]
    for key in stale:
        engine.save(key, b"x", expired(), must_create=True)
    assert engine.clear_expired() == 3
    assert len(listing()) == len(BROKEN)  # fresh broken files wait until they are old


VALID = {
    "v1: live": (header(length=4) + b"data", State.LIVE, b"data"),
    "v1: live, empty": (header(length=0), State.LIVE, b""),
    "v1: expired": (header(expires_at=1.0, length=4) + b"data", State.EXPIRED, b"data"),
    "v2: live": (FRESH, State.LIVE, b"data"),
    "v2: expired": (encode(b"data", 1.0), State.EXPIRED, b"data"),
}


def judged(content: bytes, head: int) -> tuple[State, bytes | None]:
    """Judge ``content`` from its first ``head`` bytes, reading the rest on demand."""
    found = judge(content[:head], len(content), 1_700_000_000.0, lambda o, n: content[o : o + n])
    return found.state, found.data


@pytest.mark.parametrize("head", [HEADER_SIZE, 1 << 16], ids=["header read first", "whole file"])
@pytest.mark.parametrize("content", BROKEN.values(), ids=BROKEN.keys())
def test_judgement_of_broken_content(content: bytes, head: int) -> None:
    assert judged(content, head) == (State.BROKEN, None)


@pytest.mark.parametrize("head", [HEADER_SIZE, 1 << 16], ids=["header read first", "whole file"])
@pytest.mark.parametrize(("content", "state", "data"), VALID.values(), ids=VALID.keys())
def test_judgement_of_valid_content(content: bytes, state: State, data: bytes, head: int) -> None:
    assert judged(content, head) == (state, data)
