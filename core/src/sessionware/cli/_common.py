"""What every command shares: settings from file, environment and flags; plugin discovery."""

from __future__ import annotations

import argparse
import json
import warnings
from typing import Any

from .._config import SessionConfig
from .._plugins import PluginWarning, host

__all__ = ["config_from", "parse_option", "quiet_discovery"]


def parse_option(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--option takes NAME=VALUE, got {text!r}")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare string such as a path
    return name.strip(), value


def config_from(args: argparse.Namespace) -> SessionConfig:
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


def quiet_discovery() -> list[str]:
    """Discover plugins, turning load warnings into lines (the listing shows them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginWarning)
        host.discover()
    return [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
