"""Instruction counts of every session path, this checkout's core against an earlier one.

Wall-clock time on a shared 2-core VM moves by more than the few per cent a refactor must be
judged by; the number of instructions the interpreter executes does not. This runs
``scenarios/instruction_worker.py`` under ``valgrind --tool=callgrind`` once with this
checkout's core and once with ``--against``'s (default ``71ac3d2``, before the issue-11
refactor), both with the plugins of ``--plugins-from`` (default: the same revision, so the
comparison is the core's alone), and prints instructions per call and the ratio for each
engine and path (load, load + modify + save, a middleware request, their async twins, and
create). Needs valgrind; takes a few minutes.

    python bench/count_instructions.py [--against REV] [--plugins-from REV]
        [--calls 200] [--engines dict,cache,signed_cookies,db,file]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "bench" / "scenarios" / "instruction_worker.py"


def _worktree(revision: str, where: Path) -> Path:
    checkout = where / revision.replace("/", "_")
    if not checkout.exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(checkout), revision],
            cwd=ROOT,
            check=True,
        )
    return checkout


def _run(tag: str, core: Path, plugins: Path, calls: int, engines: str, out: Path) -> list:
    paths = [core / "core" / "src", *sorted((plugins / "plugins").glob("*/src"))]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(map(str, paths)),
        "ORDER_OUT": str(out / f"order-{tag}.json"),
        "SESSIONWARE_DISABLE_PLUGINS": "postgres",
    }
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--dump-before=os_getppid",
            f"--callgrind-out-file={out}/{tag}.%p",
            sys.executable,
            str(WORKER),
            str(calls),
            engines,
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    dumps = sorted(out.glob(f"{tag}.*.*"), key=lambda f: int(f.name.rsplit(".", 1)[1]))
    per_call = []
    for dump in dumps:
        if int(dump.name.rsplit(".", 1)[1]) % 2 == 0:  # odd: warm-ups; even: timed segments
            found = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(), re.M)
            assert found, dump
            per_call.append(int(found.group(1)) / calls)
    order = json.loads((out / f"order-{tag}.json").read_text())
    return list(zip(order, per_call, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="71ac3d2")
    parser.add_argument("--plugins-from", help="default: the --against revision")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--engines", default="dict,cache,signed_cookies,db,file")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("count_instructions: valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        where = Path(tmp)
        before = _worktree(args.against, where)
        plugins = _worktree(args.plugins_from, where) if args.plugins_from else before
        try:
            old = _run("before", before, plugins, args.calls, args.engines, where)
            new = _run("now", ROOT, plugins, args.calls, args.engines, where)
        finally:
            for checkout in {before, plugins}:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(checkout)], cwd=ROOT, check=False
                )
    print(f"instructions per call: this checkout's core against {args.against}'s")
    print(f"(plugins from {args.plugins_from or args.against}; {args.calls} calls per path)\n")
    print("| path | before | now | ratio |")
    print("|---|---:|---:|---:|")
    for (path, a), (same, b) in zip(old, new, strict=True):
        assert path == same, (path, same)
        print(f"| {path} | {a:,.0f} | {b:,.0f} | {b / a:.3f} |")


if __name__ == "__main__":
    main()
