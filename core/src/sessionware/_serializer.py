"""The serializer protocol: session dict to bytes and back. Never pickle."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

__all__ = ["Serializer"]


@runtime_checkable
class Serializer(Protocol):
    """Turns a session's data (a ``dict`` with ``str`` keys) into bytes and back.

    Both directions raise :class:`~sessionware.SerializationError` with a
    message naming the offending value; ``loads`` must refuse anything that is
    not a mapping with string keys. Implementations must not execute code
    found in the data (no pickle, no object hooks that import).
    """

    name: ClassVar[str]

    def dumps(self, data: dict[str, Any]) -> bytes:
        """Encode ``data``."""
        ...

    def loads(self, raw: bytes) -> dict[str, Any]:
        """Decode bytes produced by :meth:`dumps`."""
        ...
