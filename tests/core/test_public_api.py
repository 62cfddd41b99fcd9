"""The public surface is explicit: ``__all__`` is sorted and matches docs/reference.md."""

from __future__ import annotations

import re
from pathlib import Path

import sessionware

REFERENCE = Path(__file__).parents[2] / "docs" / "reference.md"


def documented_names() -> set[str]:
    text = REFERENCE.read_text(encoding="utf-8")
    block = text.split("<!-- public-names")[1].split("<!-- /public-names -->")[0]
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", block))


def test_all_is_sorted() -> None:
    assert sessionware.__all__ == sorted(sessionware.__all__)


def test_all_matches_the_reference_docs() -> None:
    assert set(sessionware.__all__) == documented_names()


def test_every_public_name_exists_and_has_a_docstring() -> None:
    for name in sessionware.__all__:
        obj = getattr(sessionware, name)
        if name != "__version__":
            assert (obj.__doc__ or "").strip(), name
