"""``Vary: Cookie``: the one merge every adapter uses (str headers, ASGI bytes, aiohttp)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

__all__ = ["merge_vary", "patch_vary", "patch_vary_bytes"]


def merge_vary(values: Iterable[str], fields: Iterable[str]) -> str | None:
    """The one ``Vary`` value adding ``fields`` to a response's ``Vary`` values, in order.

    ``None`` when there is nothing to add: every field is there already (in
    any case), or one of the values is ``*``.
    """
    # Plain loops: this runs on every response that read the session.
    merged: list[str] = []
    present: set[str] = set()
    for value in values:
        if value.strip():
            merged.append(value)
            for name in value.split(","):
                present.add(name.strip().lower())
    if "*" in present:
        return None
    before = len(merged)
    for name in fields:
        if name.lower() not in present:
            merged.append(name)
            present.add(name.lower())
    return ", ".join(merged) if len(merged) > before else None


_H = TypeVar("_H", str, bytes)


def _put_vary(headers: list[tuple[_H, _H]], found: list[int], header: tuple[_H, _H]) -> None:
    """Write the merged ``Vary`` header where the first one was; drop the others."""
    if not found:
        headers.append(header)
        return
    headers[found[0]] = (headers[found[0]][0], header[1])  # the name keeps its case
    for index in reversed(found[1:]):
        del headers[index]


def patch_vary(headers: list[tuple[str, str]], *fields: str) -> None:
    """Merge ``fields`` into the ``Vary`` header of ``headers`` in place, without duplicates."""
    found = []
    for index, (name, _) in enumerate(headers):
        if name.lower() == "vary":
            found.append(index)
    merged = merge_vary([headers[i][1] for i in found] if found else (), fields)
    if merged is not None:
        _put_vary(headers, found, ("Vary", merged))


def patch_vary_bytes(headers: list[tuple[bytes, bytes]], *fields: str) -> None:
    """``patch_vary`` for ASGI's latin-1 ``bytes`` header pairs."""
    found = []
    for index, (name, _) in enumerate(headers):
        if name.lower() == b"vary":
            found.append(index)
    values = [headers[i][1].decode("latin-1") for i in found] if found else ()
    merged = merge_vary(values, fields)
    if merged is not None:
        _put_vary(headers, found, (b"vary", merged.encode("latin-1")))
