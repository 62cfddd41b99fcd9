"""Fixtures for the kit's own tests: the reference engines, loaded from ``engines.py``.

The repository runs pytest with ``--import-mode=importlib``, so sibling modules
are not importable by name; ``engines.py`` is loaded once from its path here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).parent
ENGINES_PATH = HERE / "engines.py"
ENGINES_MODULE = "sessionware_kit_reference_engines"


def load_engines() -> ModuleType:
    """Import ``engines.py`` under a private module name (once per process)."""
    module = sys.modules.get(ENGINES_MODULE)
    if module is None:
        spec = importlib.util.spec_from_file_location(ENGINES_MODULE, ENGINES_PATH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[ENGINES_MODULE] = module
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def engines() -> ModuleType:
    """The module holding ``MemoryEngine`` and the broken variants."""
    return load_engines()
