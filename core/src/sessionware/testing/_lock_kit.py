"""Conformance tests for session locks (``locking=True``): leases that never wait.

``acquire_lock`` tries once and returns a token or ``None``; ``release_lock``
frees the lock only for the token that holds it; a lease runs out ``ttl``
seconds after it was taken (free once ``expires_at <= now``); the lock of one
session never blocks another; locks are advisory (a plain save is not
blocked). Every test skips itself, with the reason, for an engine that
declares ``locking=False``; the tests that need two engines on one store
(``second_engine``) skip without that fixture.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from .._engine import Engine
from .._errors import InvalidSessionKey
from ._base import EngineKitBase
from ._helpers import HOSTILE_KEYS, expires_in, run_async, run_in_threads

__all__ = ["LockTests"]

#: A lease long enough never to run out during a test.
LONG = 30.0
#: A lease that runs out at once, and how long the test waits past it.
SHORT = 0.05
WAIT_PAST_IT = 0.1
#: What "never waits" means here: an attempt on a held lock returns within this.
PROMPT = 1.0
#: Threads trying to take one free lock at once: exactly one may get it.
LOCK_RACERS = 8
LOCK_ROUNDS = 5
#: Values of ``ttl`` that are not a positive, finite number of seconds.
BAD_TTLS: tuple[Any, ...] = (0, -1, float("nan"), float("inf"), "5", True, None)


class LockTests(EngineKitBase):
    """``acquire_lock``/``release_lock`` and their async twins, as the contract states."""

    def test_acquire_returns_a_token_and_a_second_acquire_returns_none(
        self, engine: Engine
    ) -> None:
        """The first attempt gets a ``str`` token; while it is held, another gets ``None``."""
        locking = self.require_locking(engine)
        key = self.new_key()
        token = locking.acquire_lock(key, LONG)
        assert isinstance(token, str) and token, f"acquire_lock returned {token!r}, not a token"
        assert locking.acquire_lock(key, LONG) is None, "a held lock was handed out twice"
        locking.release_lock(key, token)

    def test_after_release_the_lock_can_be_taken_with_a_new_token(self, engine: Engine) -> None:
        """``release_lock`` with the holder's token frees it; the next holder gets a new token."""
        locking = self.require_locking(engine)
        key = self.new_key()
        token = locking.acquire_lock(key, LONG)
        assert token is not None
        locking.release_lock(key, token)
        again = locking.acquire_lock(key, LONG)
        assert again is not None, "the lock stayed held after its holder released it"
        assert again != token, "tokens must be fresh for each holder"
        locking.release_lock(key, token)  # the old token: frees nothing, raises nothing
        assert locking.acquire_lock(key, LONG) is None
        locking.release_lock(key, again)

    def test_release_by_a_wrong_token_does_nothing(self, engine: Engine) -> None:
        """A release with another token, or of another key, leaves the lock held."""
        locking = self.require_locking(engine)
        key, other = self.new_key(), self.new_key()
        token = locking.acquire_lock(key, LONG)
        assert token is not None
        locking.release_lock(key, "0" * len(token))
        locking.release_lock(key, "")
        locking.release_lock(other, token)
        assert locking.acquire_lock(key, LONG) is None, "a wrong token released the lock"
        locking.release_lock(key, token)
        locking.release_lock(key, token)  # twice: silent

    def test_an_expired_lease_can_be_taken(self, engine: Engine) -> None:
        """A lease past its ``ttl`` is free; its old holder's release no longer frees anything."""
        locking = self.require_locking(engine)
        key = self.new_key()
        old = locking.acquire_lock(key, SHORT)
        assert old is not None
        assert locking.acquire_lock(key, LONG) is None, "the lease ran out before its ttl"
        time.sleep(WAIT_PAST_IT)
        new = locking.acquire_lock(key, LONG)
        assert new is not None, f"a lease taken for {SHORT} s still held after {WAIT_PAST_IT} s"
        locking.release_lock(key, old)  # the holder whose lease ran out wakes up
        assert locking.acquire_lock(key, LONG) is None, "an expired holder released the new one"
        locking.release_lock(key, new)

    def test_locks_of_two_keys_are_independent(self, engine: Engine) -> None:
        """Holding one session's lock never stops another session's."""
        locking = self.require_locking(engine)
        a, b = self.new_key(), self.new_key()
        token_a = locking.acquire_lock(a, LONG)
        token_b = locking.acquire_lock(b, LONG)
        assert token_a is not None and token_b is not None
        locking.release_lock(a, token_a)
        assert locking.acquire_lock(b, LONG) is None, "releasing one key released another"
        again = locking.acquire_lock(a, LONG)
        assert again is not None
        locking.release_lock(a, again)
        locking.release_lock(b, token_b)

    def test_a_lock_neither_needs_nor_creates_a_session(self, engine: Engine) -> None:
        """A key never saved can be locked, and locking it stores no session."""
        locking = self.require_locking(engine)
        key = self.new_key()
        token = locking.acquire_lock(key, LONG)
        assert token is not None
        assert engine.load(key) is None
        if self.caps(engine).server_side:
            assert not engine.exists(key), "acquire_lock() created a session"
        locking.release_lock(key, token)

    def test_locks_are_advisory_saves_are_not_blocked(self, engine: Engine) -> None:
        """A held lock does not stop plain saves of its session (the holder writes with them)."""
        locking = self.require_locking(engine)
        key = self.new_key()
        token = locking.acquire_lock(key, LONG)
        assert token is not None
        handle = engine.save(key, b"one", expires_in(), must_create=True)
        handle = engine.save(key, b"two", expires_in(), must_create=False)
        assert engine.load(handle) == b"two"
        locking.release_lock(key, token)
        assert engine.load(handle) == b"two", "releasing the lock touched the session"

    def test_acquire_never_waits_for_a_holder(self, engine: Engine) -> None:
        """Attempts on a held lock return ``None`` at once: the session polls, never the engine."""
        locking = self.require_locking(engine)
        key = self.new_key()
        token = locking.acquire_lock(key, LONG)
        assert token is not None
        for _ in range(5):
            started = time.perf_counter()
            assert locking.acquire_lock(key, LONG) is None
            took = time.perf_counter() - started
            assert took < PROMPT, f"acquire_lock() on a held lock took {took:.2f} s"
        locking.release_lock(key, token)

    # -- refused input -------------------------------------------------------------------

    def test_acquire_of_an_invalid_key_raises_invalid_session_key(self, engine: Engine) -> None:
        """Hostile keys are refused with ``InvalidSessionKey`` before any lock is built."""
        locking = self.require_locking(engine)
        wrong = []
        for key in HOSTILE_KEYS:
            try:
                locking.acquire_lock(key, LONG)
            except InvalidSessionKey:
                continue
            except Exception as exc:
                wrong.append(f"{key[:40]!r} raised {type(exc).__name__}")
            else:
                wrong.append(f"{key[:40]!r} was locked")
        assert not wrong, "; ".join(wrong)

    def test_release_of_an_invalid_key_does_nothing(self, engine: Engine) -> None:
        """``release_lock`` of a hostile key is silent."""
        locking = self.require_locking(engine)
        for key in HOSTILE_KEYS:
            locking.release_lock(key, "0" * 32)

    @pytest.mark.parametrize("ttl", BAD_TTLS, ids=repr)
    def test_a_ttl_that_is_not_a_positive_number_of_seconds_is_refused(
        self, engine: Engine, ttl: Any
    ) -> None:
        """``ttl`` <= 0, NaN, infinity or a non-number (``bool`` included) raises ``ValueError``."""
        locking = self.require_locking(engine)
        key = self.new_key()
        with pytest.raises(ValueError):
            locking.acquire_lock(key, ttl)
        token = locking.acquire_lock(key, LONG)
        assert token is not None, "a refused attempt left the lock held"
        locking.release_lock(key, token)

    # -- concurrency -----------------------------------------------------------------------

    def test_threads_taking_one_free_lock_have_exactly_one_winner(self, engine: Engine) -> None:
        """Threads trying one free lock at once: one token, ``None`` for all the others."""
        locking = self.require_locking(engine)
        for _ in range(LOCK_ROUNDS):
            key = self.new_key()

            def racer(index: int, key: str = key) -> str:
                return locking.acquire_lock(key, LONG) or ""  # "": refused

            results, errors = run_in_threads(LOCK_RACERS, racer)
            assert not errors, f"a thread raised {errors[0]!r}"
            tokens = [token for token in results if token]
            assert len(tokens) == 1, f"{len(tokens)} threads took the same lock"
            locking.release_lock(key, tokens[0])

    def test_a_second_engine_on_the_same_store_sees_the_lock(
        self, engine: Engine, second_engine: Engine
    ) -> None:
        """The lock is the store's: another engine (process) cannot take it until it is released."""
        locking = self.require_locking(engine)
        other = self.require_locking(second_engine)
        key = self.new_key()
        token = locking.acquire_lock(key, LONG)
        assert token is not None
        assert other.acquire_lock(key, LONG) is None, "two engines held one session's lock"
        locking.release_lock(key, token)
        taken = other.acquire_lock(key, LONG)
        assert taken is not None, "a released lock stayed held for the other engine"
        assert locking.acquire_lock(key, LONG) is None
        other.release_lock(key, taken)

    # -- async twins -----------------------------------------------------------------------

    def test_async_locks_follow_the_same_rules(self, engine: Engine) -> None:
        """``aacquire_lock``/``arelease_lock`` behave like the sync calls."""
        locking = self.require_locking(engine)

        async def scenario() -> None:
            key = self.new_key()
            token = await locking.aacquire_lock(key, LONG)
            assert isinstance(token, str) and token
            assert await locking.aacquire_lock(key, LONG) is None
            await locking.arelease_lock(key, "0" * len(token))
            assert await locking.aacquire_lock(key, LONG) is None
            await locking.arelease_lock(key, token)
            again = await locking.aacquire_lock(key, LONG)
            assert again is not None and again != token
            await locking.arelease_lock(key, again)
            with pytest.raises(InvalidSessionKey):
                await locking.aacquire_lock("../../etc/passwd", LONG)
            with pytest.raises(ValueError):
                await locking.aacquire_lock(key, 0)
            await locking.arelease_lock("../../etc/passwd", "0" * 32)

        run_async(scenario())

    def test_async_expired_lease_can_be_taken(self, engine: Engine) -> None:
        """Under async too, a lease past its ``ttl`` is free, and taking a held one never waits."""
        locking = self.require_locking(engine)

        async def scenario() -> None:
            key = self.new_key()
            old = await locking.aacquire_lock(key, SHORT)
            assert old is not None
            started = time.perf_counter()
            assert await locking.aacquire_lock(key, LONG) is None
            assert time.perf_counter() - started < PROMPT
            await asyncio.sleep(WAIT_PAST_IT)
            new = await locking.aacquire_lock(key, LONG)
            assert new is not None
            await locking.arelease_lock(key, old)
            assert await locking.aacquire_lock(key, LONG) is None
            await locking.arelease_lock(key, new)

        run_async(scenario())
