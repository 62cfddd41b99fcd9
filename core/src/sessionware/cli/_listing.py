"""``sessionware plugins``, ``engines`` and ``serializers``: what is installed, and how it is."""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .._plugins import host, list_plugins
from ._common import quiet_discovery

__all__ = ["cmd_engines", "cmd_plugins", "cmd_serializers"]


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
    quiet_discovery()
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


#: A Sphinx cross-reference role: ````CreateError````, ````save````.
_ROLE = re.compile(r":(?:py:)?(meth|class|func|data|mod|attr|exc|obj|const|type):`([^`]+)`")
#: Inline code, ````str```` or ```str```: the backticks go, the text stays.
_CODE = re.compile(r"``(.+?)``|`([^`]+)`")


def _role_text(match: re.Match[str]) -> str:
    """What a reader sees for a role: its title, or its target (``~``: without the module)."""
    role, body = match.group(1), match.group(2)
    titled = re.fullmatch(r"(.+?)\s*<([^<>]+)>", body)
    if titled:
        return titled.group(1)
    target = body.lstrip("!")
    if target.startswith("~"):
        parts = target[1:].lstrip(".").split(".")
        # a method or attribute keeps its owner: SessionStore.save, not a bare save
        return ".".join(parts[-2:] if role in ("meth", "attr") and len(parts) > 2 else parts[-1:])
    return target.lstrip(".")


def plain_text(docstring_line: str) -> str:
    """A docstring line as a terminal shows it: no roles, no inline-code backticks."""
    code = _ROLE.sub(_role_text, docstring_line)
    return _CODE.sub(lambda m: (m.group(1) or m.group(2)).strip(), code)


def _describe_class(cls: type[Any]) -> str:
    """The first line of the class's docstring, as plain text."""
    doc = (inspect.getdoc(cls) or "").splitlines()
    return plain_text(doc[0]) if doc else ""


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
    quiet_discovery()
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
    quiet_discovery()
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
