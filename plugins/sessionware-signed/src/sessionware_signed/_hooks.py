"""The sessionware plugin hook of this distribution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sessionware import hookimpl

from ._serializer import SignedSerializer

__all__ = ["register_serializers"]


@hookimpl
def register_serializers(register: Callable[[type[Any]], None]) -> None:
    """Register the ``signed`` serializer; a second provider of that name is an error."""
    register(SignedSerializer)
