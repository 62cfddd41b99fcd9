"""Fixtures of the fuzz suite: quiet security logging, and the example counts at the end."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from ._settings import BUDGET, COUNTS, PROFILE, RUN_EXAMPLES


@pytest.fixture(autouse=True, scope="module")
def _quiet_security_log() -> Iterator[None]:
    """Keep the rejection warnings of hostile input out of the captured logs.

    Every refused cookie is logged to ``sessionware.security``; a property
    refuses thousands, and pytest would hold every record in memory.
    """
    logger = logging.getLogger("sessionware.security")
    saved = logger.propagate, logger.handlers[:]
    logger.propagate = False
    logger.handlers[:] = [logging.NullHandler()]
    try:
        yield
    finally:
        logger.propagate, logger.handlers[:] = saved[0], saved[1]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print how many examples each property ran (the fuzz session reports these)."""
    if not COUNTS:
        return
    write = terminalreporter.write_line
    if BUDGET == "ci":  # one line in the everyday run; the table is for the fuzz session
        write(
            f"fuzz (CI budget): {len(COUNTS)} properties, {sum(COUNTS.values()):,} examples; "
            "SESSIONWARE_FUZZ=fuzz for 100,000 each"
        )
        return
    terminalreporter.section(
        f"fuzz: examples per property (SESSIONWARE_FUZZ={BUDGET}: at least "
        f"{PROFILE.max_examples:,}, in Hypothesis runs of {RUN_EXAMPLES:,})"
    )
    width = max(len(name) for name in COUNTS)
    for name, count in sorted(COUNTS.items()):
        write(f"{name:<{width}}  {count:>9,}")
    write(f"{'total':<{width}}  {sum(COUNTS.values()):>9,}")
