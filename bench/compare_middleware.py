"""Compare: per-request overhead of the session middleware, ours against Django, Starlette, Flask.

Every contender is called in-process with a prepared WSGI environ or ASGI scope (no
network), and its overhead is the wrapped app minus the same bare app on the same
request, measured in the same run. Four requests: (a) no cookie; (b) the session
cookie, session untouched; (c) session read (one key); (d) session write (the counter
gets a new value on every request, so the session is saved and a Set-Cookie goes out).

Contenders (each preloaded with ``PAYLOAD``: a first request creates the session, its
cookie is then replayed on every request):

- sessionware WSGI and ASGI ``SessionMiddleware``, engine ``db`` (SQLite file in a temp
  dir, engine defaults: WAL, synchronous=NORMAL) and ``signed_cookies`` (secret set),
  serializer ``json``.
- Django ``django.contrib.sessions.middleware.SessionMiddleware`` with the db backend
  (SQLite file, sessions app migrated, every other setting Django's default) and the
  signed_cookies backend: the middleware around a tiny view, called on a ``WSGIRequest``
  built from the environ, response headers rendered (cookies included); the baseline is
  the same call to the view without the middleware. No URL routing, no request signals.
- Starlette ``SessionMiddleware`` (itsdangerous) around a bare ASGI app using
  ``scope["session"]``; the baseline is the bare app.
- Flask's default cookie session (``SecureCookieSessionInterface``): an app whose view
  uses ``flask.session``; the baseline is the same app with no ``secret_key``, for which
  Flask uses its null session and never signs, loads or saves anything, with a view that
  does not touch the session.

Method: all pairs (bare, wrapped) of all contenders run in rounds; each round takes one
sample of every op, in an order rotated every round (a pair stays adjacent, its order
alternating), so drift on a shared VM hits all alike. A sample is a batch of calls
sized to last about the same time for every op (calibrated after a warm-up). Overhead
per round = wrapped sample - bare sample; medians and p10-p90 are over the rounds, in
µs per request; ratios are of medians from the same run (``harness.timing.run_pairs``).
The contenders live in ``bench/scenarios/middleware_apps.py``, the tables and targets in
``bench/scenarios/middleware_report.py``.

    .venv/bin/python bench/compare_middleware.py [--quick] [--out DIR]
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import PAYLOAD
from harness.inproc import Reply, cookie_header, set_cookie
from harness.results import Results, arguments, banner
from harness.services import setup_django
from harness.timing import Op, Pair, run_pairs
from scenarios import middleware_apps as apps
from scenarios.middleware_report import CASES, tables, targets_and_chart

VERSIONS = (
    "sessionware", "sessionware-db", "sessionware-signed-cookies", "sessionware-json", "django",
    "starlette", "flask", "werkzeug", "itsdangerous", "cryptography",
)  # fmt: skip


def request_for(case: str, jar: str | None) -> tuple[str | None, str | None]:
    """The Cookie header and mode of ``case``: (a) sends no cookie; (a) and (b) no mode."""
    return (None if case == "none" else jar), (None if case in ("none", "untouched") else case)


def prepare(c: apps.Middleware, loop: asyncio.AbstractEventLoop) -> None:
    """Create the session with PAYLOAD, keep its cookie, check every case does what it says."""

    def once(fn: Any) -> Reply:
        return loop.run_until_complete(fn()) if c.is_async else fn()

    status, headers, _ = once(c.wrapped(None, "seed"))
    c.cookie = set_cookie(headers, c.cookie_name)
    if status != 200 or c.cookie is None:
        raise SystemExit(f"{c.label}: seeding the session set no {c.cookie_name} cookie")
    for case in CASES:
        cookie, mode = request_for(case, cookie_header(c.cookie_name, c.cookie))
        status, headers, body = once(c.wrapped(cookie, mode))
        if status != 200:
            raise SystemExit(f"{c.label} {case}: status {status}")
        if case == "read" and body != PAYLOAD["username"].encode():
            raise SystemExit(f"{c.label}: read {body!r}, not the preloaded session")
        c.set_cookie[case] = set_cookie(headers, c.cookie_name) is not None
        if case == "write" and not c.set_cookie[case]:
            raise SystemExit(f"{c.label}: the write sent no Set-Cookie")
        bare = once(c.bare(cookie, mode))
        if bare[0] != 200 or set_cookie(bare[1], c.cookie_name) is not None:
            raise SystemExit(f"{c.label} {case}: the bare app is not bare")


def pairs_of(contenders: list[apps.Middleware]) -> dict[tuple[str, str], Pair]:
    """(bare, wrapped) of every contender and case, on the preloaded session's cookie."""
    pairs = {}
    for c in contenders:
        for case in CASES:
            cookie, mode = request_for(case, cookie_header(c.cookie_name, c.cookie))
            bare = Op("bare", c.bare(cookie, mode), is_async=c.is_async)
            wrapped = Op(c.label, c.wrapped(cookie, mode), is_async=c.is_async)
            pairs[c.label, case] = Pair(c.label, case, bare, wrapped)
    return pairs


def main() -> None:
    args = arguments((__doc__ or "").splitlines()[0])
    rounds, sample_s = (5, 0.004) if args.quick else (25, 0.02)
    results = Results(
        "bench/compare_middleware.py", "Per-request middleware overhead", quick=args.quick
    )
    results.versions(*VERSIONS)
    print(banner(rounds, sample_s, "overhead = wrapped - bare, µs per request, median (p10-p90)"))
    started = time.perf_counter()
    loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory(prefix="compare-middleware-") as tmpdir:
        tmp = Path(tmpdir)
        django_db = setup_django(tmp)
        journal = f"{django_db['journal_mode']}, synchronous={django_db['synchronous']}"
        results.data["versions"]["django sqlite journal"] = journal
        contenders = [*apps.ours(tmp), *apps.django(), apps.starlette(), apps.flask()]
        for c in contenders:
            prepare(c, loop)
        pairs = pairs_of(contenders)
        run_pairs(list(pairs.values()), rounds, sample_s, loop, stride=7)

        from django.db import connection

        connection.close()
    loop.close()
    tables(results, contenders, pairs)
    targets_and_chart(results, contenders, pairs)
    results.note(
        f"Django's SQLite connection: journal_mode={django_db['journal_mode']}, "
        f"synchronous={django_db['synchronous']} (Django's defaults); sessionware db: WAL, "
        "synchronous=NORMAL (its defaults)."
    )
    print(f"\n{time.perf_counter() - started:.0f} s")
    results.write(args.out)


if __name__ == "__main__":
    main()
