"""The ``sessionware`` command line: plugins, engines, serializers, clear-expired, check, demo,
new-plugin.

Settings come from ``--config FILE`` (TOML), then ``SESSIONWARE_*`` variables,
then ``--engine``/``--serializer``/``--option`` flags. Exit codes: 0 success,
1 a problem was found (``check``, a broken plugin for ``plugins``) or the
command failed, 2 bad usage, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from .. import __version__
from .._errors import SessionwareError
from ._check import cmd_check
from ._clear_expired import cmd_clear_expired
from ._common import config_from, parse_option
from ._listing import cmd_engines, cmd_plugins, cmd_serializers

__all__ = ["main"]


# -- demo ---------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from ._demo import serve

    config = config_from(args)
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
                type=parse_option,
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
