"""Keys come from cookies: no key builds a path before it is validated."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sessionware_file import FileEngine

import sessionware
from sessionware.testing import HOSTILE_KEYS, expires_in

OWN_HOSTILE_KEYS: list[Any] = [
    "../" + "a" * 32,
    "../../../../../../tmp/" + "a" * 32,
    "/etc/passwd",
    "/" + "a" * 40,
    "a" * 32 + "/../../x",
    "..",
    ".",
    "a" * 16 + "\x00" + "a" * 16,
    "a" * 32 + "\x00",
    "a" * 129,  # one over the longest valid key
    "a" * 100_000,
    "A" * 32,  # keys are lowercase: "A..." and "a..." would collide on some file systems
    "a" * 32 + ".tmp",
    "a" * 32 + "\n",
    " " + "a" * 32,
    "%2e%2e%2f" + "a" * 32,
    "a" * 32 + "\u2215etc",  # a slash look-alike
    None,
    42,
    b"a" * 32,
    ["a" * 32],
]

ALL_HOSTILE: list[Any] = [*HOSTILE_KEYS, *OWN_HOSTILE_KEYS]


@pytest.fixture
def no_file_access(patch_os: Callable[[str, Callable[..., Any]], None]) -> None:
    """Make every file system call of the engine fail: a hostile key may reach none."""
    for name in ("open", "stat", "lstat", "fstat", "unlink", "replace", "scandir"):

        def forbidden(*args: object, _name: str = name, **kwargs: object) -> Any:
            raise AssertionError(f"os.{_name} called with {args!r}")

        patch_os(name, forbidden)


@pytest.mark.usefixtures("no_file_access")
def test_the_guard_catches_a_valid_key(engine: FileEngine) -> None:
    with pytest.raises(AssertionError, match=r"os\.open called"):
        engine.load(sessionware.new_session_key())


@pytest.mark.usefixtures("no_file_access")
@pytest.mark.parametrize("key", ALL_HOSTILE, ids=repr)
def test_hostile_key_is_absent_without_touching_the_disk(engine: FileEngine, key: Any) -> None:
    assert engine.load(key) is None
    assert engine.exists(key) is False
    engine.delete(key)


@pytest.mark.usefixtures("no_file_access")
@pytest.mark.parametrize("key", ALL_HOSTILE, ids=repr)
def test_hostile_key_is_refused_by_save_before_any_path_is_built(
    engine: FileEngine, key: Any
) -> None:
    for must_create in (True, False):
        with pytest.raises(sessionware.InvalidSessionKey):
            engine.save(key, b"x", expires_in(), must_create=must_create)


def test_hostile_keys_create_nothing_anywhere(
    engine: FileEngine, tmp_path: Path, listing: Callable[[], list[str]]
) -> None:
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    for key in ALL_HOSTILE:
        with pytest.raises(sessionware.InvalidSessionKey):
            engine.save(key, b"pwned", expires_in(), must_create=True)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    assert listing() == []


def test_a_target_outside_the_directory_is_neither_read_nor_deleted(
    engine: FileEngine, tmp_path: Path
) -> None:
    # A real session file one level up, where "../<key>" would point.
    outside_key = sessionware.new_session_key()
    outside = FileEngine(path=tmp_path)
    outside.save(outside_key, b"secret", expires_in(), must_create=True)
    for key in ("../sessionware-" + outside_key, "../" + outside_key, str(tmp_path)):
        assert engine.load(key) is None
        engine.delete(key)
    assert outside.load(outside_key) == b"secret"


def test_invalid_key_error_does_not_echo_a_huge_key(engine: FileEngine) -> None:
    with pytest.raises(sessionware.InvalidSessionKey) as info:
        engine.save("x" * 10_000, b"x", expires_in(), must_create=True)
    assert len(str(info.value)) < 300


def test_longest_valid_key_works(engine: FileEngine) -> None:
    key = "a" * 128
    engine.save(key, b"x", expires_in(), must_create=True)
    assert engine.load(key) == b"x"
    assert os.path.basename(engine.path + "/sessionware-" + key) in os.listdir(engine.path)
