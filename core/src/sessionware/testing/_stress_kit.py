"""Conformance tests for hostile input, threads and the async twins.

Hostile keys come from cookies and must never reach storage; threads check
that the engine's create/update are atomic; the async twins must behave like
the sync calls. Async tests run their coroutine with ``asyncio.run``
inside a plain test, so a plugin project needs no async pytest plugin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from .._engine import Engine
from .._errors import CreateError, InvalidSessionKey, UpdateError
from ._base import EngineKitBase
from ._helpers import HOSTILE_KEYS, expired, expires_in, run_async, run_in_threads

__all__ = ["StressTests"]

#: Threads that create and update their own sessions at the same time.
WRITER_THREADS = 8
#: Updates each writer thread makes to its own session.
UPDATES_PER_THREAD = 25
#: Threads racing to create the same key, and how many keys they race for.
RACERS = 8
RACE_ROUNDS = 5


def _shown(key: str) -> str:
    return repr(key) if len(key) <= 40 else repr(key[:40]) + "..."


def _hostile_key_failures(check: Callable[[str], str | None]) -> list[str]:
    """Run ``check`` on every hostile key; collect what it reports and what it raises."""
    wrong = []
    for key in HOSTILE_KEYS:
        try:
            problem = check(key)
        except Exception as exc:
            problem = f"raised {type(exc).__name__}: {exc}"
        if problem:
            wrong.append(f"{_shown(key)} {problem}")
    return wrong


class StressTests(EngineKitBase):
    """Hostile keys, concurrent threads and the async twins (``aload``, ``asave``, ...)."""

    # -- hostile keys --------------------------------------------------------------

    def test_hostile_keys_load_as_none(self, engine: Engine) -> None:
        """``load`` of path-traversal, NUL, huge, empty, unicode or SQL-ish keys gives ``None``."""
        wrong = _hostile_key_failures(
            lambda key: "loaded data" if engine.load(key) is not None else None
        )
        assert not wrong, "; ".join(wrong)

    def test_hostile_keys_do_not_exist(self, engine: Engine) -> None:
        """``exists`` of every hostile key is ``False`` and never raises."""
        wrong = _hostile_key_failures(
            lambda key: "exists" if engine.exists(key) is not False else None
        )
        assert not wrong, "; ".join(wrong)

    def test_hostile_keys_delete_silently(self, engine: Engine) -> None:
        """``delete`` of every hostile key does nothing and never raises."""
        wrong = _hostile_key_failures(lambda key: engine.delete(key))
        assert not wrong, "; ".join(wrong)

    def test_hostile_keys_are_refused_by_save(self, engine: Engine) -> None:
        """``is_valid_key`` rejects every hostile key and ``save`` raises ``InvalidSessionKey``.

        Mirrors Django's ``test_invalid_key`` and ``test_session_key_*_invalid``:
        a key is validated before any path, SQL or cache key is built from it.
        """
        self.require_server_side(engine, "a cookie engine does not store under keys")
        wrong = []
        for key in HOSTILE_KEYS:
            if engine.is_valid_key(key):
                wrong.append(f"is_valid_key({_shown(key)}) is True")
            for must_create in (True, False):
                try:
                    engine.save(key, b"data", expires_in(), must_create=must_create)
                except InvalidSessionKey:
                    continue
                except Exception as exc:
                    wrong.append(
                        f"save({_shown(key)}, must_create={must_create}) raised "
                        f"{type(exc).__name__}, not InvalidSessionKey"
                    )
                else:
                    wrong.append(f"save({_shown(key)}, must_create={must_create}) stored it")
        assert not wrong, "; ".join(wrong)

    # -- threads -------------------------------------------------------------------

    def test_threads_creating_and_updating_sessions_lose_nothing(self, engine: Engine) -> None:
        """Threads creating and updating their own sessions at once lose no write."""

        def writer(index: int) -> tuple[str, bytes]:
            key = self.new_key()
            handle = engine.save(key, f"{index}:0".encode(), expires_in(), must_create=True)
            data = b""
            for step in range(1, UPDATES_PER_THREAD + 1):
                data = f"{index}:{step}".encode()
                handle = engine.save(key, data, expires_in(), must_create=False)
                assert engine.load(handle) == data, f"thread {index} lost its update {step}"
            return handle, data

        results, errors = run_in_threads(WRITER_THREADS, writer)
        assert not errors, f"{len(errors)} thread(s) failed, first: {errors[0]!r}"
        for result in results:
            assert result is not None
            handle, data = result
            assert engine.load(handle) == data

    def test_must_create_race_has_exactly_one_winner(self, engine: Engine) -> None:
        """Threads creating the SAME key: exactly one succeeds, the others get ``CreateError``."""
        self.require_server_side(engine, "a cookie engine has no shared key space")
        for _ in range(RACE_ROUNDS):
            key = self.new_key()

            def racer(index: int, key: str = key) -> bytes:
                data = f"racer-{index}".encode()
                engine.save(key, data, expires_in(), must_create=True)
                return data

            results, errors = run_in_threads(RACERS, racer)
            winners = [r for r in results if r is not None]
            unexpected = [e for e in errors if not isinstance(e, CreateError)]
            assert not unexpected, f"racers raised {unexpected[0]!r}, not CreateError"
            assert len(winners) == 1, f"{len(winners)} threads created the same key"
            assert len(errors) == RACERS - 1
            assert engine.load(key) == winners[0], "a loser overwrote the winner's data"

    # -- async twins ---------------------------------------------------------------

    def test_async_save_then_load_round_trips(self, engine: Engine) -> None:
        """``asave`` then ``aload`` round-trips bytes like the sync calls."""

        async def scenario() -> None:
            handle = await engine.asave(self.new_key(), b"async\x00bytes", expires_in(), True)
            assert isinstance(handle, str)
            assert await engine.aload(handle) == b"async\x00bytes"
            assert await engine.aload(self.new_key()) is None

        run_async(scenario())

    def test_async_exists_and_delete(self, engine: Engine) -> None:
        """``aexists`` and ``adelete`` behave like ``exists`` and ``delete``."""
        self.require_server_side(engine, "exists() has nothing to look up")

        async def scenario() -> None:
            key = self.new_key()
            assert await engine.aexists(key) is False
            await engine.asave(key, b"data", expires_in(), True)
            assert await engine.aexists(key) is True
            await engine.adelete(key)
            assert await engine.aexists(key) is False
            assert await engine.aload(key) is None
            await engine.adelete(key)

        run_async(scenario())

    def test_async_must_create_on_existing_key_raises_create_error(self, engine: Engine) -> None:
        """``asave(must_create=True)`` on a taken key raises ``CreateError``."""
        self.require_server_side(engine, "a cookie engine has no shared key space")

        async def scenario() -> None:
            key = self.new_key()
            await engine.asave(key, b"original", expires_in(), True)
            with pytest.raises(CreateError):
                await engine.asave(key, b"intruder", expires_in(), True)
            assert await engine.aload(key) == b"original"

        run_async(scenario())

    def test_async_update_of_missing_key_raises_update_error(self, engine: Engine) -> None:
        """``asave`` of a vanished key raises ``UpdateError`` and creates nothing."""
        self.require_server_side(engine, "a cookie engine cannot know which keys exist")

        async def scenario() -> None:
            key = self.new_key()
            with pytest.raises(UpdateError):
                await engine.asave(key, b"ghost", expires_in(), False)
            assert await engine.aexists(key) is False

        run_async(scenario())

    def test_async_expired_session_is_not_loaded(self, engine: Engine) -> None:
        """``aload`` of an expired session returns ``None``."""

        async def scenario() -> None:
            handle = await engine.asave(self.new_key(), b"stale", expired(), True)
            assert await engine.aload(handle) is None

        run_async(scenario())

    def test_async_clear_expired_counts_removed_sessions(self, engine: Engine) -> None:
        """``aclear_expired`` removes the expired sessions and returns the count."""

        async def scenario() -> None:
            assert type(await engine.aclear_expired()) is int
            if not (self.caps(engine).server_side and self.caps(engine).clear_expired):
                return
            await engine.asave(self.new_key(), b"stale", expired(), True)
            await engine.asave(self.new_key(), b"stale", expired(), True)
            live = await engine.asave(self.new_key(), b"live", expires_in(), True)
            assert await engine.aclear_expired() == 2
            assert await engine.aload(live) == b"live"

        run_async(scenario())

    def test_async_concurrent_saves_lose_nothing(self, engine: Engine) -> None:
        """Many ``asave`` calls gathered on one loop all land."""

        async def scenario() -> None:
            payloads = [f"task-{i}".encode() for i in range(20)]
            handles = await asyncio.gather(
                *(engine.asave(self.new_key(), p, expires_in(), True) for p in payloads)
            )
            loaded = await asyncio.gather(*(engine.aload(h) for h in handles))
            assert list(loaded) == payloads

        run_async(scenario())
