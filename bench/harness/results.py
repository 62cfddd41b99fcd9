"""What a comparison measured, as JSON for ``bench/report.py``; versions and machine info.

Each ``compare_*.py`` script prints its tables and also writes one JSON file,
``bench/results/<script stem>.json``, through :class:`Results`: its tables, the issue's
targets it measures (value, limit, met or not) and the series the chart draws.
``report.py`` turns every file there into the generated part of ``docs/performance.md``
and ``docs/img/benchmarks.png``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"


def parser(description: str) -> argparse.ArgumentParser:
    """The flags every comparison script takes, ``--quick`` and ``--out``; add your own."""
    found = argparse.ArgumentParser(description=description)
    found.add_argument(
        "--quick", action="store_true", help="few repeats: check that it runs, numbers are noise"
    )
    found.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    return found


def arguments(description: str) -> argparse.Namespace:
    """``--quick`` and ``--out``, parsed."""
    return parser(description).parse_args()


def version(distribution: str) -> str:
    """The installed version of ``distribution``, or ``"not installed"``."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, ``"unknown"`` elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine() -> list[tuple[str, str]]:
    """What the numbers were measured on, one (what, value) row each."""
    memory = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return [
        ("CPU", f"{cpu_model()}, {os.cpu_count()} cores"),
        ("memory", memory),
        ("system", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", f"{platform.python_implementation()} {sys.version.split()[0]}"),
        ("SQLite", sqlite3.sqlite_version),
    ]


def machine_line() -> str:
    """The system, the cores and the CPU in one line."""
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu_model()})"


def banner(rounds: int, sample_s: float, what: str) -> str:
    """The first line a calibrated comparison prints."""
    return (
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}; {rounds} "
        f"interleaved rounds, samples of ~{sample_s * 1000:.0f} ms; {what}"
    )


class Results:
    """What one script measured: tables, targets and chart series."""

    def __init__(self, script: str, title: str, *, quick: bool = False) -> None:
        self.data: dict[str, Any] = {
            "script": script,
            "command": f"python {script}",
            "title": title,
            "quick": quick,
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "versions": {"python": sys.version.split()[0]},
            "tables": [],
            "targets": [],
            "chart": [],
            "notes": [],
        }

    def versions(self, *distributions: str, sqlite: bool = True) -> None:
        """Record the versions of these distributions (and SQLite's, unless told not to)."""
        for name in distributions:
            self.data["versions"][name] = version(name)
        if sqlite:
            self.data["versions"]["sqlite"] = sqlite3.sqlite_version

    def table(self, title: str, columns: list[str], rows: list[list[Any]], note: str = "") -> None:
        """A table for the docs; cells are strings or numbers (rendered as given)."""
        self.data["tables"].append({"title": title, "columns": columns, "rows": rows, "note": note})

    def target(
        self, name: str, value: float, limit: float, detail: str, *, at_most: bool = True
    ) -> None:
        """One of the issue's targets: ``value`` against ``limit`` (``at_most``: lower wins)."""
        met = value <= limit if at_most else value >= limit
        self.data["targets"].append(
            {
                "name": name,
                "value": round(value, 4),
                "limit": limit,
                "at_most": at_most,
                "met": met,
                "detail": detail,
            }
        )

    def chart(self, panel: str, label: str, value: float, unit: str) -> None:
        """A bar for the chart: ``panel`` groups bars (e.g. "WSGI write overhead")."""
        self.data["chart"].append({"panel": panel, "label": label, "value": value, "unit": unit})

    def note(self, text: str) -> None:
        """A sentence printed under this script's tables."""
        self.data["notes"].append(text)

    def print_targets(self) -> None:
        """The targets recorded so far, one line each, met or missed."""
        print("\ntargets")
        for t in self.data["targets"]:
            sign = "<=" if t["at_most"] else ">="
            verdict = "met" if t["met"] else "MISSED"
            print(f"  {t['name']:76} {t['value']:.3f} {sign} {t['limit']}  {verdict}")
            print(f"    ({t['detail']})")

    def write(self, out: Path = RESULTS_DIR) -> Path:
        """Write ``<out>/<script stem>.json`` and return its path."""
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{Path(self.data['script']).stem}.json"
        path.write_text(json.dumps(self.data, indent=2, ensure_ascii=False) + "\n")
        print(f"results written to {path}")
        return path
