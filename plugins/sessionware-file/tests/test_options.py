"""Discovery, capabilities and options of the file engine (checked at start-up)."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sessionware_file
from sessionware_file import FileEngine

import sessionware
from sessionware.testing import ReferenceSerializer


def test_get_engine_finds_file_through_entry_points(session_dir: Path) -> None:
    engine = sessionware.get_engine("file", path=session_dir)
    assert isinstance(engine, FileEngine)
    assert isinstance(engine, sessionware.Engine)


def test_list_plugins_reports_the_distribution() -> None:
    info = {p.name: p for p in sessionware.list_plugins()}["file"]
    assert info.distribution == "sessionware-file"
    assert info.engines == ["file"]
    assert info.error is None


def test_public_names_are_the_documented_ones() -> None:
    assert set(sessionware_file.__all__) == {
        "FORMAT_VERSION",
        "FileEngine",
        "HEADER_SIZE",
        "MAGIC",
        "__version__",
        "register_engines",
    }


def test_capabilities_are_declared() -> None:
    caps = FileEngine.capabilities
    assert (caps.server_side, caps.clear_expired, caps.native_async) == (True, True, False)
    assert (caps.shared_across_processes, caps.local) == (True, True)
    assert (caps.versioned, caps.locking) == (True, True)


def test_defaults_are_the_documented_values() -> None:
    engine = FileEngine()
    assert engine.path == os.path.abspath(tempfile.gettempdir())
    assert engine.prefix == "sessionware-"
    assert engine.fsync is False


def test_relative_path_is_resolved_at_construction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rel").mkdir()
    monkeypatch.chdir(tmp_path)
    engine = FileEngine(path="rel")
    assert engine.path == str(tmp_path / "rel")
    monkeypatch.chdir("/")
    key = sessionware.new_session_key()
    engine.save(key, b"x", engine.now() + 60, must_create=True)
    assert (tmp_path / "rel" / f"sessionware-{key}").exists()


def test_unknown_option_is_a_configuration_error(session_dir: Path) -> None:
    with pytest.raises(sessionware.ConfigurationError, match="file_mode"):
        sessionware.get_engine("file", path=session_dir, file_mode=0o644)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("prefix", ""),
        ("prefix", "sessions"),  # must end with - _ or . so names split one way
        ("prefix", "../x-"),
        ("prefix", "a/b-"),
        ("prefix", ".hidden-"),
        ("prefix", "-dash-"),
        ("prefix", "nul\x00-"),
        ("prefix", "caf\u00e9-"),
        ("prefix", "x" * 64 + "-"),
        ("prefix", 3),
        ("fsync", "yes"),
        ("fsync", 1),
        ("fsync", None),
        ("path", 42),
        ("path", ""),
    ],
)
def test_invalid_option_names_the_option(session_dir: Path, option: str, value: Any) -> None:
    options = {"path": session_dir, option: value}
    with pytest.raises(sessionware.ConfigurationError, match=repr(option)) as info:
        sessionware.get_engine("file", **options)
    assert info.value.field == f"engine_options.{option}"


@pytest.mark.parametrize("prefix", ["s-", "sessionware-", "site_a.", "App1-sess_", "x" * 63 + "-"])
def test_valid_prefixes_are_accepted(session_dir: Path, prefix: str) -> None:
    engine = FileEngine(path=session_dir, prefix=prefix)
    key = sessionware.new_session_key()
    engine.save(key, b"x", engine.now() + 60, must_create=True)
    assert (session_dir / f"{prefix}{key}").is_file()


def test_missing_directory_says_how_to_create_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "sessions"
    with pytest.raises(sessionware.ConfigurationError) as info:
        sessionware.get_engine("file", path=missing)
    assert info.value.field == "engine_options.path"
    message = str(info.value)
    assert str(missing) in message
    assert "does not exist" in message
    assert f"mkdir -p -m 700 {missing}" in message
    assert not missing.exists()  # reported, not created behind the user's back


def test_path_that_is_a_regular_file_is_refused(tmp_path: Path) -> None:
    regular = tmp_path / "sessions.txt"
    regular.write_text("not a directory")
    with pytest.raises(sessionware.ConfigurationError, match="is not a directory") as info:
        FileEngine(path=regular)
    assert info.value.field == "engine_options.path"


def test_path_through_a_regular_file_is_refused(tmp_path: Path) -> None:
    regular = tmp_path / "file"
    regular.write_text("")
    with pytest.raises(sessionware.ConfigurationError) as info:
        FileEngine(path=regular / "sub")
    assert info.value.field == "engine_options.path"
    assert str(regular / "sub") in str(info.value)


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root writes to any directory whatever its mode bits say"
)
def test_directory_that_is_not_writable_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(sessionware.ConfigurationError, match="writable") as info:
            FileEngine(path=locked)
        assert info.value.field == "engine_options.path"
    finally:
        locked.chmod(0o700)


def test_start_up_probe_leaves_nothing_behind(
    session_dir: Path, listing: Callable[[], list[str]]
) -> None:
    FileEngine(path=session_dir)
    assert listing() == []


def test_world_writable_directory_without_sticky_bit_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with caplog.at_level(logging.WARNING, logger="sessionware.file"):
        FileEngine(path=shared)
    assert "writable by every user" in caplog.text


def test_sticky_world_writable_directory_like_tmp_is_not_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    with caplog.at_level(logging.WARNING, logger="sessionware.file"):
        FileEngine(path=shared)
    assert caplog.text == ""


def test_session_store_takes_the_options(session_dir: Path) -> None:
    Store = sessionware.session_store(
        engine="file",
        path=session_dir,
        prefix="site_b-",
        serializer_instance=ReferenceSerializer(),
    )
    s = Store()
    s["n"] = 1
    s.save()
    assert (session_dir / f"site_b-{s.session_key}").is_file()


def test_repr_names_path_and_prefix(engine: FileEngine) -> None:
    assert repr(engine) == f"<FileEngine 'file' path={engine.path!r} prefix='sessionware-'>"
