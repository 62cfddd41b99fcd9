"""Fixtures for the cross-plugin tests: which first-party plugins are installed, a Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import sessionware

from .redis_server import redis_url

#: Every first-party engine and serializer, and the distribution that provides it.
ENGINES = {
    "db": "sessionware-db",
    "file": "sessionware-file",
    "cache": "sessionware-cache",
    "signed_cookies": "sessionware-signed-cookies",
    "redis": "sessionware-redis",
}
SERIALIZERS = {
    "json": "sessionware-json",
    "msgpack": "sessionware-msgpack",
    "signed": "sessionware-signed",
}


def installed() -> set[str]:
    """Names of the engines and serializers the installed plugins provide."""
    return {n for info in sessionware.list_plugins() for n in (*info.engines, *info.serializers)}


def require(name: str, distribution: str) -> None:
    """Skip when ``name`` is not installed; under CI (everything installed), fail instead."""
    if name in installed():
        return
    message = f"{name!r} is not installed (pip install -e plugins/{distribution})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; nox -s tests installs every plugin, so CI must have it")
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis() -> Iterator[str]:
    """The URL of a reachable Redis (the running one, or one started for the session)."""
    with redis_url() as url:
        yield url
