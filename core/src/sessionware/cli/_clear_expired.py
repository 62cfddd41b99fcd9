"""``sessionware clear-expired``: the purge, with progress on a terminal and a clean Ctrl-C."""

from __future__ import annotations

import argparse
import inspect
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from .._session import build_engine
from ._common import config_from

__all__ = ["cmd_clear_expired"]


class _Progress:
    """The progress display of ``clear-expired``: a bar with a total and ETA when the engine
    counted what it will remove, else a running count; on a terminal only (stderr).

    It is also the ``progress`` hook handed to the engine, so it always knows
    the last count the engine reported, terminal or not, and the place where a
    Ctrl-C takes effect (see ``interrupt``): the engines call it after
    each batch they commit, so the count it holds then is exactly what was
    removed.
    """

    #: Width of the bar, in characters.
    width = 30
    #: Redraw at most this often, in seconds: a terminal is slower than a purge.
    every = 0.1

    def __init__(
        self,
        stream: TextIO,
        total: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.total = total
        self.clock = clock
        self.started = clock()
        #: The running count of removed sessions, as the engine last reported it.
        self.removed = 0
        #: A Ctrl-C asked to stop at the next report.
        self.stopping = False
        #: False once a second Ctrl-C stopped the engine wherever it was: a batch
        #: may then be committed without having been reported.
        self.exact = True
        self._drawn = float("-inf")

    def __call__(self, removed: int) -> None:
        self.removed = removed
        if self.tty:
            now = self.clock()
            if now - self._drawn >= self.every:
                self._drawn = now
                self.stream.write("\r" + self.line(now) + "\x1b[K")  # \x1b[K: erase the rest
                self.stream.flush()
        if self.stopping:
            raise KeyboardInterrupt

    def interrupt(self, signum: int, frame: object) -> None:
        """SIGINT handler: the first stops at the next report, the second at once."""
        if self.stopping:
            self.exact = False
            raise KeyboardInterrupt
        self.stopping = True
        self.stream.write("\nstopping after the current batch (Ctrl-C again to stop at once)\n")
        self.stream.flush()

    def line(self, now: float) -> str:
        """The display for the count reported so far, at time ``now``."""
        elapsed = max(now - self.started, 1e-9)
        rate = self.removed / elapsed
        if not self.total:
            return f"removed {self.removed:,} expired sessions ({rate:,.0f}/s)"
        done = min(self.removed, self.total)  # sessions that expired after the count
        filled = done * self.width // self.total
        bar = "#" * filled + "." * (self.width - filled)
        eta = _duration((self.total - done) / rate) if rate > 0 else "?"
        return (
            f"[{bar}] {done / self.total:4.0%} {done:,}/{self.total:,} removed, "
            f"{rate:,.0f}/s, ETA {eta}"
        )

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r" + self.line(self.clock()) + "\x1b[K\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def cmd_clear_expired(args: argparse.Namespace, out: TextIO) -> int:
    config = config_from(args)
    engine = build_engine(config)
    try:
        if not engine.capabilities.clear_expired:
            out.write(f"the {engine.name!r} engine expires sessions by itself; nothing to do\n")
            return 0
        if not engine.capabilities.shared_across_processes:
            out.write(
                f"the {engine.name!r} engine keeps sessions inside each app process; this "
                "command runs in a process of its own and cannot reach them. Call "
                "SessionStore.clear_expired() inside the app instead (e.g. from a periodic task)\n"
            )
            return 1
        reports = "progress" in inspect.signature(engine.clear_expired).parameters
        progress = _Progress(sys.stderr)
        started = time.monotonic()
        # With a progress hook, Ctrl-C stops the engine at its next report, never
        # between a batch's commit and its report (the count would be short).
        graceful = reports and threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, progress.interrupt) if graceful else None
        try:
            count = getattr(engine, "count_expired", None)
            progress.total = count() if count is not None and reports else None
            purge: Callable[..., int] = engine.clear_expired
            removed = purge(progress=progress) if reports else purge()
        except KeyboardInterrupt:
            progress.done()
            if not reports:
                done = "(the engine does not report progress, so how many were removed is unknown)"
            elif progress.exact:
                done = f"after removing {progress.removed} expired session(s)"
            else:
                done = f"after removing at least {progress.removed} expired session(s)"
            out.write(
                f"interrupted {done} from the {engine.name!r} engine; run the command "
                "again to remove the rest\n"
            )
            return 130
        finally:
            if graceful:
                signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
        progress.removed = removed
        progress.done()
        elapsed = time.monotonic() - started
        out.write(
            f"removed {removed} expired session(s) from the {engine.name!r} engine "
            f"in {elapsed:.2f}s\n"
        )
        return 0
    finally:
        engine.close()
