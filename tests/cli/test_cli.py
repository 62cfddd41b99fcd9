"""The sessionware CLI, run in-process (and once as a real subprocess)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sessionware
from sessionware._plugins import host
from sessionware.cli import main
from sessionware.testing import MemoryEngine, ReferenceSerializer, registered

# Under CI the default plugins are always installed: there a missing one must fail, not skip.
needs_db = pytest.mark.skipif(
    not os.environ.get("CI")
    and "db" not in {e for p in sessionware.list_plugins() for e in p.engines},
    reason="sessionware-db is not installed (nox -s tests installs it)",
)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("SESSIONWARE_ENGINE", "SESSIONWARE_SECRET_KEY", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    host.reset()
    yield
    host.reset()


def test_plugins_json_lists_distributions_and_versions() -> None:
    code, text = run("plugins", "--json")
    assert code == 0
    listed = {p["distribution"]: p for p in json.loads(text)}
    for dist in ("sessionware-json", "sessionware-db"):
        if dist in listed:
            assert listed[dist]["version"] and listed[dist]["error"] is None
    assert all(
        set(p) == {"name", "distribution", "version", "engines", "serializers", "error"}
        for p in listed.values()
    )


def test_plugins_table_has_a_header() -> None:
    code, text = run("plugins")
    assert code == 0 and ("PLUGIN" in text or "no sessionware plugins" in text)


def test_unknown_engine_in_check_is_a_problem_with_install_hint() -> None:
    code, text = run("check", "--engine", "nosuchengine")
    assert code == 1
    assert "PROBLEM engine" in text and "nosuchengine" in text


def test_bad_config_value_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[sessionware]\ncookie_age = -5\n")
    code, text = run("check", "--config", str(path))
    assert code == 1 and "cookie_age" in text


def test_bad_usage_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        run("clear-expired", "--option", "novalue")
    assert info.value.code == 2


@needs_db
def test_check_passes_for_a_sound_db_setup(tmp_path: Path) -> None:
    code, text = run("check", "-o", f"path={tmp_path / 's.sqlite3'}")
    assert code == 0, text
    assert "no problems found" in text


@needs_db
def test_check_reports_short_secret(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        "[sessionware]\nsecret_key = 'short'\n"
        f"[sessionware.engine_options]\npath = '{tmp_path / 'x.db'}'\n"
    )
    code, text = run("check", "--config", str(path))
    assert code == 1 and "is 5 characters long (at least 50" in text


@needs_db
def test_check_reports_unknown_engine_option(tmp_path: Path) -> None:
    code, text = run("check", "-o", "pth=x.db")
    assert code == 1 and "'pth'" in text


@needs_db
def test_clear_expired_removes_and_counts(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    engine = sessionware.get_engine("db", path=str(db))
    try:
        for _ in range(5):
            engine.save(sessionware.new_session_key(), b"{}", time.time() - 10, must_create=True)
        live = sessionware.new_session_key()
        engine.save(live, b"{}", time.time() + 100, must_create=True)
    finally:
        engine.close()
    code, text = run("clear-expired", "-o", f"path={db}")
    assert code == 0 and "removed 5 expired session(s)" in text
    engine = sessionware.get_engine("db", path=str(db))
    try:
        assert engine.exists(live)
    finally:
        engine.close()


@needs_db
def test_engines_lists_options_and_capabilities() -> None:
    code, text = run("engines")
    assert code == 0 and "db" in text and "options:" in text and "server_side" in text


def test_module_entry_point_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sessionware", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "sessionware" in result.stdout


MIDDLEWARE_MODULE = """
from sessionware.http.middleware import SessionMiddleware

def auth(get_response):
    def middleware(request):
        return get_response(request)
    return middleware

auth.requires = ("session",)
session = SessionMiddleware(engine_instance=ENGINE, serializer_instance=SERIALIZER)
"""


def test_check_reports_middleware_in_the_wrong_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cli_mw_mod.py").write_text(
        "from sessionware.testing import MemoryEngine, ReferenceSerializer\n"
        "ENGINE, SERIALIZER = MemoryEngine(), ReferenceSerializer()\n" + MIDDLEWARE_MODULE
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    code, text = run(
        "check", "--engine", "nosuch", "--middleware", "cli_mw_mod:auth,cli_mw_mod:session"
    )
    assert code == 1
    assert "move SessionMiddleware above auth" in text


def test_check_reports_unimportable_middleware(tmp_path: Path) -> None:
    code, text = run(
        "check", "-o", f"path={tmp_path / 's.sqlite3'}", "--middleware", "no_such_module_xyz:x"
    )
    assert code == 1 and "cannot be imported" in text


@pytest.fixture
def one_process_engine() -> Iterator[None]:
    """Make the kit's MemoryEngine (shared_across_processes=False) selectable by name."""
    with registered(MemoryEngine, ReferenceSerializer, name="one-process-test"):
        yield


@pytest.mark.usefixtures("one_process_engine")
@pytest.mark.parametrize("serializer", ["kit_json", "no_such_serializer"])
def test_check_flags_a_one_process_engine_with_several_workers(serializer: str) -> None:
    # The warning does not depend on everything else being right (here: the serializer).
    code, text = run(
        "check", "--engine", "kit_memory", "--serializer", serializer, "--workers", "4"
    )
    assert code == 1
    assert "keeps sessions in one process" in text and "(4 workers configured)" in text


@pytest.mark.usefixtures("one_process_engine")
def test_check_notes_a_one_process_engine_with_one_worker() -> None:
    code, text = run(
        "check", "--engine", "kit_memory", "--serializer", "kit_json", "--workers", "1"
    )
    assert code == 0, text
    assert "ok      the 'kit_memory' engine keeps sessions in one process" in text


@pytest.mark.usefixtures("one_process_engine")
def test_clear_expired_refuses_an_engine_it_cannot_reach() -> None:
    code, text = run("clear-expired", "--engine", "kit_memory", "--serializer", "kit_json")
    assert code == 1
    assert "cannot reach them" in text and "SessionStore.clear_expired()" in text
