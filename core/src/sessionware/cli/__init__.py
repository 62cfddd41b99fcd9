"""The ``sessionware`` command line: plugins, engines, serializers, clear-expired, check, demo,
new-plugin.

Settings come from ``--config FILE`` (TOML), then ``SESSIONWARE_*`` variables,
then ``--engine``/``--serializer``/``--option`` flags. Exit codes: 0 success,
1 a problem was found (``check``, a broken plugin for ``plugins``) or the
command failed, 2 bad usage, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from .. import __version__
from .._config import SessionConfig
from .._engine import EngineBase
from .._errors import SessionwareError
from .._plugins import PluginWarning, get_engine_class, get_serializer_class, host, list_plugins
from .._secrets import HOW_TO_GENERATE
from .._session import build_engine, build_serializer

__all__ = ["main"]


def _parse_option(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--option takes NAME=VALUE, got {text!r}")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare string such as a path
    return name.strip(), value


def _config(args: argparse.Namespace) -> SessionConfig:
    overrides: dict[str, Any] = {}
    if getattr(args, "engine", None):
        overrides["engine"] = args.engine
    if getattr(args, "serializer", None):
        overrides["serializer"] = args.serializer
    config = SessionConfig.load(toml=args.config, **overrides)
    options = dict(getattr(args, "option", None) or [])
    if options:
        config = config.replace(engine_options={**config.engine_options, **options})
    return config


def _quiet_discovery() -> list[str]:
    """Discover plugins, turning load warnings into lines (the listing shows them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginWarning)
        host.discover()
    return [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]


# -- plugins / engines / serializers -------------------------------------------


def _broken(plugins: Sequence[Any]) -> int:
    """1 (and a line on stderr naming each) when a plugin failed to load, else 0."""
    broken = [p for p in plugins if p.error]
    if not broken:
        return 0
    names = ", ".join(f"{p.name} ({p.distribution or 'in code'})" for p in broken)
    sys.stderr.write(
        f"sessionware: {len(broken)} plugin(s) failed to load: {names}; reinstall or "
        "uninstall them, or list them in SESSIONWARE_DISABLE_PLUGINS\n"
    )
    return 1


