"""Building blocks for a plugin's own ``conftest.py``: engines and session classes by name.

An engine plugin's tests build engines the way an application does, by
name through the registry, with test defaults (a path under ``tmp_path``),
and must close every one of them. These two context managers do that, so a
fixture is three lines::

    @pytest.fixture
    def make_engine(tmp_path):
        with engine_factory("mine", MyEngine, path=tmp_path) as make:
            yield make

Nothing here imports an engine or a serializer plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

# The public names: these helpers stand where a plugin's conftest.py stands.
from .. import Engine, SessionStore, get_engine, session_store
from ._reference_serializer import ReferenceSerializer

__all__ = ["engine_factory", "session_store_for"]

E = TypeVar("E", bound=Engine)


@contextmanager
def engine_factory(name: str, cls: type[E], /, **defaults: Any) -> Iterator[Callable[..., E]]:
    """Yield ``make(**options)``: ``get_engine(name, **defaults, **options)``, closed on exit.

    ``options`` override ``defaults``. Each engine is checked to be a ``cls``
    (so a test never runs against another plugin's engine of the same name),
    and every engine made is closed when the block ends, even after an error.
    """
    made: list[E] = []

    def make(**options: Any) -> E:
        engine = get_engine(name, **{**defaults, **options})
        if not isinstance(engine, cls):
            raise TypeError(
                f"the engine named {name!r} is a {type(engine).__name__}, not a {cls.__name__}: "
                "is another plugin registering the same name?"
            )
        made.append(engine)
        return engine

    try:
        yield make
    finally:
        for engine in made:
            engine.close()


@contextmanager
def session_store_for(engine: str, /, **settings: Any) -> Iterator[type[SessionStore]]:
    """Yield ``session_store(engine=engine, **settings)``; its engine is closed on exit.

    Sessions are stored with the kit's ``ReferenceSerializer`` unless
    ``settings`` name a serializer, so the tests need no serializer plugin.
    """
    if "serializer" not in settings and "serializer_instance" not in settings:
        settings["serializer_instance"] = ReferenceSerializer()
    store = session_store(engine=engine, **settings)
    try:
        yield store
    finally:
        store.engine.close()
