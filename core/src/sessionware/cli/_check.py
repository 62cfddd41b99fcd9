"""``sessionware check``: configuration, secret, engine reachability and middleware order."""

from __future__ import annotations

import argparse
import os
from typing import TextIO

from .._engine import EngineBase
from .._errors import SessionwareError
from .._plugins import get_engine_class, get_serializer_class
from .._secrets import HOW_TO_GENERATE
from .._session import build_engine, build_serializer
from ._common import config_from, quiet_discovery

__all__ = ["cmd_check"]


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
    problems += [f"plugin: {m}" for m in quiet_discovery()]
    try:
        config = config_from(args)
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
