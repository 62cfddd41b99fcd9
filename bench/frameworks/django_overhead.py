"""Django: the request overhead of a session read and write, sessionware.django vs Django db.

In one process, through Django's own ``WSGIHandler``, its ``SessionMiddleware``
and a trivial view, two handlers that differ only in ``SESSION_ENGINE``
(``django_project.py``: sessionware.django on sessionware-db, and Django's
``backends.db`` set to the same storage settings: WAL, ``synchronous=NORMAL``, a
persistent connection).

Per handler, three requests: no session cookie and a view that does not touch
the session (the baseline), a cookie and a view reading one key (read), a
cookie and a view changing one key, which the middleware saves (write; the
value changes on every request, so SQLite really writes). The overhead of a
read or a write is its median minus the baseline's. Rounds interleave every
request kind in a rotating order (``harness.timing.run_group``); medians and
p10-p90 over the rounds, µs per request.

``measure()`` is what ``summary.py`` runs instead: the same handlers next to the same
project without SessionMiddleware, per case (``harness.overhead``).

    .venv/bin/python bench/frameworks/django_overhead.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django_project import DJANGO_DB, OURS, handler_for, request, seeded_cookie, setup
from django_project import storage_settings as storage
from harness import PAYLOAD
from harness.overhead import CASES, Contender, Row, rows
from harness.results import Results, arguments, banner
from harness.timing import Op, Pair, run_group, run_pairs

CONTENDERS = [
    Contender(
        DJANGO_DB,
        "Django backends.db",
        "server-side, SQLite WAL, synchronous=NORMAL (set to match), signed data",
        "default",
    ),
    Contender(
        OURS,
        "sessionware.django, db",
        "server-side, SQLite WAL, synchronous=NORMAL (no fsync)",
        "ours",
        versus=DJANGO_DB,
    ),
]
#: The standalone run's handlers and the paths it requests (the baseline without a cookie).
LABELS = {"sessionware.django (db)": OURS, "Django backends.db": DJANGO_DB}
KINDS = ("baseline", "read", "write")
READ = str(PAYLOAD["user_id"]).encode()  # what /read answers


def measure(rounds: int, sample_s: float) -> list[Row]:
    """Per case, each handler next to the same project without SessionMiddleware."""
    pairs = []
    with tempfile.TemporaryDirectory(prefix="summary-django-") as tmpdir:
        setup(Path(tmpdir))
        bare = handler_for(None)
        for c in CONTENDERS:
            handler, cookie = handler_for(c.key), seeded_cookie(c.key)
            for case in CASES:
                app = request(handler, "/baseline" if case == "untouched" else f"/{case}", cookie)
                if case == "read" and app() != READ:
                    raise RuntimeError(f"{c.label}: the read request did not read the session")
                # The bare project's view must not touch request.session: its static route.
                base = request(bare, "/baseline", cookie)
                pairs.append(Pair(c.key, case, Op("bare", base), Op(c.label, app)))
        run_pairs(pairs, rounds, sample_s)
    return rows("Django", CONTENDERS, pairs)


def detailed(rounds: int, sample_s: float) -> tuple[dict[str, dict[str, Op]], dict[str, str]]:
    """The three requests of each handler, interleaved in one group; each one's storage."""
    ops: dict[str, dict[str, Op]] = {}
    storage_of = {}
    with tempfile.TemporaryDirectory(prefix="django-overhead-") as tmpdir:
        setup(Path(tmpdir))
        for label, engine in LABELS.items():
            handler, cookie = handler_for(engine), seeded_cookie(engine)
            ops[label] = {}
            for kind in KINDS:
                call = request(handler, f"/{kind}", None if kind == "baseline" else cookie)
                if call() != READ and kind == "read":  # a failing request must not be timed
                    raise RuntimeError(f"{engine}: the read request answered wrong")
                ops[label][kind] = Op(f"{label}: {kind}", call)
            storage_of[label] = storage(engine)
            print(f"  {label}: {storage_of[label]}")
        run_group([op for group in ops.values() for op in group.values()], rounds, sample_s)
    return ops, storage_of


def main() -> None:
    args = arguments((__doc__ or "").splitlines()[0])
    rounds, sample_s = (4, 0.01) if args.quick else (150, 0.01)
    title = "Django: session overhead per request"
    results = Results("bench/frameworks/django_overhead.py", title, quick=args.quick)
    results.versions("sessionware", "sessionware-db", "sessionware-json", "django")
    started = time.perf_counter()
    print(banner(rounds, sample_s, "µs per request"))
    ops, storage_of = detailed(rounds, sample_s)
    table, ratios = [], []
    print(f"\n  {'':36} {'request µs (p10-p90)':>24} {'overhead µs':>12}")
    for label, group in ops.items():
        for kind in KINDS:
            op, base = group[kind], group["baseline"].median
            extra = "" if kind == "baseline" else f"{op.median - base:.1f}"
            table.append([label, kind, op.cell(), extra])
            print(f"  {label + ': ' + kind:36} {op.cell():>24} {extra:>12}")
    for kind in ("read", "write"):
        ours, theirs = ops["sessionware.django (db)"], ops["Django backends.db"]
        mine = ours[kind].median - ours["baseline"].median
        peer = theirs[kind].median - theirs["baseline"].median
        ratios.append(f"{kind} overhead {mine / peer:.2f}x")
        results.chart("Django session overhead (µs)", f"sessionware.django {kind}", mine, "µs")
        results.chart("Django session overhead (µs)", f"Django db {kind}", peer, "µs")
    print("\n  sessionware.django / Django db: " + ", ".join(ratios))
    note = (
        "In process, through Django's WSGIHandler, SessionMiddleware and a trivial view; "
        "baseline = no cookie, session untouched; overhead = median minus the baseline's. "
        f"Storage: sessionware {storage_of['sessionware.django (db)']}; Django "
        f"{storage_of['Django backends.db']} (init_command) with CONN_MAX_AGE=None. Django "
        "stores the data signed (django.core.signing), sessionware plain JSON. Ratios: "
        + ", ".join(ratios)
        + "."
    )
    columns = ["backend", "request", "µs per request (p10-p90)", "overhead µs"]
    title = "sessionware.django vs django.contrib.sessions.backends.db"
    results.table(title, columns, table, note)
    results.note(f"ran in {time.perf_counter() - started:.0f} s")
    results.write(args.out)


if __name__ == "__main__":
    main()
