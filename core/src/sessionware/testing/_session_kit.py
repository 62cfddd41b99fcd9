"""Conformance tests for the session's mapping API, run through the engine under test.

Ported from the behaviours Django's session tests pin down for ``SessionBase``:
which calls flip ``accessed`` (any read) and ``modified`` (any change), and
the mapping semantics of ``get``/``pop``/``setdefault``/``update``/``clear``.
sessionware closes one of Django's traps on top: a non-``str`` key raises
``TypeError`` when it is set. Storage behaviours (save, flush, cycle_key,
expiry, tampered data) live in ``_session_storage_kit``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .._session import SessionStore
from ._base import EngineKitBase

__all__ = ["SessionMappingTests"]


def _fresh(store: type[SessionStore], **data: Any) -> SessionStore:
    """A saved session with ``data``, reopened from storage with both flags down."""
    first = store()
    first.update(data)
    first.save()
    assert first.session_key is not None
    return store(first.session_key)


class SessionMappingTests(EngineKitBase):
    """The dict-like API of ``SessionStore`` and exactly when ``modified``/``accessed`` flip."""

    def test_new_session_is_empty_and_untouched(self, store: type[SessionStore]) -> None:
        """A new session has no key, no data, and is neither modified nor accessed.

        Mirrors Django's ``test_new_session``.
        """
        session = store()
        assert session.session_key is None
        assert session.is_empty()
        assert session.modified is False
        assert session.accessed is False

    def test_get_of_missing_key_returns_default(self, store: type[SessionStore]) -> None:
        """``get`` of an absent key returns the default and flips only ``accessed``.

        Mirrors Django's ``test_get_empty``.
        """
        session = store()
        assert session.get("cat") is None
        assert session.get("cat", "default") == "default"
        assert session.accessed is True
        assert session.modified is False

    def test_setitem_then_getitem(self, store: type[SessionStore]) -> None:
        """``session[k] = v`` stores the value and flips ``modified`` (Django's ``test_store``)."""
        session = store()
        session["cat"] = "dog"
        assert session.modified is True
        assert session.accessed is True
        assert session["cat"] == "dog"
        assert session.pop("cat") == "dog"

    @pytest.mark.parametrize(
        "read",
        [
            pytest.param(lambda s: s["key"], id="getitem"),
            pytest.param(lambda s: s.get("key"), id="get"),
            pytest.param(lambda s: "key" in s, id="contains"),
            pytest.param(len, id="len"),
            pytest.param(lambda s: list(s), id="iter"),
            pytest.param(lambda s: list(s.keys()), id="keys"),
            pytest.param(lambda s: list(s.values()), id="values"),
            pytest.param(lambda s: list(s.items()), id="items"),
            pytest.param(lambda s: s.setdefault("key", "other"), id="setdefault-existing"),
            pytest.param(lambda s: s.pop("absent", None), id="pop-missing-with-default"),
        ],
    )
    def test_reading_flips_accessed_only(
        self, store: type[SessionStore], read: Callable[[SessionStore], Any]
    ) -> None:
        """Every read loads the session and flips ``accessed`` but never ``modified``."""
        session = _fresh(store, key="value")
        assert (session.accessed, session.modified) == (False, False)
        read(session)
        assert (session.accessed, session.modified) == (True, False), "(accessed, modified)"
        assert session["key"] == "value"

    def test_contains(self, store: type[SessionStore]) -> None:
        """``in`` reports stored keys (Django's ``test_has_key``)."""
        session = _fresh(store, present=1)
        assert "present" in session
        assert "absent" not in session
        assert session.modified is False

    def test_keys_values_items(self, store: type[SessionStore]) -> None:
        """``keys``/``values``/``items`` show the loaded data.

        Mirrors Django's ``test_keys``/``test_values``/``test_items``.
        """
        session = _fresh(store, x=1)
        assert list(session.keys()) == ["x"]
        assert list(session.values()) == [1]
        assert list(session.items()) == [("x", 1)]
        assert len(session) == 1
        assert session.modified is False

    def test_pop_of_existing_key_marks_modified(self, store: type[SessionStore]) -> None:
        """``pop`` of a present key returns it and flips ``modified`` (Django's ``test_pop``)."""
        session = _fresh(store, **{"some key": "exists"})
        assert session.pop("some key") == "exists"
        assert session.accessed is True
        assert session.modified is True
        assert session.get("some key") is None

    def test_pop_of_missing_key_with_default_does_not_modify(
        self, store: type[SessionStore]
    ) -> None:
        """``pop`` of an absent key with a default returns it, unmodified.

        Mirrors Django's ``test_pop_default``.
        """
        session = store()
        assert session.pop("some key", "does not exist") == "does not exist"
        assert session.pop("some key", default=None) is None
        assert session.accessed is True
        assert session.modified is False

    def test_pop_of_missing_key_without_default_raises_key_error(
        self, store: type[SessionStore]
    ) -> None:
        """``pop`` of an absent key without a default raises ``KeyError``.

        Mirrors Django's ``test_pop_no_default_keyerror_raised``.
        """
        session = store()
        with pytest.raises(KeyError):
            session.pop("some key")
        assert session.modified is False

    def test_setdefault(self, store: type[SessionStore]) -> None:
        """``setdefault`` stores only when absent; only storing flips ``modified``.

        Mirrors Django's ``test_setdefault``.
        """
        session = store()
        assert session.setdefault("foo", "bar") == "bar"
        assert session.modified is True
        reopened = _fresh(store, foo="bar")
        assert reopened.setdefault("foo", "baz") == "bar"
        assert reopened.accessed is True
        assert reopened.modified is False

    def test_update(self, store: type[SessionStore]) -> None:
        """``update`` takes a mapping or keywords and flips both flags.

        Mirrors Django's ``test_update``.
        """
        session = store()
        session.update({"update key": 1}, other=2)
        assert session.accessed is True
        assert session.modified is True
        assert session.get("update key") == 1
        assert session["other"] == 2

    def test_clear(self, store: type[SessionStore]) -> None:
        """``clear`` empties the data and flips both flags (Django's ``test_clear``)."""
        session = _fresh(store, x=1)
        session.clear()
        assert list(session.items()) == []
        assert session.accessed is True
        assert session.modified is True

    def test_delitem_marks_modified(self, store: type[SessionStore]) -> None:
        """``del session[k]`` flips ``modified``; an absent key raises ``KeyError``."""
        session = _fresh(store, x=1)
        del session["x"]
        assert session.modified is True
        assert "x" not in session
        with pytest.raises(KeyError):
            del session["x"]

    def test_popitem_marks_modified(self, store: type[SessionStore]) -> None:
        """``popitem`` (used by Flask/Starlette code) returns the pair and flips ``modified``."""
        session = _fresh(store, only=1)
        assert session.popitem() == ("only", 1)
        assert session.modified is True
        assert len(session) == 0

    @pytest.mark.parametrize(
        "key",
        [
            pytest.param(0, id="int"),
            pytest.param(1.5, id="float"),
            pytest.param(None, id="None"),
            pytest.param(True, id="bool"),
            pytest.param(b"bytes", id="bytes"),
            pytest.param(("a", "b"), id="tuple"),
        ],
    )
    def test_non_str_key_raises_type_error_at_assignment(
        self, store: type[SessionStore], key: Any
    ) -> None:
        """A non-``str`` key is refused when set, not silently stringified at save.

        Django stores ``session[0]`` and reads it back under ``"0"``;
        sessionware raises ``TypeError`` from ``[]=``, ``update`` and ``setdefault``.
        """
        session = store()
        with pytest.raises(TypeError):
            session[key] = "value"
        with pytest.raises(TypeError):
            session.update({key: "value"})
        with pytest.raises(TypeError):
            session.setdefault(key, "value")
        assert session.modified is False
        assert dict(session.items()) == {}

    def test_session_key_is_read_only(self, store: type[SessionStore]) -> None:
        """``session_key`` cannot be assigned (Django's ``test_session_key_is_read_only``)."""
        session = store()
        with pytest.raises(AttributeError):
            session.session_key = "a" * 32  # type: ignore[misc]
