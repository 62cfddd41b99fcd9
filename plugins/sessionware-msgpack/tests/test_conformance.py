"""The msgpack serializer through sessionware's conformance kit."""

from __future__ import annotations

import pytest
from sessionware_msgpack import MsgpackSerializer

from sessionware.testing import SerializerConformance


class TestMsgpackSerializerConformance(SerializerConformance):
    @pytest.fixture
    def serializer(self) -> MsgpackSerializer:
        return MsgpackSerializer()
