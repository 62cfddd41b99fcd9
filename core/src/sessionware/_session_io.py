"""The session's persistence: load, save, create, exists, delete, flush, cycle_key.

Every operation is written once, as a generator of *steps*: plain Python that
decides what to do, and yields each engine call it needs as
``(operation, args)``. The drivers (``_session_drivers``: ``_run`` with
the engine's blocking methods, ``_arun`` with its async twins) carry the
calls out and send each result, or throw each error, back into the steps. So
the sync and async forms share every line but the I/O itself, and a subclass
that refines a step (the middleware's outage policy) refines both at once.

To extend an operation, refine its steps: ``yield ("<engine method>", args)``
for each call (the async driver calls ``a<engine method>``), and
``yield from`` another operation's steps to include it. Events are emitted
through the class's ``events`` (set when the class is bound).
"""

from __future__ import annotations

import time
from typing import Any

from ._capabilities import Reissue
from ._errors import CreateError, EngineUnavailable, SuspiciousSession, VersionConflict
from ._keys import new_session_key
from ._session_drivers import BlockingCallWarning, Steps, engine_acall, engine_call
from ._session_expiry import EXPIRY_KEY, parse_expiry
from ._session_merge import MergingSteps
from .http._cookies import COOKIE_LIMIT

__all__ = ["COOKIE_LIMIT", "BlockingCallWarning", "SessionIO", "Steps"]

_CREATE_ATTEMPTS = 16


