"""This checkout against an earlier revision, path by path, in the same run.

A refactor must not make any session path slower. This script checks out ``--against``
(default: ``71ac3d2``, the last commit before the structure refactor of issue 11) in a
temporary git worktree, starts one worker process per side (``scenarios/revision_worker.py``,
each importing its own revision's core and plugins through ``PYTHONPATH``), and times every
path both can run: per engine, the store operations (load, load + modify + save and their
async twins) and one WSGI and one ASGI request that writes the session. Rounds alternate
the sides and rotate the paths, so drift on a shared machine hits both alike. It prints
the median µs per call of each side, the ratio, and flags every path slower by more than
``--tolerance`` (5%). Redis paths run when a Redis server answers on 127.0.0.1:6379.

    python bench/compare_revision.py                   # against 71ac3d2
    python bench/compare_revision.py --against HEAD~3  # any revision
    python bench/compare_revision.py --quick           # few rounds: a smoke test
    python bench/compare_revision.py --this HEAD       # a commit, not the working tree
    python bench/compare_revision.py --plugins-from 71ac3d2   # the core alone: both sides
                                                              # run that revision's plugins

Exits 0 whatever it finds: a benchmark reports, the reader judges (the flags say where).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.timing import median

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "71ac3d2"
WORKER = Path(__file__).resolve().parent / "scenarios" / "revision_worker.py"


class Side:
    """One checkout's worker process."""

    def __init__(self, label: str, checkout: Path, warm: int, plugins: Path | None = None) -> None:
        self.label = label
        plugin_root = (plugins or checkout) / "plugins"
        paths = [checkout / "core" / "src", *sorted(plugin_root.glob("*/src"))]
        paths.append(WORKER.parent.parent)  # bench/, for the harness
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths))}
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), str(warm)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            cwd=WORKER.parent.parent,
        )
        assert self.process.stdout is not None
        self.paths: list[str] = json.loads(self.process.stdout.readline())

    def time(self, path: str, calls: int) -> float:
        """µs per call of ``calls`` calls of ``path``."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{path} {calls}\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def _worktree(revision: str, where: Path) -> Path:
    checkout = where / revision.replace("/", "_")
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--quiet", str(checkout), revision],
        cwd=ROOT,
        check=True,
    )
    return checkout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default=BASELINE, help=f"revision (default {BASELINE})")
    parser.add_argument("--this", help="measure this revision instead of the working tree")
    parser.add_argument(
        "--plugins-from", help="both sides import this revision's plugins (compare the core alone)"
    )
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--sample", type=float, default=0.15, help="seconds per sample")
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--quick", action="store_true", help="3 rounds of short samples")
    args = parser.parse_args()
    rounds, sample = (3, 0.05) if args.quick else (args.rounds, args.sample)
    with tempfile.TemporaryDirectory(prefix="bench-revision-") as tmp:
        checkouts = [_worktree(args.against, Path(tmp))]
        this = _worktree(args.this, Path(tmp)) if args.this else ROOT
        plugins = None
        if args.plugins_from:
            same = args.plugins_from == args.against
            plugins = checkouts[0] if same else _worktree(args.plugins_from, Path(tmp))
        checkouts += [c for c in (this, plugins) if c not in (None, ROOT, checkouts[0])]
        try:
            here = Side(args.this or "this checkout", this, 200, plugins)
            there = Side(args.against, checkouts[0], 200, plugins)
            try:
                report(here, there, rounds, sample, args.tolerance)
            finally:
                here.close()
                there.close()
        finally:
            for checkout in checkouts:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(checkout)], cwd=ROOT, check=False
                )


def report(here: Side, there: Side, rounds: int, sample: float, tolerance: float) -> None:
    paths = [p for p in here.paths if p in there.paths]
    calls = {p: max(20, int(sample / (here.time(p, 50) * 1e-6))) for p in paths}
    samples: dict[tuple[str, str], list[float]] = {}
    started = time.monotonic()
    for round_ in range(rounds):
        order = paths[round_ % len(paths) :] + paths[: round_ % len(paths)]
        for path in order:
            sides = (here, there) if round_ % 2 == 0 else (there, here)
            for side in sides:
                samples.setdefault((side.label, path), []).append(side.time(path, calls[path]))
    print(
        f"sessionware: {here.label} against {there.label}, {rounds} rounds, "
        f"{time.monotonic() - started:.0f} s; median µs per call; flagged: slower by "
        f"more than {tolerance:.0%}\n"
    )
    print(f"| path | {here.label} | {there.label} | ratio | |")
    print("|---|---:|---:|---:|---|")
    slower = 0
    for path in paths:
        ours, theirs = median(samples[here.label, path]), median(samples[there.label, path])
        ratio = ours / theirs
        flag = "SLOWER" if ratio > 1 + tolerance else ""
        slower += bool(flag)
        print(f"| {path} | {ours:.2f} | {theirs:.2f} | {ratio:.3f} | {flag} |")
    skipped = sorted(set(here.paths) ^ set(there.paths))
    if skipped:
        print(f"\nnot on both sides (not compared): {', '.join(skipped)}")
    print(f"\n{slower} of {len(paths)} paths slower by more than {tolerance:.0%}")


if __name__ == "__main__":
    main()
