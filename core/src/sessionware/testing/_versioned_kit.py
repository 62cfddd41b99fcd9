"""Conformance tests for versioned engines: compare-and-set saves (``versioned=True``).

A versioned engine returns a version with each load and writes a save only
while the stored version is still the one loaded, atomically in the store;
the session merges concurrent requests on top of that. Every test here skips
itself, with the reason, for an engine that declares ``versioned=False``.
The tests that need two engines on one store (``second_engine``) skip
without that fixture. Async tests run on ``asyncio.run`` like the rest of
the kit.
"""

from __future__ import annotations

import time

import pytest

from .._capabilities import Version
from .._engine import Engine
from .._errors import CreateError, InvalidSessionKey, UpdateError, VersionConflict
from ._base import EngineKitBase
from ._helpers import (
    HOSTILE_KEYS,
    VersionedEngine,
    expired,
    expires_in,
    run_async,
    run_in_threads,
)

__all__ = ["VersionedTests"]

#: Threads saving over the same loaded version at once: exactly one may win.
CAS_RACERS = 8
CAS_ROUNDS = 5
#: How long a session saved to expire "soon" lives, and how long the test waits.
SHORT_LIFE = 0.05
WAIT_PAST_IT = 0.1


def _bogus_versions(real: Version) -> list[object]:
    """Versions of another type than the ones the engine hands out, so none can match."""
    candidates: list[object] = ["kit-bogus-version", b"kit-bogus-version", -7, 1.5]
    return [v for v in candidates if type(v) is not type(real)]


