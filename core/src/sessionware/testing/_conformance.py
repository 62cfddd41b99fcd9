"""``EngineConformance``: every engine test of the kit in one class to subclass.

The halves live in their own modules (protocol, stress, outages, versioned
saves, locks, session mapping, session storage); this module only composes
them.
"""

from __future__ import annotations

import pytest

from ._engine_kit import EngineProtocolTests
from ._lock_kit import LockTests
from ._outage_kit import OutageTests
from ._session_kit import SessionMappingTests
from ._session_storage_kit import SessionStorageTests
from ._stress_kit import StressTests
from ._versioned_kit import VersionedTests

__all__ = ["EngineConformance"]


class EngineConformance(
    EngineProtocolTests,
    StressTests,
    OutageTests,
    VersionedTests,
    LockTests,
    SessionMappingTests,
    SessionStorageTests,
):
    """The conformance suite for an engine. Subclass it and define an ``engine`` fixture.

    ``engine`` must return an EMPTY engine and close it afterwards::

        class TestMyEngine(EngineConformance):
            @pytest.fixture
            def engine(self, tmp_path):
                e = MyEngine(path=tmp_path)
                yield e
                e.close()

    Tests that do not apply skip themselves by the engine's declared
    ``Capabilities`` (``server_side``, ``clear_expired``, ``versioned``,
    ``locking``, ``shared_across_processes``);
    nothing needs overriding. Define ``unreachable_engine`` (an engine whose
    store cannot be reached) to run the outage tests, and ``second_engine``
    (another engine on the same store as ``engine``) to check that versions
    and locks belong to the store; without them those tests skip.
    Sessions are stored with the kit's stdlib-json
    ``ReferenceSerializer``; override ``kit_serializer`` to use another.
    Every test carries the ``sessionware_kit`` marker.
    """

    pytestmark = [pytest.mark.sessionware_kit]
