"""Servers in other processes on a loopback port: start, reach, measure, stop.

A server runs in a process group of its own (``start_new_session``), so stopping it
and counting its CPU covers its workers too. Its bytecode is cached outside the
repository: a server process that compiles every module it imports spends seconds of
CPU starting up.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
PYCACHE = Path(tempfile.gettempdir()) / "sessionware-bench-pycache"


def free_port() -> int:
    """A TCP port nothing listens on at the moment, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(
    port: int, path: str = "/", cookie: str | None = None, timeout: float = 10
) -> tuple[int, str, str | None]:
    """``GET path`` with ``cookie`` (a whole ``Cookie`` header): status, body, and the
    ``name=value`` of the response's ``Set-Cookie`` (None without one)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        body = response.read().decode("latin-1")
        set_cookie = response.getheader("Set-Cookie")
    finally:
        conn.close()
    return response.status, body, set_cookie.split(";", 1)[0].strip() if set_cookie else None


def server_env(pycache: Path = PYCACHE, **extra: str) -> dict[str, str]:
    """This environment for a server process: ``bench/`` importable, bytecode cached."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(BENCH), "PYTHONPYCACHEPREFIX": str(pycache), **extra}


def start_server(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``argv`` in its own process group, in ``bench/``, its output into ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            argv, env=env, cwd=BENCH, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def stop_server(proc: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    """SIGTERM the server's process group, SIGKILL it after ``timeout`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # the group start_server created
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def proc_stat(pid: str) -> list[str] | None:
    """``/proc/<pid>/stat`` from field 3 (state) on; None when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # exited meanwhile
        return None
    return stat[stat.rindex(")") + 2 :].split()


def _pids() -> list[str]:
    try:
        return [d.name for d in Path("/proc").iterdir() if d.name.isdigit()]
    except OSError:
        return []


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by the live processes of group ``pgid``; NaN off Linux."""
    if not Path("/proc").is_dir():
        return float("nan")
    ticks = 0
    for pid in _pids():
        fields = proc_stat(pid)
        if fields is not None and int(fields[2]) == pgid:  # pgrp; then utime, stime
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def children(parent: int) -> list[int]:
    """The live child processes of ``parent``, minus multiprocessing's resource tracker."""
    found = []
    for pid in _pids():
        fields = proc_stat(pid)
        if fields is None or int(fields[1]) != parent or fields[0] == "Z":
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmdline:
            found.append(int(pid))
    return found
