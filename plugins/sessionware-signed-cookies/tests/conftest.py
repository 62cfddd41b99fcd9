"""Fixtures for the signed_cookies tests: engines and session classes, plain and encrypted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sessionware_signed_cookies import SignedCookiesEngine

import sessionware
from sessionware.testing import ReferenceSerializer

from ._keys import SECRET


@pytest.fixture(params=[False, True], ids=["signed", "encrypted"])
def encrypt(request: pytest.FixtureRequest) -> bool:
    """Run the test for plain signed cookies and for encrypted ones."""
    return bool(request.param)


@pytest.fixture
def make_engine(encrypt: bool) -> Callable[..., SignedCookiesEngine]:
    """Build an engine by name, in this test's mode, with ``SECRET`` unless told otherwise."""

    def make(**options: Any) -> SignedCookiesEngine:
        options.setdefault("secret_key", SECRET)
        options.setdefault("encrypt", encrypt)
        engine = sessionware.get_engine("signed_cookies", **options)
        assert isinstance(engine, SignedCookiesEngine)
        return engine

    return make


@pytest.fixture
def engine(make_engine: Callable[..., SignedCookiesEngine]) -> SignedCookiesEngine:
    return make_engine()


@pytest.fixture
def make_store(encrypt: bool) -> Callable[..., type[sessionware.SessionStore]]:
    """Session classes built by name through ``session_store``, as an application does.

    The kit's reference serializer keeps these tests independent of the json
    plugin, so they pass with only the core and this plugin installed.
    """

    def make(**settings: Any) -> type[sessionware.SessionStore]:
        settings.setdefault("secret_key", SECRET)
        settings.setdefault("encrypt", encrypt)
        return sessionware.session_store(
            engine="signed_cookies", serializer_instance=ReferenceSerializer(), **settings
        )

    return make


@pytest.fixture
def Store(
    make_store: Callable[..., type[sessionware.SessionStore]],
) -> type[sessionware.SessionStore]:
    return make_store()
