"""Conformance tests for outages: an unreachable store is ``EngineUnavailable``, nothing else.

The middleware answers an outage by its ``on_unavailable`` policy (a 503 or
an empty, unsaved session) only when it can tell an outage from a bug, so an
engine must report every failure to reach its store as
``EngineUnavailable`` — never its driver's own exception.
(The core also turns whatever else escapes into ``EngineUnavailable``, but an
engine that says so itself gives the user its address and a better message.)

These tests need a way to simulate an outage: override ``unreachable_engine``
to return an engine whose store cannot be reached (a server address nothing
listens on, a path that cannot be opened, ...). Without it they skip.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from .._engine import Engine
from .._errors import EngineUnavailable
from ._base import EngineKitBase
from ._helpers import expires_in, run_async

__all__ = ["OutageTests"]


def _outcome(call: Callable[[], Any]) -> str | None:
    """``None`` when ``call`` raised EngineUnavailable, else what happened instead."""
    try:
        call()
    except EngineUnavailable:
        return None
    except Exception as exc:
        return f"raised {type(exc).__name__}: {exc}"
    return "returned normally"


class OutageTests(EngineKitBase):
    """Every storage call of an unreachable engine raises ``EngineUnavailable``."""

    @pytest.fixture
    def unreachable_engine(self) -> Engine:
        """Override me: an engine whose store cannot be reached (close it afterwards)."""
        pytest.skip(
            "the engine offers no way to simulate an outage: define an `unreachable_engine` "
            "fixture (e.g. the engine pointed at an address nothing listens on)"
        )

    def _calls(self, engine: Engine) -> dict[str, Callable[[], Any]]:
        key = self.new_key()
        return {
            "load": lambda: engine.load(key),
            "save (create)": lambda: engine.save(key, b"kit", expires_in(), True),
            "save (update)": lambda: engine.save(key, b"kit", expires_in(), False),
            "exists": lambda: engine.exists(key),
            "delete": lambda: engine.delete(key),
        }

    def _acalls(self, engine: Engine) -> dict[str, Callable[[], Awaitable[Any]]]:
        key = self.new_key()
        return {
            "aload": lambda: engine.aload(key),
            "asave (create)": lambda: engine.asave(key, b"kit", expires_in(), True),
            "asave (update)": lambda: engine.asave(key, b"kit", expires_in(), False),
            "aexists": lambda: engine.aexists(key),
            "adelete": lambda: engine.adelete(key),
        }

    def test_an_outage_is_engine_unavailable(self, unreachable_engine: Engine) -> None:
        """Sync storage calls raise ``EngineUnavailable``, never a driver error."""
        self.require_server_side(unreachable_engine, "a cookie engine has no store to lose")
        wrong = {
            name: problem
            for name, call in self._calls(unreachable_engine).items()
            if (problem := _outcome(call)) is not None
        }
        assert not wrong, f"during an outage: {wrong}"

    def test_an_outage_is_engine_unavailable_in_the_async_twins(
        self, unreachable_engine: Engine
    ) -> None:
        """The async twins report an outage the same way."""
        self.require_server_side(unreachable_engine, "a cookie engine has no store to lose")
        wrong = {
            name: problem
            for name, call in self._acalls(unreachable_engine).items()
            if (problem := _outcome(lambda call=call: run_async(call()))) is not None  # type: ignore[misc]
        }
        assert not wrong, f"during an outage: {wrong}"

    def test_an_outage_message_names_the_store(self, unreachable_engine: Engine) -> None:
        """The error carries where the store was (``address``), so the log says what is down."""
        self.require_server_side(unreachable_engine, "a cookie engine has no store to lose")
        with pytest.raises(EngineUnavailable) as caught:
            unreachable_engine.load(self.new_key())
        assert caught.value.address, "EngineUnavailable(..., address=...) names the store"
