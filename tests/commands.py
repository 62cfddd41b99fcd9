"""Running a command from a test, and the environment a fresh virtualenv runs in."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def run_command(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    """Run a command and return its stdout, failing the test with its output if it fails."""
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, (
        f"{' '.join(args)} exited {done.returncode}\n--- stdout\n{done.stdout}\n"
        f"--- stderr\n{done.stderr}"
    )
    return done.stdout


def fresh_env(*also_drop: str) -> dict[str, str]:
    """This process's environment without what would leak into another virtualenv: the active
    venv, ``PYTHON*`` variables, sessionware's plugin selection, and any ``also_drop`` prefix."""
    drop = ("VIRTUAL_ENV", "PYTHON", "SESSIONWARE_LOAD_PLUGINS", "SESSIONWARE_DISABLE_PLUGINS")
    return {k: v for k, v in os.environ.items() if not k.startswith((*drop, *also_drop))}
