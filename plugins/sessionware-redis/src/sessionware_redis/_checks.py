"""The redis engine's option checker, and the checks of hosts and ports it adds.

``checks`` is the ``sessionware.OptionChecker`` every module of this
engine raises through, so each message reads ``redis engine option '<name>':
...`` with ``field="engine_options.<name>"``. Hosts and ports, which the
URL and the keyword options share, are checked here.
"""

from __future__ import annotations

import re

from sessionware import OptionChecker

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_SENTINEL_PORT",
    "checks",
    "host_name",
    "host_port",
    "port_number",
]

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379
_HOST = re.compile(r"[A-Za-z0-9._%-]+|\[[0-9A-Fa-f:.%A-Za-z]+\]")

checks = OptionChecker("redis", "engine")


def port_number(option: str, value: object) -> int:
    return checks.integer(option, value, maximum=65535, what="a TCP port")


def host_name(option: str, text: str, source: str) -> str:
    if not _HOST.fullmatch(text):
        raise checks.error(
            option, f"{text!r} in {source} is not a host name or address (IPv6 goes in [])"
        )
    return text[1:-1] if text.startswith("[") else text


def host_port(option: str, text: str, default_port: int, source: str) -> tuple[str, int]:
    if text.startswith("["):
        end = text.find("]")
        host_text, rest = text[: end + 1], text[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            raise checks.error(option, f"{text!r} in {source} is not [ipv6]:port")
        port_text = rest[1:] if rest else None
    elif text.count(":") > 1:
        raise checks.error(
            option, f"{text!r} in {source}: put an IPv6 address in brackets, [::1]:6379"
        )
    else:
        host_text, colon, port_text_ = text.partition(":")
        port_text = port_text_ if colon else None
    host = host_name(option, host_text, source)
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise checks.error(option, f"port {port_text!r} in {source} is not a TCP port (1-65535)")
    return host, int(port_text)
