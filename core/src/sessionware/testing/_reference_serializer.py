"""``ReferenceSerializer``: the kit's own serializer, so kit and plugin tests need no other plugin.

Compact UTF-8 stdlib JSON, ``str`` keys only, a top-level object only; the
real ``json`` serializer lives in sessionware-json.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from .._errors import SerializationError

__all__ = ["ReferenceSerializer"]


def _check_keys(value: Any, path: str) -> None:
    """Raise ``SerializationError`` for the first non-``str`` mapping key."""
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str:
                raise SerializationError(
                    f"session data keys must be str, found {type(key).__name__} {key!r} at "
                    f"{path or 'the top level'}"
                )
            _check_keys(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_keys(item, f"{path}[{index}]")


class ReferenceSerializer:
    """JSON via the standard library: what the conformance kit stores sessions with."""

    name: ClassVar[str] = "kit_json"

    def dumps(self, data: dict[str, Any]) -> bytes:
        """Encode ``data`` (a dict with ``str`` keys at every depth) as compact UTF-8 JSON."""
        if not isinstance(data, dict):
            raise SerializationError(f"session data must be a dict, got {type(data).__name__}")
        _check_keys(data, "")
        try:
            text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise SerializationError(f"session data is not JSON-serializable: {exc}") from exc
        return text.encode("utf-8")

    def loads(self, raw: bytes) -> dict[str, Any]:
        """Decode bytes from ``dumps``; anything but a JSON object is refused."""
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise SerializationError(f"session data is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise SerializationError(
                f"session data must be a JSON object, got {type(data).__name__}"
            )
        return data

    def __repr__(self) -> str:
        return "<ReferenceSerializer 'kit_json'>"


#: The storage operations ``MemoryEngine`` can be told to fail (``down``).