class SessionIO(MergingSteps):
    """The persistence half of ``SessionStore`` (see the module)."""

    # -- the steps ---------------------------------------------------------------

    def _load_steps(self) -> Steps[None]:
        if self._loaded:
            return
        key = self._session_key
        raw = None
        if key is not None:
            try:
                if self._versioned:
                    raw = yield from self._fetch_steps(key)
                else:
                    raw = yield ("load", (key,))
            except SuspiciousSession as exc:  # the engine saw forged input (e.g. a cookie)
                self._reject("tampered", f"{type(exc).__name__}: {exc}")
            except EngineUnavailable as exc:
                return self._load_failed(exc)
        self._apply(raw)

    def _fetch_steps(self, key: str) -> Steps[bytes | None]:
        """The stored bytes under ``key``, keeping their version on a versioned engine."""
        if not self._versioned:
            return (yield ("load", (key,)))  # type: ignore[no-any-return]
        loaded = yield ("load_versioned", (key,))
        if loaded is None:
            return None
        raw, self._version = loaded
        return raw  # type: ignore[no-any-return]

    def _load_failed(self, exc: EngineUnavailable) -> None:
        """The store could not be reached while loading: raise (the middleware's policy may not)."""
        raise exc

    def _apply(self, raw: bytes | None) -> None:
        """Install loaded bytes as the session's data (``None``: no such session)."""
        self._loaded = True
        data = None if raw is None else self._decode(raw)
        if data is not None and EXPIRY_KEY in data:
            expiry = parse_expiry(data.pop(EXPIRY_KEY))
            if expiry is None:  # it could never be saved again: the entry is broken
                self._reject("undecodable", f"unusable {EXPIRY_KEY!r} value in the stored data")
                data = None
            else:
                self._expiry = expiry
        if data is None:
            self._session_key = None
            return
        self._raw = raw
        dict.update(self, data)
        if isinstance(raw, Reissue):  # e.g. a cookie signed with a retired key
            self.modified = True

    def _decode(self, raw: bytes) -> dict[str, Any] | None:
        try:
            data = self.serializer.loads(raw)
            if not isinstance(data, dict):
                raise TypeError(f"decoded a {type(data).__name__}, not a dict")
        except SuspiciousSession as exc:
            self._reject("tampered", f"{type(exc).__name__}: {exc}")
            return None
        except Exception as exc:  # any decoder failure: an empty session, never a 500
            self._reject("undecodable", f"{type(exc).__name__}: {exc}")
            return None
        return data

    def _save_steps(self, must_create: bool) -> Steps[None]:
        if self._session_key is None:
            return (yield from self._create_steps())
        if must_create:
            self._loaded = True
        elif not self._loaded:
            yield from self._load_steps()
            if self._vanished():  # it expired or was deleted before we loaded it
                return (yield from self._create_steps())
        request = self._write(must_create)
        try:
            value = yield request
        except VersionConflict:  # another request saved first: merge onto it (_session_merge)
            return (yield from self._conflict_steps(request))
        self._written(value, request)

    def _vanished(self) -> bool:
        # A method, not an inline test: the steps above may have changed the key.
        return self._session_key is None

    def _write(self, must_create: bool) -> tuple[str, tuple[Any, ...]]:
        """The engine call that stores the data in memory under the current key (no I/O)."""
        data = self.serializer.dumps(self._payload())
        age = self._age = self.get_expiry_age()
        if self._versioned:  # compare-and-set on the version loaded (None: create)
            version = None if must_create else self._version
            if version is not None or must_create:
                return ("save_versioned", (self._session_key, data, time.time() + age, version))
            # A key but no version (cleared without a load): this is the whole data now.
        return ("save", (self._session_key, data, time.time() + age, must_create))

    def _written(self, value: Any, request: tuple[str, tuple[Any, ...]]) -> None:
        """Record what the engine returned for the ``_write`` call ``request``, and report it."""
        operation, (_, data, _, must_create) = request
        if operation != "save":  # save_versioned: (cookie value, new version), and None creates
            value, self._version = value
            must_create = must_create is None
            self._cleared = False
        if not self.engine.capabilities.server_side:
            self._check_cookie_size(value)
        self._session_key = value
        self._raw = data  # what is stored now: later nested changes are compared with it
        event = "session_created" if must_create else "session_saved"
        events = self.events
        if event in events.listening:  # the common case, nobody listening, costs one lookup
            events.emit(event, session=self)

    def _create_steps(self) -> Steps[None]:
        self._loaded = True
        previous = self._session_key
        for _ in range(_CREATE_ATTEMPTS):
            self._session_key = new_session_key()
            try:
                # _save_steps(must_create=True), without a generator of its own.
                request = self._write(True)
                self._written((yield request), request)
            except CreateError:
                continue
            except BaseException:
                self._session_key = previous  # a key that was never stored is no key
                raise
            self.modified = True
            return
        raise CreateError(
            f"no free session key after {_CREATE_ATTEMPTS} attempts; the {self.engine.name!r} "
            "engine reports every new key as taken"
        )

    def _exists_steps(self, key: str) -> Steps[bool]:
        if not self.engine.is_valid_key(key):
            return False
        return bool((yield ("exists", (key,))))

    def _delete_steps(self, session_key: str | None) -> Steps[None]:
        key = self._session_key if session_key is None else session_key
        if key is None or not self.engine.is_valid_key(key):
            return
        yield ("delete", (key,))
        self.events.emit("session_deleted", session_key=key, engine=self.engine.name)

    def _flush_steps(self) -> Steps[None]:
        self.clear()
        yield from self._delete_steps(None)
        self._session_key = None

    def _cycle_steps(self) -> Steps[None]:
        yield from self._load_steps()
        old = self._session_key
        yield from self._create_steps()
        if old is not None:
            yield from self._delete_steps(old)
        self.events.emit(
            "session_key_cycled", old_key=old, new_key=self._session_key, engine=self.engine.name
        )

    # -- the operations, sync and async --------------------------------------------

    def _ensure_loaded(self) -> None:
        # The same as self._run(self._load_steps()), written out: this is the
        # hot path (every request that reads its session), and the step
        # machinery would add a third to a cache load.
        if self._loaded:
            return
        key = self._session_key
        raw = None
        if key is not None:
            try:
                if self._versioned:
                    loaded = engine_call(self.engine, "load_versioned", key)
                    if loaded is not None:
                        raw, self._version = loaded
                else:
                    raw = engine_call(self.engine, "load", key)
            except SuspiciousSession as exc:
                self._reject("tampered", f"{type(exc).__name__}: {exc}")
            except EngineUnavailable as exc:
                self.engine_error = exc
                return self._load_failed(exc)
        self._apply(raw)

    async def _aensure_loaded(self) -> None:
        if self._loaded:
            return
        if self.engine.capabilities.inline_async:
            return self._ensure_loaded()  # nothing to wait for: skip the driver
        await self._arun(self._load_steps())

    def load(self) -> dict[str, Any]:
        """Load from the engine (once) and return a copy of the data."""
        self._ensure_loaded()
        return dict(dict.items(self))

    async def aload(self) -> dict[str, Any]:
        """Async twin of ``load``."""
        await self._aensure_loaded()
        return dict(dict.items(self))

    def save(self, must_create: bool = False) -> None:
        """Write the session; a session without a key is created.

        ``must_create`` raises ``CreateError`` if the key is
        taken; an update of a session that vanished raises
        ``UpdateError`` (it is never resurrected).
        """
        self._run(self._save_steps(must_create))

    async def asave(self, must_create: bool = False) -> None:
        """Async twin of ``save``."""
        if self.engine.capabilities.inline_async:  # nothing to wait for: the same steps, inline
            return self._run(self._save_steps(must_create))
        await self._arun(self._save_steps(must_create))

    def create(self) -> None:
        """Store this session's data under a new random key."""
        self._run(self._create_steps())

    async def acreate(self) -> None:
        """Async twin of ``create``."""
        if self.engine.capabilities.inline_async:
            return self._run(self._create_steps())
        await self._arun(self._create_steps())

    def exists(self, session_key: str) -> bool:
        """True when an unexpired session is stored under ``session_key``."""
        return self._run(self._exists_steps(session_key))

    async def aexists(self, session_key: str) -> bool:
        """Async twin of ``exists``."""
        return await self._arun(self._exists_steps(session_key))

    def delete(self, session_key: str | None = None) -> None:
        """Delete the stored session (this one's by default); the data in memory stays."""
        self._run(self._delete_steps(session_key))

    async def adelete(self, session_key: str | None = None) -> None:
        """Async twin of ``delete``."""
        await self._arun(self._delete_steps(session_key))

    def flush(self) -> None:
        """Delete the stored session and empty this one (log-out)."""
        self._run(self._flush_steps())

    async def aflush(self) -> None:
        """Async twin of ``flush``."""
        await self._arun(self._flush_steps())

    def cycle_key(self) -> None:
        """Keep the data under a new key and delete the old one (do it at log-in)."""
        self._run(self._cycle_steps())

    async def acycle_key(self) -> None:
        """Async twin of ``cycle_key``."""
        await self._arun(self._cycle_steps())

    @classmethod
    def clear_expired(cls) -> int:
        """Remove expired sessions from the engine; return how many."""
        return int(engine_call(cls.engine, "clear_expired"))

    @classmethod
    async def aclear_expired(cls) -> int:
        """Async twin of ``clear_expired``."""
        return int(await engine_acall(cls.engine, "clear_expired"))
