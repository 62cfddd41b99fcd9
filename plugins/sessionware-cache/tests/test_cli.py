"""`sessionware check` on the cache engine: one process, said plainly."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from sessionware.cli import main
from sessionware.testing import ReferenceSerializer, registered


@pytest.fixture(autouse=True)
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The kit's serializer by name, so `check` passes without the json plugin installed."""
    for name in ("SESSIONWARE_ENGINE", "SESSIONWARE_SERIALIZER", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    with registered(ReferenceSerializer, name="cache-tests-kit-serializer"):
        yield


def check(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["check", "--engine", "cache", "--serializer", "kit_json", *argv], out=out)
    return code, out.getvalue()


def test_check_with_several_workers_warns_that_sessions_live_in_one_process() -> None:
    code, text = check("--workers", "4")
    assert code == 1
    (line,) = [ln for ln in text.splitlines() if ln.startswith("PROBLEM engine")]
    assert "one process" in line
    assert "4 workers" in line
    assert "db or redis" in line


def test_check_reads_the_worker_count_from_web_concurrency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    code, text = check()
    assert code == 1
    assert "one process" in text and "3 workers" in text


def test_check_with_one_worker_notes_one_process_without_a_problem() -> None:
    code, text = check("--workers", "1")
    assert code == 0, text
    assert "one process" in text
    assert "PROBLEM" not in text


def test_check_reports_an_invalid_maxsize_with_its_name() -> None:
    code, text = check("--option", "maxsize=0")
    assert code == 1
    assert "PROBLEM engine" in text and "maxsize" in text
