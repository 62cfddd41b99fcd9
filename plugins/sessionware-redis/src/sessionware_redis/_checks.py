"""Checks of single option values, shared by URL parsing and keyword options.

Each returns the value in canonical form or raises
:class:`~sessionware.ConfigurationError` with ``field="engine_options.<option>"``.
"""

from __future__ import annotations

import math
import os
import re

from sessionware import ConfigurationError

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_SENTINEL_PORT",
    "boolean",
    "count",
    "db_number",
    "file_path",
    "host_name",
    "host_port",
    "option_error",
    "optional_str",
    "port_number",
    "seconds",
]

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379
_HOST = re.compile(r"[A-Za-z0-9._%-]+|\[[0-9A-Fa-f:.%A-Za-z]+\]")


def option_error(option: str, message: str) -> ConfigurationError:
    """The error for a bad value of ``option``, with ``field`` set to it."""
    return ConfigurationError(
        f"redis engine option {option!r}: {message}", field=f"engine_options.{option}"
    )


def optional_str(option: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise option_error(option, f"expected a str or None, got {type(value).__name__}")
    return value


def boolean(option: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise option_error(option, f"expected True or False, got {value!r}")
    return value


def port_number(option: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise option_error(option, f"expected a TCP port (an int from 1 to 65535), got {value!r}")
    return value


def db_number(option: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise option_error(option, f"expected a database number (an int >= 0), got {value!r}")
    return value


def seconds(option: str, value: object, *, allow_none: bool, allow_zero: bool) -> float | None:
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        expected = "a non-negative" if allow_zero else "a positive"
        none = " or None (no limit)" if allow_none else ""
        raise option_error(option, f"expected {expected} number of seconds{none}, got {value!r}")
    return float(value)


def count(option: str, value: object, *, minimum: int, allow_none: bool) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        none = " or None" if allow_none else ""
        raise option_error(option, f"expected an int >= {minimum}{none}, got {value!r}")
    return value


def file_path(option: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise option_error(option, f"expected a file path (str or Path), got {value!r}")
    path = os.path.abspath(os.path.expanduser(value))
    if not os.path.isfile(path):
        raise option_error(option, f"{path} does not exist or is not a file")
    return path


def host_name(option: str, text: str, source: str) -> str:
    if not _HOST.fullmatch(text):
        raise option_error(
            option, f"{text!r} in {source} is not a host name or address (IPv6 goes in [])"
        )
    return text[1:-1] if text.startswith("[") else text


def host_port(option: str, text: str, default_port: int, source: str) -> tuple[str, int]:
    if text.startswith("["):
        end = text.find("]")
        host_text, rest = text[: end + 1], text[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            raise option_error(option, f"{text!r} in {source} is not [ipv6]:port")
        port_text = rest[1:] if rest else None
    elif text.count(":") > 1:
        raise option_error(
            option, f"{text!r} in {source}: put an IPv6 address in brackets, [::1]:6379"
        )
    else:
        host_text, colon, port_text_ = text.partition(":")
        port_text = port_text_ if colon else None
    host = host_name(option, host_text, source)
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise option_error(option, f"port {port_text!r} in {source} is not a TCP port (1-65535)")
    return host, int(port_text)
