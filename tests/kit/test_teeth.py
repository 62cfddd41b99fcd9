"""The conformance kit has teeth: it fails engines and serializers that break the contract.

Each test writes a module that subclasses the kit with one deliberately
broken implementation from ``engines.py``, runs pytest on it in-process in a
temporary directory, and asserts that the specific kit tests guarding the
broken promise FAIL (not merely that something failed). The inner runs use
``-p no:asyncio`` to prove the kit needs no async pytest plugin, and
``filterwarnings = error`` like the repository.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ENGINES_SOURCE = (Path(__file__).parent / "engines.py").read_text(encoding="utf-8")

INI = """\
[pytest]
filterwarnings = error
addopts = --strict-markers
"""

ENGINE_TEST = """
import pytest
from sessionware.testing import EngineConformance


class TestUnderKit(EngineConformance):
    @pytest.fixture
    def engine(self):
        engine = {cls}()
        yield engine
        engine.close()
"""

SERIALIZER_TEST = """
import pytest
from sessionware.testing import SerializerConformance


class TestUnderKit(SerializerConformance):
    @pytest.fixture
    def serializer(self):
        return {cls}()
"""


class Outcomes:
    """A pytest plugin recording each test's outcome, keyed by its name inside the class."""

    def __init__(self) -> None:
        self.outcome: dict[str, str] = {}
        self.failed_phase: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep the call outcome, or the phase that failed first."""
        name = report.nodeid.rsplit("::", 1)[-1]
        if report.failed and name not in self.failed_phase:
            self.failed_phase[name] = report.when
            self.outcome[name] = "failed"
        elif report.when == "call" or (report.skipped and name not in self.outcome):
            self.outcome.setdefault(name, report.outcome)

    @property
    def failed(self) -> set[str]:
        """Names of the tests that failed."""
        return {name for name, outcome in self.outcome.items() if outcome == "failed"}

    @property
    def passed(self) -> set[str]:
        """Names of the tests that passed."""
        return {name for name, outcome in self.outcome.items() if outcome == "passed"}


def run_kit(directory: Path, template: str, cls: str) -> Outcomes:
    """Run the kit against ``cls`` (a class in ``engines.py``) in a fresh pytest session."""
    directory.mkdir()
    (directory / "pytest.ini").write_text(INI, encoding="utf-8")
    module = ENGINES_SOURCE + "\n" + textwrap.dedent(template).format(cls=cls)
    (directory / f"test_{cls.lower()}.py").write_text(module, encoding="utf-8")
    outcomes = Outcomes()
    pytest.main(
        [
            str(directory),
            "-c",
            str(directory / "pytest.ini"),
            "--rootdir",
            str(directory),
            "-p",
            "no:cacheprovider",
            "-p",
            "no:asyncio",
            "--import-mode=importlib",
            "-q",
        ],
        plugins=[outcomes],
    )
    assert outcomes.outcome, f"the inner run of {cls} collected nothing"
    return outcomes


def assert_caught(outcomes: Outcomes, expected: set[str]) -> None:
    """Every expected kit test failed, in its call phase (not in fixture setup)."""
    missed = expected - outcomes.failed
    assert not missed, (
        f"the kit did not catch the breakage in {sorted(missed)}; "
        f"it failed {sorted(outcomes.failed)}"
    )
    for name in expected:
        assert outcomes.failed_phase[name] == "call", f"{name} failed in {outcomes.failed_phase}"


def test_reference_engine_passes_everything(tmp_path: Path) -> None:
    """Control: the correct ``MemoryEngine`` passes every kit test in the same harness."""
    outcomes = run_kit(tmp_path / "ref", ENGINE_TEST, "MemoryEngine")
    assert outcomes.failed == set()
    assert len(outcomes.passed) > 80


def test_kit_catches_resurrection_of_deleted_sessions(tmp_path: Path) -> None:
    """An update of a missing key that inserts it again is caught."""
    outcomes = run_kit(tmp_path / "resurrect", ENGINE_TEST, "BrokenResurrectingEngine")
    assert_caught(
        outcomes,
        {
            "test_update_of_never_saved_key_raises_update_error",
            "test_update_of_deleted_key_raises_update_error",
            "test_update_of_expired_session_raises_update_error",
            "test_async_update_of_missing_key_raises_update_error",
            "test_session_deleted_elsewhere_is_not_resurrected",
            "test_versioned_update_of_a_deleted_key_raises_update_error",
            "test_async_create_and_update_errors",
        },
    )
    assert "test_save_then_load_round_trips_bytes" in outcomes.passed


def test_kit_catches_ignored_expiry(tmp_path: Path) -> None:
    """An engine that never enforces ``expires_at`` is caught."""
    outcomes = run_kit(tmp_path / "noexpiry", ENGINE_TEST, "BrokenNoExpiryEngine")
    assert_caught(
        outcomes,
        {
            "test_expired_session_is_not_loaded",
            "test_expired_session_does_not_exist",
            "test_update_of_expired_session_raises_update_error",
            "test_clear_expired_removes_exactly_the_expired_sessions",
            "test_async_expired_session_is_not_loaded",
            "test_async_clear_expired_counts_removed_sessions",
            "test_expired_session_loads_empty",
            "test_load_versioned_of_missing_expired_or_hostile_keys_is_none",
            "test_versioned_update_of_an_expired_key_raises_update_error",
        },
    )


def test_kit_catches_load_creating_records(tmp_path: Path) -> None:
    """An engine whose ``load`` stores a record for an unknown key is caught."""
    outcomes = run_kit(tmp_path / "createsonload", ENGINE_TEST, "BrokenCreatesOnLoadEngine")
    assert_caught(
        outcomes,
        {
            "test_load_of_missing_key_creates_nothing",
            "test_loading_a_missing_key_creates_nothing",
            "test_load_versioned_of_missing_expired_or_hostile_keys_is_none",
        },
    )


def test_kit_catches_must_create_overwriting(tmp_path: Path) -> None:
    """An engine whose ``must_create`` overwrites an existing session is caught."""
    outcomes = run_kit(tmp_path / "overwrite", ENGINE_TEST, "BrokenOverwritingEngine")
    assert_caught(
        outcomes,
        {
            "test_must_create_on_existing_key_raises_create_error",
            "test_must_create_race_has_exactly_one_winner",
            "test_async_must_create_on_existing_key_raises_create_error",
            "test_save_must_create_on_existing_key_raises_create_error",
            "test_versioned_create_of_an_existing_key_raises_create_error",
            "test_async_create_and_update_errors",
        },
    )


def test_kit_catches_versioned_saves_that_never_compare(tmp_path: Path) -> None:
    """A ``save_versioned`` that writes over a stale version (last writer wins) is caught."""
    outcomes = run_kit(tmp_path / "lastwriter", ENGINE_TEST, "BrokenLastWriterWinsEngine")
    assert_caught(
        outcomes,
        {
            "test_stale_versioned_save_is_refused_and_writes_nothing",
            "test_plain_save_bumps_the_version",
            "test_threads_saving_over_one_version_have_exactly_one_winner",
            "test_async_stale_save_is_refused_and_a_fresh_one_succeeds",
        },
    )
    assert "test_fresh_versioned_save_succeeds_and_changes_the_version" in outcomes.passed


def test_kit_catches_a_release_by_any_token(tmp_path: Path) -> None:
    """A ``release_lock`` that frees the lock for a wrong or stale token is caught."""
    outcomes = run_kit(tmp_path / "anytoken", ENGINE_TEST, "BrokenReleaseAnyTokenEngine")
    assert_caught(
        outcomes,
        {
            "test_release_by_a_wrong_token_does_nothing",
            "test_after_release_the_lock_can_be_taken_with_a_new_token",
            "test_an_expired_lease_can_be_taken",
            "test_async_locks_follow_the_same_rules",
            "test_async_expired_lease_can_be_taken",
        },
    )


def test_kit_catches_a_lock_handed_out_twice(tmp_path: Path) -> None:
    """An ``acquire_lock`` that takes a held lock again is caught."""
    outcomes = run_kit(tmp_path / "doublelock", ENGINE_TEST, "BrokenDoubleLockEngine")
    assert_caught(
        outcomes,
        {
            "test_acquire_returns_a_token_and_a_second_acquire_returns_none",
            "test_release_by_a_wrong_token_does_nothing",
            "test_acquire_never_waits_for_a_holder",
            "test_threads_taking_one_free_lock_have_exactly_one_winner",
            "test_async_locks_follow_the_same_rules",
        },
    )
    assert "test_locks_are_advisory_saves_are_not_blocked" in outcomes.passed


def test_kit_catches_serializer_stringifying_int_keys(tmp_path: Path) -> None:
    """A serializer that turns ``{0: ...}`` into ``{"0": ...}`` is caught at every depth."""
    outcomes = run_kit(tmp_path / "stringify", SERIALIZER_TEST, "StringifyingSerializer")
    assert_caught(
        outcomes,
        {
            "test_dumps_refuses_non_str_keys[int]",
            "test_dumps_refuses_non_str_keys[float]",
            "test_dumps_refuses_non_str_keys[bool]",
            "test_dumps_refuses_non_str_keys[None]",
            "test_dumps_refuses_non_str_keys[nested-int]",
            "test_dumps_refuses_non_str_keys[in-list]",
            "test_dumps_refuses_non_str_keys[deep]",
        },
    )
    assert "test_round_trips[nested-dict]" in outcomes.passed


def test_missing_engine_fixture_fails_with_instructions(tmp_path: Path) -> None:
    """A subclass that forgets the ``engine`` fixture fails loudly, not silently skips."""
    template = """
    from sessionware.testing import EngineConformance


    class TestForgotFixture(EngineConformance):
        pass
    """
    outcomes = run_kit(tmp_path / "nofixture", template, "Unused")
    assert outcomes.passed == set()
    assert "test_load_of_missing_key_returns_none" in outcomes.failed
