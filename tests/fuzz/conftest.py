"""Fixtures of the fuzz suite: secrets, quiet security logging, the example counts."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from ._settings import BUDGET, COUNTS, PROFILE


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


def strong_secret() -> str:
    """A 64-character random secret: well past any weak-secret rule."""
    return secrets.token_urlsafe(48)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print how many examples each property ran (the fuzz session reports these)."""
    if not COUNTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section(
        f"fuzz: examples per property (SESSIONWARE_FUZZ={BUDGET}, "
        f"max_examples={PROFILE.max_examples})"
    )
    width = max(len(name) for name in COUNTS)
    for name, count in sorted(COUNTS.items()):
        write(f"{name:<{width}}  {count:>9,}")
    write(f"{'total':<{width}}  {sum(COUNTS.values()):>9,}")
