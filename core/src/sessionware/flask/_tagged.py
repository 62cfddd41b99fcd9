"""Flask's tagged JSON as a sessionware serializer (``flask_tagged``), never pickle."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, Final

from flask.json.tag import TaggedJSONSerializer

from .._errors import SerializationError

__all__ = ["TAGGED", "FlaskTaggedSerializer"]

#: The serializer used unless ``SESSIONWARE_SERIALIZER`` names another.
TAGGED: Final = "flask_tagged"
#: Every tag key starts with a space (``{" t": ...}``); data without one needs no untagging.
_TAG_OPENING: Final = re.compile(rb'\{\s*" ')


class FlaskTaggedSerializer:
    """Flask's tagged JSON as a sessionware serializer: tuples, bytes, datetimes survive.

    ``flash()`` stores tuples, and Flask's own session round-trips ``bytes``,
    ``datetime``, ``UUID`` and ``Markup`` by tagging them in plain JSON
    (``{" t": [...]}`` for a tuple). This is that format — JSON, never
    pickle — with sessionware's protocol: bytes in and out, and
    ``SerializationError`` for what it cannot encode or
    decode. Inside a request it encodes with the app's JSON provider, as
    Flask's cookie session does.
    """

    name: ClassVar[str] = TAGGED

    def __init__(self) -> None:
        self._tagged = TaggedJSONSerializer()

    def dumps(self, data: dict[str, Any]) -> bytes:
        """Encode ``data`` as tagged JSON (UTF-8)."""
        try:
            text: str = self._tagged.dumps(data)
        except (TypeError, ValueError) as exc:
            raise SerializationError(
                f"the Flask session cannot be stored as tagged JSON: {exc}. Store str, int, "
                "float, bool, None, list, dict, tuple, bytes, datetime, UUID or Markup values"
            ) from exc
        return text.encode("utf-8")

    def loads(self, raw: bytes) -> dict[str, Any]:
        """Decode tagged JSON produced by ``dumps`` (or by plain JSON)."""
        try:
            if _TAG_OPENING.search(raw) is None:  # no object starts with a tag: plain JSON
                data = json.loads(raw)
            else:
                # Untagging in the decoder's object hook (innermost objects first, as
                # Flask's own scan does) costs half of Flask's walk over the whole tree.
                data = json.loads(raw, object_hook=self._tagged.untag)
        except Exception as exc:  # any decoder or tag failure: the data is not a session
            raise SerializationError(
                f"stored session data is not valid tagged JSON ({type(exc).__name__}: {exc})"
            ) from exc
        if not isinstance(data, dict):
            raise SerializationError(
                f"stored session data decoded to a {type(data).__name__}, not a dict"
            )
        return data
