"""The shared benchmark harness: every script under ``bench/`` declares what to measure and
leaves the how to these modules.

- :mod:`harness.timing`: warm-up, batches, interleaved rounds, medians and spreads
  (``Op``, ``Pair``, ``run_group``, ``run_pairs``, ``measure``, ``interleave``);
- :mod:`harness.results`: the flags every comparison takes, the JSON rows
  ``bench/report.py`` reads (``Results``), versions and machine info;
- :mod:`harness.sessions`: the session operations (seed, load, load + modify + save);
- :mod:`harness.services`: Django configured for a benchmark, Redis found by PING;
- :mod:`harness.inproc`: one request through a WSGI or ASGI app in this process;
- :mod:`harness.servers`: servers in other processes on a loopback port;
- :mod:`harness.overhead`: the per-framework overhead rows (``bench/frameworks/``).

This module holds only constants, so the benchmark apps that servers import stay light.
"""

from __future__ import annotations

#: The benchmark session: an int user id, a username, a list of 3 ints, a small dict of
#: flags, an ISO timestamp, plus a counter.
PAYLOAD = {
    "user_id": 4211,
    "username": "ada",
    "recent": [3, 1, 4],
    "flags": {"beta": True, "admin": False},
    "last_seen": "2026-11-25T02:14:00+00:00",
    "counter": 0,
}
#: The signing secret of every in-process contender (a throwaway).
SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"  # noqa: S105
