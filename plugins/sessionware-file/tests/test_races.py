"""Interleavings of readers and writers, forced deterministically with pauses.

Each test stops one thread at a precise point (between open and read, between
"it still exists" and the write, between O_EXCL and the lock, between the
purge's first look and its lock) and lets another operation run there.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sessionware_file import HEADER_SIZE, FileEngine, _engine, _files, _writes

import sessionware
from sessionware.testing import expired, expires_in

PatchOs = Callable[[str, Callable[..., Any]], None]
WAIT = 20.0  # seconds before a stuck test fails instead of hanging


def replace_fcntl(monkeypatch: pytest.MonkeyPatch, replacement: type) -> None:
    """Replace ``fcntl`` in every engine module that takes a lock."""
    for module in (_engine, _files, _writes):
        monkeypatch.setattr(module, "fcntl", replacement)


def new_key() -> str:
    return sessionware.new_session_key()


class Pause:
    """Stop the thread that hits it until the test releases it."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.released = threading.Event()

    def __call__(self) -> None:
        self.reached.set()
        assert self.released.wait(WAIT), "the test never released the pause"

    def wait_reached(self) -> None:
        assert self.reached.wait(WAIT), "the paused thread never got there"


class Worker(threading.Thread):
    """Run ``fn`` in a thread and keep its result or exception."""

    def __init__(self, fn: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.fn = fn
        self.result: object = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as exc:
            self.error = exc

    def finish(self) -> object:
        self.join(WAIT)
        assert not self.is_alive(), "worker did not finish"
        return self.result


@pytest.fixture
def make(make_engine: Callable[..., FileEngine]) -> Callable[..., FileEngine]:
    """Another engine on the same directory, as a second process would have."""
    return make_engine


# -- a writer meeting a reader that holds the file open --------------------------------


def pause_reads(patch_os: PatchOs, pause: Pause) -> None:
    """Pause the first ``os.read`` of a worker thread (the load has its shared lock)."""
    main = threading.current_thread()

    def read(fd: int, n: int) -> bytes:
        if threading.current_thread() is not main and not pause.reached.is_set():
            pause()
        return os.read(fd, n)

    patch_os("read", read)


def test_delete_waits_for_a_load_between_open_and_read(
    engine: FileEngine, make: Callable[..., FileEngine], patch_os: PatchOs
) -> None:
    key = new_key()
    engine.save(key, b"data", expires_in(), must_create=True)
    pause = Pause()
    pause_reads(patch_os, pause)
    load = Worker(lambda: engine.load(key))
    pause.wait_reached()
    deleter = make()
    delete = Worker(lambda: deleter.delete(key))
    delete.join(0.3)
    assert delete.is_alive(), "delete went through while a load held the session"
    pause.released.set()
    # The load began first and sees the session whole; then the delete lands.
    assert load.finish() == b"data"
    delete.finish()
    assert delete.error is None
    assert engine.load(key) is None


def plant_previous_format(engine: FileEngine, key: str, data: bytes) -> None:
    """A live session file as earlier releases wrote it (format 1): its update renames."""
    path = Path(engine.path) / f"{engine.prefix}{key}"
    path.write_bytes(struct.pack(">4sB3xdQ", b"SWSF", 1, expires_in(), len(data)) + data)
    path.chmod(0o600)


@pytest.mark.parametrize("fsync", [False, True])
def test_update_during_a_load_gives_the_old_bytes_whole_then_the_new(
    make: Callable[..., FileEngine], patch_os: PatchOs, fsync: bool
) -> None:
    engine = make(fsync=fsync)
    key = new_key()
    engine.save(key, b"old" * 100, expires_in(), must_create=True)
    pause = Pause()
    pause_reads(patch_os, pause)
    load = Worker(lambda: engine.load(key))
    pause.wait_reached()
    updater = make(fsync=fsync)
    update = Worker(lambda: updater.save(key, b"new", expires_in()))
    update.join(0.3)
    assert update.is_alive(), "an update went through while a load held the session"
    pause.released.set()
    assert load.finish() == b"old" * 100
    assert update.finish() == key and update.error is None
    assert engine.load(key) == b"new"


def test_a_load_waits_for_an_update_in_progress_and_sees_the_new_bytes(
    engine: FileEngine, make: Callable[..., FileEngine], patch_os: PatchOs
) -> None:
    key = new_key()
    engine.save(key, b"long" * 50, expires_in(), must_create=True)
    pause = Pause()

    def pwrite_header_later(fd: int, data: bytes, offset: int) -> int:
        if offset < HEADER_SIZE:
            pause()  # the new data is written, the header that makes it current is not
        return os.pwrite(fd, data, offset)

    patch_os("pwrite", pwrite_header_later)
    update = Worker(lambda: engine.save(key, b"short", expires_in()))
    pause.wait_reached()
    reader = make()
    load = Worker(lambda: reader.load(key))
    load.join(0.3)
    assert load.is_alive(), "a load read a file while it was being rewritten"
    pause.released.set()
    update.finish()
    assert update.error is None
    assert load.finish() == b"short"


def test_without_the_shared_lock_a_load_can_lose_a_session_to_two_updates(
    engine: FileEngine,
    make: Callable[..., FileEngine],
    patch_os: PatchOs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Proof that the readers' LOCK_SH is still needed with two slots: with flock
    # disabled, a load that has read the headers and then waits while two updates
    # complete finds the slot it chose overwritten by the second one, and the
    # other one's header it read stale: it drops a live session. (A session
    # larger than the first read, so its slot is read on its own.)
    class NoLock:
        LOCK_EX = fcntl.LOCK_EX
        LOCK_SH = fcntl.LOCK_SH

        @staticmethod
        def flock(fd: int, op: int) -> None:
            return None

    key = new_key()
    big = 100_000
    engine.save(key, b"0" * big, expires_in(), must_create=True)
    replace_fcntl(monkeypatch, NoLock)
    pause = Pause()
    main = threading.current_thread()

    def pread(fd: int, n: int, offset: int) -> bytes:
        if threading.current_thread() is not main and offset >= HEADER_SIZE:
            pause()
        return os.pread(fd, n, offset)

    patch_os("pread", pread)
    load = Worker(lambda: make().load(key))
    pause.wait_reached()
    engine.save(key, b"1" * big, expires_in())
    engine.save(key, b"2" * big, expires_in())
    pause.released.set()
    assert load.finish() is None  # neither the old session nor a new one
    assert engine.load(key) == b"2" * big


def test_delete_between_open_and_fstat_is_not_an_error(
    engine: FileEngine, patch_os: PatchOs
) -> None:
    key = new_key()
    engine.save(key, b"data", expires_in(), must_create=True)
    path = str(Path(engine.path) / f"sessionware-{key}")

    def fstat_after_delete(fd: int) -> os.stat_result:
        if os.path.exists(path):
            os.unlink(path)
        return os.fstat(fd)

    patch_os("fstat", fstat_after_delete)
    assert engine.load(key) in (b"data", None)
    assert engine.exists(key) is False


def test_file_shrinking_during_the_read_loads_as_none(
    engine: FileEngine, patch_os: PatchOs
) -> None:
    # Another program may change the file behind our locks: a short read is a broken file.
    key = new_key()
    engine.save(key, b"data" * 50, expires_in(), must_create=True)

    def short_read(fd: int, n: int) -> bytes:
        return os.read(fd, max(n // 2, 1)) if n > 8 else b""

    patch_os("read", short_read)
    assert engine.load(key) is None


# -- a delete racing an update: the window between "it exists" and the rename --------------


def pause_in(engine: FileEngine, name: str, pause: Pause, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pause the first call of ``engine.<name>``, run in a worker thread."""
    real = getattr(engine, name)
    main = threading.current_thread()

    def paused(*args: Any) -> Any:
        if threading.current_thread() is not main and not pause.reached.is_set():
            pause()
        return real(*args)

    monkeypatch.setattr(engine, name, paused)


WRITES = {
    "slot": (False, "_write_slot"),
    "slot, fsync": (True, "_write_slot"),
    "previous format, rename": (False, "_write_replace"),
}


@pytest.mark.parametrize(("fsync", "write"), WRITES.values(), ids=WRITES.keys())
def test_delete_waits_for_an_update_between_its_check_and_its_write(
    make: Callable[..., FileEngine], monkeypatch: pytest.MonkeyPatch, fsync: bool, write: str
) -> None:
    engine = make(fsync=fsync)
    key = new_key()
    if write == "_write_replace":
        plant_previous_format(engine, key, b"v1")
    else:
        engine.save(key, b"v1", expires_in(), must_create=True)
    pause = Pause()
    pause_in(engine, write, pause, monkeypatch)  # the update has checked: live
    update = Worker(lambda: engine.save(key, b"v2", expires_in()))
    pause.wait_reached()
    deleter = make(fsync=fsync)
    delete = Worker(lambda: deleter.delete(key))
    delete.join(0.3)
    assert delete.is_alive(), "delete went through while an update held the session"
    pause.released.set()
    assert update.finish() == key and update.error is None
    delete.finish()
    assert delete.error is None
    # The update came first, then the delete: the session is gone, not resurrected.
    assert engine.load(key) is None
    assert os.listdir(engine.path) == []


def test_update_waits_for_a_delete_and_then_refuses_to_resurrect(
    engine: FileEngine, make: Callable[..., FileEngine], patch_os: PatchOs
) -> None:
    key = new_key()
    engine.save(key, b"v1", expires_in(), must_create=True)
    pause = Pause()

    def unlink_later(path: str) -> None:
        pause()
        os.unlink(path)

    patch_os("unlink", unlink_later)
    delete = Worker(lambda: engine.delete(key))
    pause.wait_reached()  # the delete holds the lock, the file is still there
    updater = make()
    update = Worker(lambda: updater.save(key, b"v2", expires_in()))
    update.join(0.3)
    assert update.is_alive(), "update went through while a delete held the session"
    pause.released.set()
    delete.finish()
    update.finish()
    assert isinstance(update.error, sessionware.UpdateError)
    assert engine.load(key) is None
    assert os.listdir(engine.path) == []


def test_without_the_lock_the_same_interleaving_resurrects_the_session(
    make: Callable[..., FileEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Proof that the lock is what closes the window: with flock disabled, a
    # delete that lands between the update's check and its rename is undone.
    # (Written into a slot, the update would land in the unlinked file instead:
    # the rename that converts a file of the previous format is the write that
    # can resurrect.)
    class NoLock:
        LOCK_EX = fcntl.LOCK_EX
        LOCK_SH = fcntl.LOCK_SH

        @staticmethod
        def flock(fd: int, op: int) -> None:
            return None

    replace_fcntl(monkeypatch, NoLock)
    engine = make()
    key = new_key()
    plant_previous_format(engine, key, b"v1")
    pause = Pause()
    pause_in(engine, "_write_replace", pause, monkeypatch)
    update = Worker(lambda: engine.save(key, b"v2", expires_in()))
    pause.wait_reached()
    make().delete(key)  # goes straight through
    assert engine.load(key) is None
    pause.released.set()
    update.finish()
    assert engine.load(key) == b"v2"  # resurrected


def test_update_that_waited_on_a_replaced_file_retries_on_the_new_one(
    make: Callable[..., FileEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The update of a file of the previous format renames a new file over the
    # session: a writer queued on the old file's lock must notice and start
    # again on the new one.
    engine = make()
    key = new_key()
    plant_previous_format(engine, key, b"v1")
    pause = Pause()
    pause_in(engine, "_write_replace", pause, monkeypatch)
    first = Worker(lambda: engine.save(key, b"first", expires_in()))
    pause.wait_reached()
    second_engine = make(fsync=False)
    second = Worker(lambda: second_engine.save(key, b"second", expires_in()))
    second.join(0.3)
    assert second.is_alive()  # waiting on the lock of the file "first" will replace
    pause.released.set()
    first.finish()
    second.finish()
    assert (first.error, second.error) == (None, None)
    assert engine.load(key) == b"second"


@pytest.fixture
def stall_first_lock(monkeypatch: pytest.MonkeyPatch) -> Pause:
    """Pause the first ``flock`` taken by a thread other than the test's own."""
    pause = Pause()
    main = threading.current_thread()

    class SlowFcntl:
        LOCK_EX = fcntl.LOCK_EX
        LOCK_SH = fcntl.LOCK_SH

        @staticmethod
        def flock(fd: int, op: int) -> None:
            if threading.current_thread() is not main and not pause.reached.is_set():
                pause()
            fcntl.flock(fd, op)

    replace_fcntl(monkeypatch, SlowFcntl)
    return pause


# -- two creators of one key -------------------------------------------------------------


def test_creator_overtaken_between_o_excl_and_its_lock_loses(
    engine: FileEngine, make: Callable[..., FileEngine], stall_first_lock: Pause
) -> None:
    # C1 creates the (empty) file, then stalls before flock. C2 finds an empty file,
    # judges it dead, and replaces it. C1 must notice and report CreateError, not
    # write into the orphaned inode and claim success.
    key = new_key()
    pause = stall_first_lock
    c1 = Worker(lambda: engine.save(key, b"c1", expires_in(), must_create=True))
    pause.wait_reached()
    assert make().save(key, b"c2", expires_in(), must_create=True) == key
    pause.released.set()
    c1.finish()
    assert isinstance(c1.error, sessionware.CreateError)
    assert engine.load(key) == b"c2"


def test_a_load_during_creation_waits_and_never_sees_half_a_session(
    engine: FileEngine, make: Callable[..., FileEngine], patch_os: PatchOs
) -> None:
    key = new_key()
    pause = Pause()
    reader = make()

    def write_slowly(fd: int, data: bytes) -> int:
        half = os.write(fd, data[: max(len(data) // 2, 1)])
        pause()
        return half

    patch_os("write", write_slowly)
    create = Worker(lambda: engine.save(key, b"x" * 100, expires_in(), must_create=True))
    pause.wait_reached()
    # The creator holds its lock while it writes: the load waits for the whole file.
    load = Worker(lambda: reader.load(key))
    load.join(0.3)
    assert load.is_alive(), "a load read a session file while it was being created"
    pause.released.set()
    create.finish()
    assert create.error is None
    assert load.finish() == b"x" * 100
    assert reader.load(key) == b"x" * 100


def test_a_load_between_o_excl_and_the_creators_lock_sees_nothing(
    engine: FileEngine, make: Callable[..., FileEngine], stall_first_lock: Pause
) -> None:
    # The one moment a reader can beat the creator to the file: it is empty then,
    # and an empty file is no session, as a microsecond earlier.
    key = new_key()
    pause = stall_first_lock
    create = Worker(lambda: engine.save(key, b"x" * 100, expires_in(), must_create=True))
    pause.wait_reached()
    reader = make()
    assert reader.load(key) is None
    assert reader.exists(key) is False
    pause.released.set()
    create.finish()
    assert create.error is None
    assert reader.load(key) == b"x" * 100


# -- the purge and a renewal ---------------------------------------------------------------


@pytest.fixture
def renew_before_lock(
    engine: FileEngine, make: Callable[..., FileEngine], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, Callable[[FileEngine, str], None]], None]]:
    """Run ``action(other_engine, key)`` after the purge's first look, before its lock."""
    other = make()
    real_lock = engine._lock

    def arrange(key: str, action: Callable[[FileEngine, str], None]) -> None:
        def lock(path: str) -> Any:
            if path.endswith(key):
                action(other, key)
            return real_lock(path)

        monkeypatch.setattr(engine, "_lock", lock)

    yield arrange


def test_session_recreated_between_the_purges_look_and_its_lock_survives(
    engine: FileEngine,
    renew_before_lock: Callable[[str, Callable[[FileEngine, str], None]], None],
) -> None:
    key = new_key()
    engine.save(key, b"stale", expired(), must_create=True)
    renew_before_lock(key, lambda e, k: e.save(k, b"renewed", expires_in(), must_create=True))
    assert engine.clear_expired() == 0
    assert engine.load(key) == b"renewed"


def test_session_deleted_and_recreated_between_look_and_lock_survives(
    engine: FileEngine,
    renew_before_lock: Callable[[str, Callable[[FileEngine, str], None]], None],
) -> None:
    key = new_key()
    engine.save(key, b"stale", expired(), must_create=True)

    def delete_and_create(other: FileEngine, k: str) -> None:
        other.delete(k)
        other.save(k, b"again", expires_in(), must_create=True)

    renew_before_lock(key, delete_and_create)
    assert engine.clear_expired() == 0
    assert engine.load(key) == b"again"


def test_writer_that_keeps_losing_the_file_gives_up_with_engine_unavailable(
    engine: FileEngine, patch_os: PatchOs, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    engine.save(key, b"x", expires_in(), must_create=True)
    monkeypatch.setattr(_files, "ATTEMPTS", 5)
    real_stat = os.stat

    def always_another_inode(path: str, **kwargs: Any) -> os.stat_result:
        st = real_stat(path, **kwargs)
        values = list(st)
        values[1] += 1  # st_ino
        return os.stat_result(values)

    patch_os("stat", always_another_inode)
    with pytest.raises(sessionware.EngineUnavailable, match="retry"):
        engine.save(key, b"y", expires_in())
