"""The json serializer through sessionware's conformance kit."""

from __future__ import annotations

import pytest
from sessionware_json import JSONSerializer

from sessionware.testing import SerializerConformance


class TestJSONSerializerConformance(SerializerConformance):
    @pytest.fixture
    def serializer(self) -> JSONSerializer:
        return JSONSerializer()
