"""The signed serializer through sessionware's conformance kit."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sessionware_signed import SignedSerializer

from sessionware.testing import SerializerConformance

OLDER_KEY = "an-older-key-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"


class TestSignedSerializerConformance(SerializerConformance):
    @pytest.fixture
    def serializer(self, make: Callable[..., SignedSerializer]) -> SignedSerializer:
        return make()


class TestCompressedSignedSerializerConformance(SerializerConformance):
    @pytest.fixture
    def serializer(self, make: Callable[..., SignedSerializer]) -> SignedSerializer:
        return make(compress=True, fallback_keys=[OLDER_KEY])


@pytest.mark.usefixtures("json_plugin")
class TestSignedOverTheJsonPluginConformance(SerializerConformance):
    @pytest.fixture
    def serializer(self, make: Callable[..., SignedSerializer]) -> SignedSerializer:
        return make(inner="json")
