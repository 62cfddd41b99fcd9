"""Reports how many crash rounds ran, so a long run says what it proved."""

from __future__ import annotations

import pytest

from ._tally import TALLIES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per crash test: rounds, kills, acknowledged saves, mixes and losses."""
    if not TALLIES:
        return
    terminalreporter.section("crash rounds")
    for tally in TALLIES:
        terminalreporter.write_line(tally.line())
