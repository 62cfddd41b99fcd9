"""``count_lost_updates``: race read-modify-write cycles on one session and count the losses.

Two (or more) workers each run ``cycles`` cycles of load, add one, save on
the same stored session, as two requests of one user do. Whatever the final
session lacks of ``workers * cycles`` increments was lost: overwritten by a
writer that had loaded an older copy. The cycles use the engine's raw
methods (bytes in, bytes out; the session-level merge is the core's), in one
of three modes:

- ``"plain"``: ``load`` then ``save``, as every session library does; losses
  expected under contention (this mode measures them, it asserts nothing);
- ``"versioned"``: ``load_versioned`` then ``save_versioned``, starting the
  cycle again on ``VersionConflict``: an engine that keeps the contract loses
  nothing;
- ``"locked"``: ``load`` then ``save`` inside ``acquire_lock``/``release_lock``
  (polled every 100 microseconds): nothing lost either.

Workers are separate interpreters (``processes=True``: each builds its own
engine, so the store must be shared across processes) or threads. Nothing is
pickled: a process worker gets the engine's importable name and JSON options.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from .._engine import Engine
from .._errors import VersionConflict
from .._keys import new_session_key
from ._helpers import LockingEngine, VersionedEngine, capabilities_of

__all__ = ["LostUpdates", "count_lost_updates"]

Mode = Literal["plain", "versioned", "locked"]
MODES: tuple[str, ...] = ("plain", "versioned", "locked")
#: The lease each locked cycle takes, and how long it sleeps when the lock is busy.
LOCK_TTL = 10.0
LOCK_POLL = 0.0001
#: How long the session lives (it must outlast the race).
SESSION_LIFE = 3600.0


@dataclass(frozen=True)
class LostUpdates:
    """What ``count_lost_updates`` measured.

    ``lost`` is the number of increments missing from the final session
    (``expected - counted``); ``conflicts`` the versioned saves refused and
    retried; ``busy`` the lock attempts that found the lock held; ``seconds``
    the slowest worker's time; ``overlap`` the seconds during which every
    worker was running (a race without overlap proves nothing, so assert
    ``overlapped``). ``final`` is the session as stored at the end.
    """

    mode: str
    workers: int
    cycles: int
    processes: bool
    same_key: bool
    lost: int
    conflicts: int
    busy: int
    seconds: float
    overlap: float
    final: dict[str, Any] = field(repr=False)

    @property
    def expected(self) -> int:
        """The increments made: ``workers * cycles``."""
        return self.workers * self.cycles

    @property
    def lost_fraction(self) -> float:
        """``lost / expected``."""
        return self.lost / self.expected if self.expected else 0.0

    @property
    def overlapped(self) -> bool:
        """True when all workers ran at the same time for a while."""
        return self.overlap > 0

    def __str__(self) -> str:
        how = "processes" if self.processes else "threads"
        keys = "one shared key" if self.same_key else "each its own key"
        return (
            f"{self.mode}: {self.workers} {how} x {self.cycles} cycles ({keys}): "
            f"{self.lost} lost ({self.lost_fraction:.1%}), {self.conflicts} conflicts retried, "
            f"{self.busy} busy lock attempts, {self.seconds:.2f} s, overlap {self.overlap:.2f} s"
        )


def _cycles(engine: Engine, key: str, field_name: str, mode: str, cycles: int) -> dict[str, Any]:
    """Run ``cycles`` read-modify-write cycles adding one to ``field_name``; the tallies."""
    later = time.time() + SESSION_LIFE
    conflicts = busy = 0
    began = time.time()
    started = time.perf_counter()
    for _ in range(cycles):
        if mode == "versioned":
            versioned = cast(VersionedEngine, engine)
            while True:
                loaded = versioned.load_versioned(key)
                if loaded is None:
                    raise RuntimeError(f"the raced session {key[:6]}... vanished")
                state = json.loads(loaded[0])
                state[field_name] = state.get(field_name, 0) + 1
                try:
                    versioned.save_versioned(key, json.dumps(state).encode(), later, loaded[1])
                    break
                except VersionConflict:
                    conflicts += 1
            continue
        token = None
        if mode == "locked":
            locking = cast(LockingEngine, engine)
            while (token := locking.acquire_lock(key, LOCK_TTL)) is None:
                busy += 1
                time.sleep(LOCK_POLL)
        try:
            raw = engine.load(key)
            if raw is None:
                raise RuntimeError(f"the raced session {key[:6]}... vanished")
            state = json.loads(raw)
            state[field_name] = state.get(field_name, 0) + 1
            engine.save(key, json.dumps(state).encode(), later)
        finally:
            if token is not None:
                cast(LockingEngine, engine).release_lock(key, token)
    return {
        "conflicts": conflicts,
        "busy": busy,
        "seconds": time.perf_counter() - started,
        "span": [began, time.time()],
    }


def _resolve(spec: str) -> Callable[..., Any]:
    """``"package.module:attribute"`` -> the object it names."""
    module, _, attribute = spec.partition(":")
    target: Any = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    return cast(Callable[..., Any], target)


def _spec_of(factory: str | Callable[..., Any]) -> str:
    """The importable name of ``factory``, checked to lead back to it."""
    if isinstance(factory, str):
        if ":" not in factory:
            raise ValueError(f"{factory!r} is not an importable name like 'package.module:Class'")
        return factory
    spec = f"{getattr(factory, '__module__', '')}:{getattr(factory, '__qualname__', '')}"
    try:
        found = _resolve(spec)
    except (ImportError, AttributeError, ValueError):
        found = None
    if found is not factory:
        raise ValueError(
            f"processes=True needs a class or function importable by name (module level, not "
            f"a lambda or a local function), or its 'package.module:name'; {factory!r} is not"
        )
    return spec


def _worker_main() -> None:
    """Entry of a worker process: JSON job on stdin, "ready", wait for "go", JSON tallies."""
    job = json.loads(sys.stdin.readline())
    engine = cast(Engine, _resolve(job["spec"])(**job["options"]))
    try:
        print("ready", flush=True)
        sys.stdin.readline()  # the go line: every worker is up
        tallies = _cycles(engine, job["key"], job["field"], job["mode"], job["cycles"])
    finally:
        engine.close()
    print(json.dumps(tallies), flush=True)


_WORKER = "from sessionware.testing._lost_updates import _worker_main; _worker_main()"


def _in_processes(
    spec: str,
    options: Mapping[str, Any],
    key: str,
    fields: list[str],
    mode: str,
    cycles: int,
    timeout: float,
) -> list[dict[str, Any]]:
    jobs = [
        json.dumps(
            {
                "spec": spec,
                "options": dict(options),
                "key": key,
                "field": name,
                "mode": mode,
                "cycles": cycles,
            },
            default=os.fspath,  # paths in the options
        )
        for name in fields
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in fields
    ]
    try:
        for proc, job in zip(procs, jobs, strict=True):
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(job + "\n")
            proc.stdin.flush()
        for proc in procs:  # every interpreter up and its engine built: the cycles overlap
            assert proc.stdout is not None
            if proc.stdout.readline() != "ready\n":
                _, err = proc.communicate(timeout=timeout)
                raise RuntimeError(f"a worker process failed to start:\n{err}")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        tallies = []
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"a worker process failed (exit {proc.returncode}):\n{err}")
            tallies.append(json.loads(out))
        return tallies
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def _in_threads(
    engines: list[Engine], key: str, fields: list[str], mode: str, cycles: int, timeout: float
) -> list[dict[str, Any]]:
    barrier = threading.Barrier(len(fields))
    tallies: list[dict[str, Any] | None] = [None] * len(fields)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait(timeout)
            tallies[index] = _cycles(engines[index], key, fields[index], mode, cycles)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(fields))]
    interval = sys.getswitchinterval()
    # Switch threads every few bytecodes, so that the cycles really interleave.
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
    finally:
        sys.setswitchinterval(interval)
    if errors:
        raise errors[0]
    if any(t is None for t in tallies):
        raise TimeoutError(f"a worker thread did not finish within {timeout} s")
    return [t for t in tallies if t is not None]


def count_lost_updates(
    engine: str | Callable[..., Any] | Engine,
    options: Mapping[str, Any] | None = None,
    *,
    mode: Mode = "plain",
    workers: int = 2,
    cycles: int = 1000,
    processes: bool = True,
    same_key: bool = False,
    timeout: float = 120.0,
) -> LostUpdates:
    """Race ``workers`` x ``cycles`` read-modify-write cycles on one new session; count losses.

    ``engine`` builds the engines, called with ``**options``:

    - ``processes=True``: a class or function importable by name, or its
      ``"package.module:name"``; each worker process builds its own engine
      with ``options`` (JSON values; paths become strings), and this process
      builds one more to create the session and read the result. The store
      must be shared across processes (a path, a URL).
    - ``processes=False`` (threads): the same, or an engine instance that
      every thread shares (an in-process store such as a cache). Engines the
      helper built are closed at the end; an instance you pass is not.

    ``mode`` is ``"plain"``, ``"versioned"`` or ``"locked"`` (see the module);
    the engine must declare the capability the mode uses. With
    ``same_key=False`` each worker increments its own top-level field of the
    session (``"w0"``, ``"w1"``, ...: the case the session's merge handles);
    with ``same_key=True`` all increment ``"n"`` (only the lock, or a versioned
    retry of the whole cycle, keeps those). Returns a ``LostUpdates``:
    assert ``report.overlapped`` and, for ``"versioned"`` and ``"locked"``,
    ``report.lost == 0``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if workers < 2 or cycles < 1:
        raise ValueError("a race needs at least 2 workers and 1 cycle each")
    options = dict(options or {})
    shared: Engine | None = None
    if isinstance(engine, Engine) and not isinstance(engine, type):
        if processes:
            raise ValueError(
                "processes=True builds an engine in each worker: pass the engine's class or "
                "factory (and options), not an instance"
            )
        shared = engine
    made: list[Engine] = []

    def build() -> Engine:
        factory = _resolve(engine) if isinstance(engine, str) else engine
        built = cast(Engine, cast(Callable[..., Any], factory)(**options))
        made.append(built)
        return built

    spec = _spec_of(cast(str | Callable[..., Any], engine)) if processes else ""
    try:
        parent = shared if shared is not None else build()
        caps = capabilities_of(parent)
        if mode == "versioned" and not caps.versioned:
            raise ValueError("mode='versioned' needs an engine that declares versioned=True")
        if mode == "locked" and not caps.locking:
            raise ValueError("mode='locked' needs an engine that declares locking=True")
        if processes and not caps.shared_across_processes:
            raise ValueError(
                "the engine declares shared_across_processes=False: race it with processes=False"
            )
        key = new_session_key()
        parent.save(key, b"{}", time.time() + SESSION_LIFE, must_create=True)
        fields = ["n" if same_key else f"w{index}" for index in range(workers)]
        if processes:
            tallies = _in_processes(spec, options, key, fields, mode, cycles, timeout)
        else:
            engines = [shared if shared is not None else build() for _ in fields]
            tallies = _in_threads(engines, key, fields, mode, cycles, timeout)
        raw = parent.load(key)
        if raw is None:
            raise RuntimeError("the raced session is gone at the end of the race")
        final = json.loads(raw)
        parent.delete(key)
    finally:
        for built in made:
            built.close()
    counted = sum(final.get(name, 0) for name in set(fields))
    spans = [tally["span"] for tally in tallies]
    return LostUpdates(
        mode=mode,
        workers=workers,
        cycles=cycles,
        processes=processes,
        same_key=same_key,
        lost=workers * cycles - counted,
        conflicts=sum(tally["conflicts"] for tally in tallies),
        busy=sum(tally["busy"] for tally in tallies),
        seconds=max(tally["seconds"] for tally in tallies),
        overlap=min(end for _, end in spans) - max(start for start, _ in spans),
        final=final,
    )