def cmd_plugins(args: argparse.Namespace, out: TextIO) -> int:
    _quiet_discovery()
    plugins = list_plugins()
    if args.json:
        json.dump([p.as_dict() for p in plugins], out, indent=2)
        out.write("\n")
        return _broken(plugins)
    if not plugins:
        out.write(
            "no sessionware plugins installed; try: pip install sessionware-db sessionware-json\n"
        )
        return 0
    rows = [("PLUGIN", "DISTRIBUTION", "VERSION", "ENGINES", "SERIALIZERS")]
    for p in plugins:
        rows.append(
            (
                p.name,
                p.distribution or "(in code)",
                p.version or "-",
                ",".join(p.engines) or "-",
                ",".join(p.serializers) or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
    for p in plugins:
        if p.error:
            out.write(f"\nBROKEN {p.name} ({p.distribution}): {p.error}\n")
    return _broken(plugins)


def _describe_class(cls: type[Any]) -> str:
    doc = (inspect.getdoc(cls) or "").splitlines()
    return doc[0] if doc else ""


def _options_of(cls: type[Any]) -> str:
    parts = []
    for name, p in inspect.signature(cls).parameters.items():
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and name not in {
            "secret_key",
            "fallback_keys",
        }:
            parts.append(name if p.default is p.empty else f"{name}={p.default!r}")
    return ", ".join(parts)


def cmd_engines(args: argparse.Namespace, out: TextIO) -> int:
    _quiet_discovery()
    if not host.engines:
        out.write("no engines installed; the default is: pip install sessionware-db\n")
        return 0
    for name in sorted(host.engines):
        reg = host.engines[name]
        caps = reg.cls.capabilities
        flags = [
            f
            for f in (
                "server_side",
                "clear_expired",
                "native_async",
                "local",
                "shared_across_processes",
            )
            if getattr(caps, f, False)
        ]
        out.write(
            f"{name}  ({reg.plugin.distribution or 'in code'} {reg.plugin.version or ''})".rstrip()
        )
        out.write(
            f"\n    {_describe_class(reg.cls)}\n    options: {_options_of(reg.cls) or 'none'}\n"
        )
        out.write(f"    capabilities: {', '.join(flags) or 'none'}\n")
    return 0


def cmd_serializers(args: argparse.Namespace, out: TextIO) -> int:
    _quiet_discovery()
    if not host.serializers:
        out.write("no serializers installed; the default is: pip install sessionware-json\n")
        return 0
    for name in sorted(host.serializers):
        reg = host.serializers[name]
        out.write(
            f"{name}  ({reg.plugin.distribution or 'in code'} {reg.plugin.version or ''})".rstrip()
        )
        out.write(f"\n    {_describe_class(reg.cls)}\n")
    return 0


# -- clear-expired ------------------------------------------------------------------


class _Progress:
    """The progress display of ``clear-expired``: a bar with a total and ETA when the engine
    counted what it will remove, else a running count; on a terminal only (stderr).

    It is also the ``progress`` hook handed to the engine, so it always knows
    the last count the engine reported, terminal or not, and the place where a
    Ctrl-C takes effect (see :meth:`interrupt`): the engines call it after
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
    config = _config(args)
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


# -- check --------------------------------------------------------------------------


def _check_middleware(spec: str) -> list[str]:
    from ..http.middleware import check_order

    factories = []
    for ref in [s.strip() for s in spec.split(",") if s.strip()]:
        module_name, _, attr = ref.partition(":")
        try:
            module = __import__(module_name, fromlist=["_"])
            factories.append(getattr(module, attr))
        except (ImportError, AttributeError) as exc:
            return [f"middleware {ref!r} cannot be imported: {exc}"]
    try:
        check_order(factories)
    except SessionwareError as exc:
        return [str(exc)]
    return []


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    problems: list[str] = []
    notes: list[str] = []
    problems += [f"plugin: {m}" for m in _quiet_discovery()]
    try:
        config = _config(args)
    except SessionwareError as exc:
        # SessionConfig applies the one secret rule (sessionware.signing.check_secret).
        secret = getattr(exc, "field", None) in ("secret_key", "fallback_keys")
        out.write(f"PROBLEM {'secret' if secret else 'config'}: {exc}\n")
        out.write("1 problem(s) found\n")
        return 1
    notes.append(
        f"engine {config.engine!r}, serializer {config.serializer!r}, "
        f"cookie {config.cookie_name!r} (max-age {config.cookie_age}s)"
    )
    signs = False
    try:
        engine_cls = get_engine_class(config.engine)
        signs = bool(getattr(engine_cls, "uses_secret", False))
    except SessionwareError as exc:
        problems.append(f"engine: {exc}")
        engine_cls = None
    try:
        serializer_cls = get_serializer_class(config.serializer)
        signs = signs or bool(getattr(serializer_cls, "uses_secret", False))
    except SessionwareError as exc:
        problems.append(f"serializer: {exc}")
    if signs and not config.secret_key:
        problems.append(
            "secret: the engine or serializer signs data but secret_key is not set "
            f"(SESSIONWARE_SECRET_KEY); generate one with: {HOW_TO_GENERATE}"
        )
    if engine_cls is not None:
        capabilities = getattr(engine_cls, "capabilities", None)
        if capabilities is not None and not capabilities.shared_across_processes:
            workers = args.workers or int(os.environ.get("WEB_CONCURRENCY", "1") or 1)
            message = (
                f"the {config.engine!r} engine keeps sessions in one process; "
                f"with several worker processes each has its own sessions"
            )
            if workers > 1:
                problems.append(
                    f"engine: {message} ({workers} workers configured); use the db or redis engine"
                )
            else:
                notes.append(message)
    if engine_cls is not None and not problems:
        try:
            engine = build_engine(config)  # options are valid and the store opens
            try:
                # Optional (third-party engines may lack it): raises when the store
                # cannot be used now, e.g. a Redis URL nothing listens on.
                health = getattr(engine, "health", None)
                if health is not None:
                    health()
                    if getattr(type(engine), "health", None) is not EngineBase.health:
                        notes.append(f"the {config.engine!r} engine's health check passed")
            finally:
                engine.close()
            build_serializer(config)
        except SessionwareError as exc:
            problems.append(f"engine: {exc}")
    if not config.cookie_secure:
        notes.append("cookie_secure is off: turn it on for sites served over HTTPS")
    if args.middleware:
        problems += [f"middleware: {m}" for m in _check_middleware(args.middleware)]
    for line in notes:
        out.write(f"ok      {line}\n")
    for line in problems:
        out.write(f"PROBLEM {line}\n")
    out.write("no problems found\n" if not problems else f"{len(problems)} problem(s) found\n")
    return 1 if problems else 0


# -- demo ---------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from ._demo import serve

    config = _config(args)
    return serve(config, host=args.host, port=args.port, threads=args.threads, out=out)


# -- new-plugin -----------------------------------------------------------------------


def _plugin_name(text: str) -> str:
    from ._scaffold import check_name

    try:
        return check_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_new_plugin(args: argparse.Namespace, out: TextIO) -> int:
    from pathlib import Path

    from ._scaffold import Plugin, generate, next_steps

    plugin = Plugin(args.name, args.kind)
    directory = Path(args.dir) if args.dir else Path(plugin.distribution)
    try:
        written = generate(args.name, args.kind, directory, force=args.force)
    except (FileExistsError, ValueError) as exc:
        sys.stderr.write(f"sessionware: error: {exc}\n")
        return 1
    out.write(
        f"created {plugin.distribution}, the {args.name!r} {args.kind} "
        f"(package {plugin.package}), in {directory}:\n"
    )
    for name in sorted(path.relative_to(directory).as_posix() for path in written):
        out.write(f"  {name}\n")
    out.write("\nnext steps:\n")
    for line in next_steps(directory):
        out.write(f"  {line}\n")
    return 0


# -- entry point ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the CLI reference docs)."""
    parser = argparse.ArgumentParser(
        prog="sessionware", description="Sessions for any Python web app: inspect and operate."
    )
    parser.add_argument("--version", action="version", version=f"sessionware {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser, engine_flags: bool = True) -> None:
        p.add_argument("--config", metavar="FILE", help="TOML file with a [sessionware] table")
        if engine_flags:
            p.add_argument("--engine", help="engine name (default: db, or the config's)")
            p.add_argument("--serializer", help="serializer name (default: json)")
            p.add_argument(
                "--option",
                "-o",
                action="append",
                type=_parse_option,
                metavar="NAME=VALUE",
                help="an engine option; repeatable",
            )

    p = sub.add_parser("plugins", help="list installed plugins with versions and load errors")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_plugins)
    sub.add_parser("engines", help="list installed engines, options and capabilities").set_defaults(
        func=cmd_engines
    )
    sub.add_parser("serializers", help="list installed serializers").set_defaults(
        func=cmd_serializers
    )
    p = sub.add_parser("clear-expired", help="remove expired sessions from the engine")
    with_config(p)
    p.set_defaults(func=cmd_clear_expired)
    p = sub.add_parser("check", help="check configuration, secret, engine and middleware order")
    with_config(p)
    p.add_argument(
        "--middleware",
        metavar="MOD:ATTR,...",
        help="middleware factories in order, to check provides/requires",
    )
    p.add_argument("--workers", type=int, default=0, help="worker processes the app runs with")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("demo", help="run the demo web app")
    with_config(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--threads", type=int, default=4)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser(
        "new-plugin",
        help="generate a plugin distribution (engine or serializer) that passes the kit",
        description="Generate a complete plugin distribution in ./sessionware-NAME: "
        "pyproject.toml with the entry point, the hook module, a working engine or "
        "serializer, README and tests running the conformance kit.",
    )
    p.add_argument(
        "name",
        type=_plugin_name,
        metavar="NAME",
        help="the plugin's name, a lowercase identifier (e.g. mystore)",
    )
    p.add_argument(
        "--kind", choices=("engine", "serializer"), default="engine", help="default: engine"
    )
    p.add_argument("--dir", metavar="DIR", help="where to create it (default: ./sessionware-NAME)")
    p.add_argument(
        "--force",
        action="store_true",
        help="write over the generated files in an existing DIR (other files are left alone)",
    )
    p.set_defaults(func=cmd_new_plugin)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    stream = out or sys.stdout
    try:
        code: int = args.func(args, stream)
    except SessionwareError as exc:
        sys.stderr.write(f"sessionware: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("sessionware: interrupted\n")
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
