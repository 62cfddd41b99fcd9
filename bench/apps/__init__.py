"""Minimal apps served by ``bench/compare_throughput.py``, one per contender.

Every app answers ``GET /`` the same way: on a session without the benchmark payload it
stores ``PAYLOAD`` (``bench/harness/__init__.py``); then it increments ``session["counter"]`` and
answers the new counter as ``text/plain``, so every request writes the session and the
body tells the benchmark how many writes the session has seen. Settings come from
environment variables set by the benchmark (see :mod:`apps._env`).
"""
