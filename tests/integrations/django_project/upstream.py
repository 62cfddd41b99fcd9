"""Django's own ``SessionTestsMixin``, taken from the sdist of the installed Django.

Django's wheel does not ship its test suite; its sdist does. The sdist of the
exact installed version is downloaded once per machine with pip (into
``~/.cache/sessionware-tests``, or ``$SESSIONWARE_TEST_CACHE``), and only
``tests/sessions_tests/tests.py`` is kept from it. Nothing of Django's test
code is committed here.

That file also imports a model of Django's own test app (``from .models``),
which needs that app installed; the mixin does not use it. So the module's
absolute imports and the ``SessionTestsMixin`` class are compiled on their
own, unchanged, and everything else in the file is left out.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import types
from pathlib import Path

import django

SUITE_FILE = "tests/sessions_tests/tests.py"
MIXIN = "SessionTestsMixin"


class Unavailable(RuntimeError):
    """The sdist could not be fetched or does not hold the mixin."""


def cache_dir() -> Path:
    """Where the extracted test file of each Django version is kept."""
    root = os.environ.get("SESSIONWARE_TEST_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "sessionware-tests"


def _pip() -> list[str]:
    # A uv-made test environment (nox) may have no pip of its own; the interpreter
    # it was made from, or the one on PATH, does. What pip runs under does not
    # matter: it only downloads a file.
    candidates = [sys.executable, getattr(sys, "_base_executable", None), shutil.which("python3")]
    for python in candidates:
        if (
            python
            and subprocess.run(
                [python, "-m", "pip", "--version"], capture_output=True, check=False
            ).returncode
            == 0
        ):
            return [python, "-m", "pip"]
    raise Unavailable("no pip found to download Django's sdist with")


def suite_source(version: str = django.__version__) -> Path:
    """The path of Django ``version``'s ``sessions_tests/tests.py``, downloading it once."""
    target = cache_dir() / f"django-{version}" / "sessions_tests_tests.py"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory(prefix="django-sdist-") as tmp:
        command = [
            *_pip(),
            "download",
            "--quiet",
            "--retries",
            "1",
            "--timeout",
            "20",
            "--no-deps",
            "--no-binary",
            "django",
            "--dest",
            tmp,
            f"django=={version}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        archives = list(Path(tmp).glob("[Dd]jango-*.tar.gz"))
        if done.returncode != 0 or not archives:
            raise Unavailable(
                f"could not download Django {version}'s sdist ({' '.join(command)}): "
                f"{done.stderr.strip()[-500:]}"
            )
        with tarfile.open(archives[0]) as archive:
            member = next(
                (m for m in archive.getmembers() if m.name.endswith("/" + SUITE_FILE)), None
            )
            if member is None:
                raise Unavailable(f"Django {version}'s sdist has no {SUITE_FILE}")
            extracted = archive.extractfile(member)
            assert extracted is not None
            text = extracted.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(text)
    partial.replace(target)  # atomic: a run killed mid-write leaves no half file behind
    return target


def session_tests_mixin() -> type:
    """``SessionTestsMixin`` from the installed Django's own test suite (settings must be set)."""
    path = suite_source()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    body: list[ast.stmt] = [
        node
        for node in tree.body
        if (isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and node.level == 0))
        or (isinstance(node, ast.ClassDef) and node.name == MIXIN)
    ]
    if not any(isinstance(node, ast.ClassDef) for node in body):
        raise Unavailable(f"{path} defines no {MIXIN}")
    module = types.ModuleType(
        "django_sessions_tests", f"{SUITE_FILE} of Django {django.__version__}"
    )
    module.__file__ = str(path)
    sys.modules[module.__name__] = module  # so the class's __module__ resolves
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), module.__dict__)  # noqa: S102
    mixin: type = module.__dict__[MIXIN]
    return mixin
