"""Fixtures shared by every folder of sessionware's own tests.

Each folder's ``conftest.py`` adds the fixtures only its tests use; helpers
that are not fixtures live in plain modules (``servers.py``,
``first_party.py``, ``e2e/redis_server.py``) imported relatively. See README.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .e2e.redis_server import redis_url


@pytest.fixture(scope="session")
def redis() -> Iterator[str]:
    """The URL of a reachable Redis (the running one, or one started for the session)."""
    with redis_url() as url:
        yield url
