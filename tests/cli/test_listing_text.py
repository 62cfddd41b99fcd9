"""``sessionware engines`` / ``serializers`` print docstring lines as plain text, not markup."""

from __future__ import annotations

import io
import re

import pytest

from sessionware._plugins import host
from sessionware.cli import main
from sessionware.cli._listing import _describe_class, plain_text

MARKUP = re.compile(r"``|:(?:meth|class|func|data|mod|attr|exc):`")


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("Session data as ``str`` JSON.", "Session data as str JSON."),
        ("Raises :class:`~sessionware.CreateError` on a clash.", "Raises CreateError on a clash."),
        ("See :meth:`~sessionware.SessionStore.save`.", "See SessionStore.save."),
        ("Built by :func:`sessionware.session_store`.", "Built by sessionware.session_store."),
        ("Like :meth:`save` and :attr:`modified`.", "Like save and modified."),
        ("The :class:`store <sessionware.SessionStore>` it binds.", "The store it binds."),
        ("Relative :func:`.build_chain`, silent :func:`!x`.", "Relative build_chain, silent x."),
        ("Single `code`; `` `tick` `` stays.", "Single code; `tick` stays."),
        ('SQLite\'s ``":memory:"`` is refused.', 'SQLite\'s ":memory:" is refused.'),
        ("No markup at all.", "No markup at all."),
    ],
)
def test_plain_text(line: str, shown: str) -> None:
    assert plain_text(line) == shown


def test_describe_class_uses_the_first_docstring_line_as_plain_text() -> None:
    class Engine:
        """Stores ``bytes`` under :class:`~sessionware.SessionStore` keys.

        Second line with ``markup`` is not shown.
        """

    assert _describe_class(Engine) == "Stores bytes under SessionStore keys."

    class Bare:
        pass

    Bare.__doc__ = None
    assert _describe_class(Bare) == ""


def _listing(command: str) -> str:
    out = io.StringIO()
    assert main([command], out=out) == 0
    return out.getvalue()


@pytest.mark.parametrize("command", ["engines", "serializers"])
def test_listings_show_no_docstring_markup(command: str) -> None:
    listed = _listing(command)
    installed = host.engines if command == "engines" else host.serializers
    if not installed:
        pytest.skip(f"no {command} installed")
    assert not MARKUP.search(listed), listed
    for name in installed:
        assert name in listed
