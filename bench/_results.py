"""Machine-readable results of the comparison benchmarks, for ``bench/report.py``.

Each ``compare_*.py`` script prints its tables and also writes one JSON file to
``bench/results/<script stem>.json`` through :class:`Results`: its tables, the
issue's targets it measures (value, limit, met or not) and the series the
chart draws. ``report.py`` turns every file there into the generated part of
``docs/performance.md`` and ``docs/img/benchmarks.png``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"


def arguments(description: str) -> argparse.Namespace:
    """The flags every comparison script takes: ``--quick`` and ``--out``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="few repeats: check that it runs, numbers are noise"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    return parser.parse_args()


def version(distribution: str) -> str:
    """The installed version of ``distribution``, or ``"not installed"``."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


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

    def versions(self, *distributions: str) -> None:
        """Record the versions of these distributions (sessionware, django, ...)."""
        for name in distributions:
            self.data["versions"][name] = version(name)

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

    def write(self, out: Path = RESULTS_DIR) -> Path:
        """Write ``<out>/<script stem>.json`` and return its path."""
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{Path(self.data['script']).stem}.json"
        path.write_text(json.dumps(self.data, indent=2, ensure_ascii=False) + "\n")
        print(f"results written to {path}")
        return path
