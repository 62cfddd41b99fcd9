"""pytest plugin entry of the conformance kit (registered through ``pytest11``).

Loaded by pytest in every project where sessionware is installed, so it stays
cheap: it imports nothing beyond pytest and registers one marker. The kit
itself is imported from ``sessionware.testing`` by the tests that use it.
"""

from __future__ import annotations

import pytest

__all__ = ["pytest_configure"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``sessionware_kit`` marker so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers", "sessionware_kit: a test from the sessionware conformance kit"
    )