class VersionedTests(EngineKitBase):
    """``load_versioned``/``save_versioned`` and their async twins, as the contract states."""

    def _created(self, engine: VersionedEngine, data: bytes = b"first") -> tuple[str, Version]:
        """A new session made by a versioned create: its key and version."""
        key = self.new_key()
        handle, version = engine.save_versioned(key, data, expires_in(), None)
        assert handle == key, "a versioned save returns the key, as save() does"
        return key, version

    # -- load_versioned --------------------------------------------------------------

    def test_versioned_create_then_load_returns_the_bytes_and_the_version(
        self, engine: Engine
    ) -> None:
        """``save_versioned(..., None)`` creates; ``load_versioned`` gives the bytes and version."""
        versioned = self.require_versioned(engine)
        key, version = self._created(versioned, b"\x00first\xff")
        assert isinstance(version, int | str | bytes), (
            f"a version is int, str or bytes: {version!r}"
        )
        assert versioned.load_versioned(key) == (b"\x00first\xff", version)
        assert engine.load(key) == b"\x00first\xff"

    def test_load_versioned_of_missing_expired_or_hostile_keys_is_none(
        self, engine: Engine
    ) -> None:
        """Same rules as ``load``: ``None`` when missing, expired or invalid; never creates."""
        versioned = self.require_versioned(engine)
        missing = self.new_key()
        assert versioned.load_versioned(missing) is None
        assert not engine.exists(missing), "load_versioned() created a record"
        stale = self.new_key()
        engine.save(stale, b"stale", expired(), must_create=True)
        assert versioned.load_versioned(stale) is None
        loaded = [key for key in HOSTILE_KEYS if versioned.load_versioned(key) is not None]
        assert not loaded, f"load_versioned() returned data for hostile keys {loaded!r}"

    # -- compare-and-set ---------------------------------------------------------------

    def test_stale_versioned_save_is_refused_and_writes_nothing(self, engine: Engine) -> None:
        """A save over a version no longer stored raises ``VersionConflict`` and writes nothing."""
        versioned = self.require_versioned(engine)
        key, first = self._created(versioned)
        _, second = versioned.save_versioned(key, b"second", expires_in(), first)
        with pytest.raises(VersionConflict):
            versioned.save_versioned(key, b"stale", expires_in(), first)
        assert versioned.load_versioned(key) == (b"second", second), "a refused save wrote"

    def test_fresh_versioned_save_succeeds_and_changes_the_version(self, engine: Engine) -> None:
        """A save over the version just loaded writes and returns a new version, each time."""
        versioned = self.require_versioned(engine)
        key, version = self._created(versioned)
        seen = [version]
        for step in range(3):
            data = f"step-{step}".encode()
            handle, version = versioned.save_versioned(key, data, expires_in(), version)
            assert handle == key, "a versioned update returns the key, as save() does"
            assert version not in seen, "the version must change whenever the bytes do"
            seen.append(version)
            assert versioned.load_versioned(key) == (data, version)

    def test_versioned_create_of_an_existing_key_raises_create_error(self, engine: Engine) -> None:
        """``version=None`` on a live key raises ``CreateError`` and keeps the original."""
        versioned = self.require_versioned(engine)
        key, version = self._created(versioned, b"original")
        with pytest.raises(CreateError):
            versioned.save_versioned(key, b"intruder", expires_in(), None)
        plain = self.new_key()
        engine.save(plain, b"plain original", expires_in(), must_create=True)
        with pytest.raises(CreateError):
            versioned.save_versioned(plain, b"intruder", expires_in(), None)
        assert versioned.load_versioned(key) == (b"original", version)
        assert engine.load(plain) == b"plain original"

    def test_versioned_update_of_a_deleted_key_raises_update_error(self, engine: Engine) -> None:
        """A deleted session is never resurrected by a versioned save, even with its version."""
        versioned = self.require_versioned(engine)
        key, version = self._created(versioned)
        engine.delete(key)
        with pytest.raises(UpdateError):
            versioned.save_versioned(key, b"zombie", expires_in(), version)
        assert versioned.load_versioned(key) is None
        assert not engine.exists(key)

    def test_versioned_update_of_an_expired_key_raises_update_error(self, engine: Engine) -> None:
        """An entry that expired since its load counts as gone: ``UpdateError``, nothing written."""
        versioned = self.require_versioned(engine)
        key = self.new_key()
        _, version = versioned.save_versioned(key, b"short", time.time() + SHORT_LIFE, None)
        time.sleep(WAIT_PAST_IT)
        with pytest.raises(UpdateError):
            versioned.save_versioned(key, b"revived", expires_in(), version)
        assert versioned.load_versioned(key) is None
        assert engine.load(key) is None

    def test_plain_save_bumps_the_version(self, engine: Engine) -> None:
        """A plain ``save`` changes the version, so a versioned writer racing it conflicts."""
        versioned = self.require_versioned(engine)
        key, version = self._created(versioned)
        engine.save(key, b"plain", expires_in(), must_create=False)
        loaded = versioned.load_versioned(key)
        assert loaded is not None and loaded[0] == b"plain"
        assert loaded[1] != version, "a plain save left the version unchanged"
        with pytest.raises(VersionConflict):
            versioned.save_versioned(key, b"stale", expires_in(), version)
        assert engine.load(key) == b"plain"

    def test_a_version_the_engine_never_handed_out_is_refused(self, engine: Engine) -> None:
        """A version of the wrong type: ``TypeError`` (or ``VersionConflict``); nothing written."""
        versioned = self.require_versioned(engine)
        key, version = self._created(versioned)
        for bogus in _bogus_versions(version):
            with pytest.raises((TypeError, VersionConflict)):
                versioned.save_versioned(key, b"bogus", expires_in(), bogus)  # type: ignore[arg-type]
        assert versioned.load_versioned(key) == (b"first", version)

    def test_hostile_keys_are_refused_by_save_versioned(self, engine: Engine) -> None:
        """``save_versioned`` raises ``InvalidSessionKey`` for hostile keys, create or update."""
        versioned = self.require_versioned(engine)
        _, version = self._created(versioned)
        wrong = []
        for key in HOSTILE_KEYS:
            for given in (None, version):
                try:
                    versioned.save_versioned(key, b"data", expires_in(), given)
                except InvalidSessionKey:
                    continue
                except Exception as exc:
                    wrong.append(f"{key[:40]!r} raised {type(exc).__name__}")
                else:
                    wrong.append(f"{key[:40]!r} was stored")
        assert not wrong, "; ".join(wrong)

    # -- atomicity -----------------------------------------------------------------------

    def test_threads_saving_over_one_version_have_exactly_one_winner(self, engine: Engine) -> None:
        """Threads saving over the same loaded version: one writes, the others conflict."""
        versioned = self.require_versioned(engine)
        for _ in range(CAS_ROUNDS):
            key, version = self._created(versioned)

            def racer(index: int, key: str = key, version: Version = version) -> bytes:
                data = f"racer-{index}".encode()
                versioned.save_versioned(key, data, expires_in(), version)
                return data

            results, errors = run_in_threads(CAS_RACERS, racer)
            winners = [r for r in results if r is not None]
            unexpected = [e for e in errors if not isinstance(e, VersionConflict)]
            assert not unexpected, f"racers raised {unexpected[0]!r}, not VersionConflict"
            assert len(winners) == 1, f"{len(winners)} saves over one version were written"
            assert engine.load(key) == winners[0], "a loser overwrote the winner's data"

    # -- two engines on one store ----------------------------------------------------------

    def test_versions_are_the_stores_not_the_engine_objects(
        self, engine: Engine, second_engine: Engine
    ) -> None:
        """A second engine on the same store reads the same version and conflicts the same way."""
        versioned = self.require_versioned(engine)
        other = self.require_versioned(second_engine)
        key, first = self._created(versioned)
        assert other.load_versioned(key) == (b"first", first)
        _, second = other.save_versioned(key, b"from the other", expires_in(), first)
        with pytest.raises(VersionConflict):
            versioned.save_versioned(key, b"stale", expires_in(), first)
        assert versioned.load_versioned(key) == (b"from the other", second)
        _, third = versioned.save_versioned(key, b"mine again", expires_in(), second)
        assert other.load_versioned(key) == (b"mine again", third)
        second_engine.save(key, b"plain from the other", expires_in())
        with pytest.raises(VersionConflict):
            versioned.save_versioned(key, b"stale", expires_in(), third)

    # -- async twins -----------------------------------------------------------------------

    def test_async_stale_save_is_refused_and_a_fresh_one_succeeds(self, engine: Engine) -> None:
        """``asave_versioned`` refuses a stale version and writes over a fresh one."""
        versioned = self.require_versioned(engine)

        async def scenario() -> None:
            key = self.new_key()
            _, first = await versioned.asave_versioned(key, b"first", expires_in(), None)
            assert await versioned.aload_versioned(key) == (b"first", first)
            _, second = await versioned.asave_versioned(key, b"second", expires_in(), first)
            assert second != first
            with pytest.raises(VersionConflict):
                await versioned.asave_versioned(key, b"stale", expires_in(), first)
            assert await versioned.aload_versioned(key) == (b"second", second)
            await engine.asave(key, b"plain", expires_in(), False)
            with pytest.raises(VersionConflict):
                await versioned.asave_versioned(key, b"stale", expires_in(), second)
            assert await engine.aload(key) == b"plain"

        run_async(scenario())

    def test_async_create_and_update_errors(self, engine: Engine) -> None:
        """The async twins raise ``CreateError`` and ``UpdateError`` like the sync calls."""
        versioned = self.require_versioned(engine)

        async def scenario() -> None:
            key = self.new_key()
            assert await versioned.aload_versioned(key) is None
            _, version = await versioned.asave_versioned(key, b"original", expires_in(), None)
            with pytest.raises(CreateError):
                await versioned.asave_versioned(key, b"intruder", expires_in(), None)
            await engine.adelete(key)
            with pytest.raises(UpdateError):
                await versioned.asave_versioned(key, b"zombie", expires_in(), version)
            assert await versioned.aload_versioned(key) is None
            assert await engine.aexists(key) is False

        run_async(scenario())
