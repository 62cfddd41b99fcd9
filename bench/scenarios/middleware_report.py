"""The middleware comparison's output: a table per protocol, the targets, the chart, notes."""

from __future__ import annotations

from harness.results import Results
from harness.timing import Pair, cell, median

from scenarios.middleware_apps import Middleware

CASES = {
    "none": "(a) no cookie",
    "untouched": "(b) cookie, untouched",
    "read": "(c) read one key",
    "write": "(d) write the counter",
}
#: (name, ours, theirs, case, limit, how): each a ratio of median overheads, same run.
TARGETS = [
    (
        "WSGI db session write: sessionware / Django db",
        "sessionware WSGI, db",
        "Django, db",
        "write",
        0.10,
        "sessionware WSGI SessionMiddleware (db engine) overhead on a request that writes "
        "the session, over Django's SessionMiddleware with the db backend",
    ),
    (
        "ASGI signed-cookie session write: sessionware / Starlette",
        "sessionware ASGI, signed_cookies",
        "Starlette (itsdangerous)",
        "write",
        0.75,
        "sessionware ASGI SessionMiddleware (signed_cookies, expiry inside the signed "
        "payload, checked on load) over Starlette's SessionMiddleware (itsdangerous "
        "timestamp checked against max_age), request that writes the session",
    ),
    (
        "Cookie sent, session untouched: sessionware / Starlette",
        "sessionware ASGI, signed_cookies",
        "Starlette (itsdangerous)",
        "untouched",
        0.25,
        "sessionware ASGI SessionMiddleware (signed_cookies) over Starlette's "
        "SessionMiddleware on a request that carries the session cookie and never "
        "touches the session",
    ),
]
NOTES = {
    "WSGI": (
        "Overhead = the wrapped app minus the bare app on the same prepared environ, per "
        "round; the session holds PAYLOAD, created by a first request, its cookie replayed "
        "with two unrelated cookies. sessionware: wsgi.WSGISessionMiddleware(app, engine=db "
        "(SQLite file, WAL, synchronous=NORMAL) or signed_cookies, serializer=json). "
        "Django: contrib.sessions SessionMiddleware(view) called on a WSGIRequest built from "
        "the environ, headers and cookies rendered, minus view(request) alone; Django "
        "defaults (db backend on a SQLite file, rollback journal, JSONSerializer; "
        "signed_cookies backend); no URL routing and no request_started/finished signals, "
        "so the database connection stays open across requests (with Django's default "
        "CONN_MAX_AGE=0 a real WSGIHandler would also reconnect every request: not counted). "
        "Flask: app(environ) with SECRET_KEY set and a view using flask.session, minus the "
        "same app without a secret key (Flask's null session: nothing signed, loaded or "
        "saved) whose view does not touch the session; routing and request context cancel "
        "out. Flask opens (verifies and decodes) the cookie on every request, even when the "
        "view never touches the session. Flask defaults: a non-permanent session (a "
        "browser-session cookie without Expires), itsdangerous URLSafeTimedSerializer "
        "(HMAC-SHA1, tagged JSON, zlib when it shortens the value), its timestamp checked against "
        "PERMANENT_SESSION_LIFETIME (31 days)."
    ),
    "ASGI": (
        "Overhead = the wrapped app minus the bare app on the same prepared scope, awaited on "
        "one event loop. sessionware: asgi.ASGISessionMiddleware, same settings as WSGI; both "
        "engines are local (no network), so the session loads and saves inline on the loop "
        "(no thread hop; a db write blocks the loop for its duration). "
        "Starlette: starlette.middleware.sessions.SessionMiddleware(app, secret_key=...) with "
        "its defaults (itsdangerous TimestampSigner, HMAC-SHA1, max_age 14 days, JSON in "
        "base64); it verifies and decodes the cookie on every request, touched or not; the "
        "Set-Cookie column shows, as measured, on which requests each contender sends the "
        "cookie (this Starlette only when the session was modified). Starlette's Set-Cookie "
        "carries Max-Age only; sessionware's and Django's also an Expires date."
    ),
    "all": [
        "Write = the counter set to a value never stored before on every request, so the "
        "session is saved (SQLite really writes) and a Set-Cookie goes out for every "
        "contender. Read = one key read. Same PAYLOAD everywhere, JSON serializers "
        "everywhere (Flask: its tagged JSON).",
        "The cookie case (b) compares requests that carry the session cookie: sessionware "
        "and Django are lazy (no decoding, no storage access); Flask and Starlette verify "
        "and decode it before the app runs.",
    ],
}


def tables(results: Results, contenders: list[Middleware], pairs: dict[tuple, Pair]) -> None:
    """One table per protocol: each contender's overhead per case and its Set-Cookies."""
    for protocol in ("WSGI", "ASGI"):
        group = [c for c in contenders if c.protocol == protocol]
        print(f"\n{protocol} (in-process, prepared {'environ' if protocol == 'WSGI' else 'scope'})")
        print(f"  {'':34}" + "".join(f"{label:>24}" for label in CASES.values()))
        rows = []
        for c in group:
            cells = [cell(pairs[c.label, case].overheads()) for case in CASES]
            sent = "/".join("yes" if c.set_cookie[case] else "no" for case in CASES)
            rows.append([c.label, *cells, sent])
            print(f"  {c.label:34}" + "".join(f"{x:>24}" for x in cells) + f"   {sent}")
        bare = (f"{c.label} {median(pairs[c.label, 'untouched'].bare.samples):.1f}" for c in group)
        print("  bare app µs per request: " + ", ".join(bare))
        results.table(
            f"Request overhead, {protocol} (µs per request, median (p10-p90))",
            ["contender", *CASES.values(), "Set-Cookie on a/b/c/d"],
            rows,
            NOTES[protocol],
        )


def targets_and_chart(
    results: Results, contenders: list[Middleware], pairs: dict[tuple, Pair]
) -> None:
    """The issue's targets (ratios of median overheads, same run), then the chart's bars."""

    def overhead(label: str, case: str) -> float:
        return median(pairs[label, case].overheads())

    print("\nTargets (ratios of median overheads, same run)")
    for name, ours, theirs, case, limit, detail in TARGETS:
        value = overhead(ours, case) / overhead(theirs, case)
        results.target(name, value, limit, detail)
        met = "met" if value <= limit else "MISSED"
        print(f"  {name:60} {value:6.3f} (target <= {limit:.2f})  {met}")
    for case, panel in (("write", "session write"), ("untouched", "cookie untouched")):
        for c in contenders:
            value = round(overhead(c.label, case), 2)
            results.chart(f"Request overhead, {panel} (µs)", c.label, value, "µs")
    for text in NOTES["all"]:
        results.note(text)
