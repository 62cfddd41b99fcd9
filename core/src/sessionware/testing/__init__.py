"""The conformance kit every sessionware engine and serializer runs.

Plugin authors subclass ``EngineConformance`` (one fixture: ``engine``,
an empty engine) or ``SerializerConformance`` (one fixture:
``serializer``) in their own test suite. ``MemoryEngine`` is the
in-memory engine for any test that needs one (versioned and locking; options:
other capabilities, native async twins, a simulated outage).
``count_lost_updates`` races read-modify-write cycles on one session and
counts the lost updates. See docs/plugin-authors.md.
This module only re-exports.
"""

import pytest

# The kit's tests live in this package, not in the plugin's test files, so ask
# pytest to rewrite their asserts (detailed failure messages) before importing.
pytest.register_assert_rewrite(
    "sessionware.testing._engine_kit",
    "sessionware.testing._lock_kit",
    "sessionware.testing._outage_kit",
    "sessionware.testing._serializer_kit",
    "sessionware.testing._session_kit",
    "sessionware.testing._session_storage_kit",
    "sessionware.testing._stress_kit",
    "sessionware.testing._versioned_kit",
)

from ._conformance import EngineConformance  # noqa: E402
from ._fixtures import engine_factory, session_store_for  # noqa: E402
from ._helpers import (  # noqa: E402
    BINARY_PAYLOAD,
    HOSTILE_KEYS,
    expired,
    expires_in,
    run_async,
    run_in_threads,
)
from ._lost_updates import LostUpdates, count_lost_updates  # noqa: E402
from ._memory_engine import MemoryEngine  # noqa: E402
from ._reference_serializer import ReferenceSerializer  # noqa: E402
from ._registry import registered  # noqa: E402
from ._serializer_kit import SerializerConformance, assert_identical  # noqa: E402

__all__ = [
    "BINARY_PAYLOAD",
    "HOSTILE_KEYS",
    "EngineConformance",
    "LostUpdates",
    "MemoryEngine",
    "ReferenceSerializer",
    "SerializerConformance",
    "assert_identical",
    "count_lost_updates",
    "engine_factory",
    "expired",
    "expires_in",
    "registered",
    "run_async",
    "run_in_threads",
    "session_store_for",
]
