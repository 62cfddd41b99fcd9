"""The plugin-author guide's worked example installs and passes the kit in a fresh environment.

Builds a new virtual environment in a temporary directory, installs the core
from ``core/`` (a real wheel build, not editable) and the example from
``docs/examples/sessionware-memory``, runs the example's own test suite with
that environment's pytest, and checks that sessionware discovers the plugin
with its distribution name and version.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from .commands import fresh_env, run_command

REPO = Path(__file__).parents[1]
CORE = REPO / "core"
EXAMPLE = REPO / "docs" / "examples" / "sessionware-memory"

pytestmark = pytest.mark.slow


def _uv() -> str | None:
    """The ``uv`` next to this interpreter, or on PATH."""
    beside = Path(sys.executable).with_name("uv")
    if beside.exists():
        return str(beside)
    return shutil.which("uv")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh environment with the core wheel, the example and pytest installed."""
    root = tmp_path_factory.mktemp("worked-example")
    env = fresh_env()
    path = root / "venv"
    python = path / ("Scripts" if os.name == "nt" else "bin") / "python"
    uv = _uv()
    packages = [str(CORE), str(EXAMPLE), "pytest>=8"]
    if uv is not None:
        run_command([uv, "venv", "--quiet", "--python", sys.executable, str(path)], root, env)
        run_command(
            [uv, "pip", "install", "--quiet", "--python", str(python), *packages], root, env
        )
    else:
        run_command([sys.executable, "-m", "venv", str(path)], root, env)
        run_command(
            [str(python), "-m", "pip", "install", "--quiet", *packages], root, env, timeout=600
        )
    return python, env


def test_core_is_installed_from_a_built_wheel(venv: tuple[Path, dict[str, str]]) -> None:
    """The environment imports sessionware from its own site-packages, not from this checkout."""
    python, env = venv
    where = run_command(
        [str(python), "-c", "import sessionware; print(sessionware.__file__)"], REPO, env
    )
    assert "site-packages" in where
    assert str(CORE) not in where


def test_example_passes_its_conformance_suite(
    venv: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """The example's tests (the kit plus its own) pass with the environment's pytest."""
    python, env = venv
    tests = tmp_path / "tests"
    shutil.copytree(EXAMPLE / "tests", tests)
    shutil.copy(EXAMPLE / "pyproject.toml", tmp_path / "pyproject.toml")
    out = run_command(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)], tmp_path, env
    )
    summary = out.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None and int(passed.group(1)) > 80, summary
    assert "failed" not in summary and "error" not in summary, summary


def test_example_is_listed_as_a_plugin(venv: tuple[Path, dict[str, str]]) -> None:
    """``sessionware.list_plugins()`` names the example, its distribution and version."""
    python, env = venv
    code = (
        "import json, sessionware; "
        "print(json.dumps([p.as_dict() for p in sessionware.list_plugins()]))"
    )
    plugins = json.loads(run_command([str(python), "-c", code], REPO, env))
    memory = [p for p in plugins if p["name"] == "memory"]
    assert memory == [
        {
            "name": "memory",
            "distribution": "sessionware-memory",
            "version": "0.1.0",
            "engines": ["memory"],
            "serializers": [],
            "error": None,
        }
    ]
