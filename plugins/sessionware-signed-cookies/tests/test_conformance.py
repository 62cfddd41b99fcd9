"""The signed_cookies engine through sessionware's conformance kit, signed and encrypted.

The kit skips what a cookie engine cannot do by its declared capabilities
(``server_side=False``: no ``exists`` look-ups, no ``must_create`` collisions,
no resurrection checks, nothing for ``clear_expired`` to count).
"""

from __future__ import annotations

import pytest
from sessionware_signed_cookies import SignedCookiesEngine

from sessionware.testing import EngineConformance

SECRET = "conformance-secret-0123456789abcdefghijklmnopqrstuvwxyz"


class TestSignedCookiesConformance(EngineConformance):
    @pytest.fixture
    def engine(self) -> SignedCookiesEngine:
        return SignedCookiesEngine(secret_key=SECRET)


class TestEncryptedCookiesConformance(EngineConformance):
    @pytest.fixture
    def engine(self) -> SignedCookiesEngine:
        return SignedCookiesEngine(secret_key=SECRET, encrypt=True)


class TestAlwaysCompressedSignedCookiesConformance(EngineConformance):
    @pytest.fixture
    def engine(self) -> SignedCookiesEngine:
        return SignedCookiesEngine(secret_key=SECRET, compress=True)


class TestAlwaysCompressedEncryptedCookiesConformance(EngineConformance):
    @pytest.fixture
    def engine(self) -> SignedCookiesEngine:
        return SignedCookiesEngine(secret_key=SECRET, encrypt=True, compress=True)
