"""The first-party plugins, and a guard for tests that need one of them installed."""

from __future__ import annotations

import os

import pytest

import sessionware

#: Every first-party engine and serializer, and the distribution that provides it.
ENGINES = {
    "db": "sessionware-db",
    "file": "sessionware-file",
    "cache": "sessionware-cache",
    "signed_cookies": "sessionware-signed-cookies",
    "redis": "sessionware-redis",
    "postgres": "sessionware-postgres",
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
