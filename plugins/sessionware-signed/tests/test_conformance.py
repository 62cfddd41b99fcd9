"""The signed serializer through sessionware's conformance kit."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sessionware_signed import SignedSerializer

from sessionware.testing import SerializerConformance


class TestSignedSerializerConformance(SerializerConformance):
    @pytest.fixture
    def serializer(self, make: Callable[..., SignedSerializer]) -> SignedSerializer:
        return make()


class TestCompressedSignedSerializerConformance(SerializerConformance):
    @pytest.fixture
    def serializer(self, make: Callable[..., SignedSerializer]) -> SignedSerializer:
        return make(compress=True, fallback_keys=["an-older-key"])


@pytest.mark.usefixtures("json_plugin")
class TestSignedOverTheJsonPluginConformance(SerializerConformance):
    @pytest.fixture
    def serializer(self, make: Callable[..., SignedSerializer]) -> SignedSerializer:
        return make(inner="json")
