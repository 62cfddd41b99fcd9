"""`python -m sessionware_postgres create-schema`: the session tables, made ahead of time.

For deployments where the application's database user may not run DDL:
run this once as the tables' owner (a migration step, a deploy job), give
the application's role the GRANTs (`--grant-to ROLE`), and configure the
engine with `create=False`. `--print` writes the SQL instead, without
connecting, for a DBA or a migration tool. Where the server is: `--url`
(the password may come from `PGPASSWORD` or `~/.pgpass`), else libpq's
`PG*` environment variables.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sessionware import SessionwareError

from ._engine import PostgresEngine
from ._options import DEFAULT_SCHEMA, DEFAULT_TABLE

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sessionware_postgres",
        description="Tools for the sessionware postgres engine.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser(
        "create-schema",
        help="create or upgrade the session tables (idempotent)",
        description=(
            "Create (or upgrade in place) the session table and its lock table. Safe to run "
            "again and from several machines at once."
        ),
    )
    create.add_argument("--url", help="postgresql:// URL or libpq key=value string")
    create.add_argument("--schema", default=DEFAULT_SCHEMA, help="default: %(default)s")
    create.add_argument("--table", default=DEFAULT_TABLE, help="default: %(default)s")
    create.add_argument(
        "--unlogged",
        action="store_true",
        help="UNLOGGED tables: faster writes, every session lost if the server crashes",
    )
    create.add_argument(
        "--grant-to",
        metavar="ROLE",
        help="also GRANT the application's role what it needs (USAGE, SELECT/INSERT/UPDATE/DELETE)",
    )
    create.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print the SQL instead of running it (no connection is made)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        engine = PostgresEngine(
            url=args.url, schema=args.schema, table=args.table, unlogged=args.unlogged
        )
        if args.print_only:
            steps = engine.schema_sql(args.grant_to)
            print("BEGIN;")
            for step in steps:
                print(f"{step};")
            print("COMMIT;")
            return 0
        steps = engine.create_schema(args.grant_to)
    except (SessionwareError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"the session tables {engine.schema}.{engine.table} and {engine.table}_locks are ready "
        f"at {engine.address} ({len(steps)} idempotent statements run)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
