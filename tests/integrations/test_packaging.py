"""The core imports without any framework; each integration says which extra it needs."""

from __future__ import annotations

import subprocess
import sys

import pytest

INTEGRATIONS = {
    "sessionware.starlette": ("starlette", "sessionware[starlette]"),
    "sessionware.fastapi": ("fastapi", "sessionware[fastapi]"),
    "sessionware.litestar": ("litestar", "sessionware[litestar]"),
    "sessionware.flask": ("flask", "sessionware[flask]"),
    "sessionware.django": ("django", "sessionware[django]"),
    "sessionware.aiohttp": ("aiohttp", "sessionware[aiohttp]"),
}


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_core_imports_without_any_framework() -> None:
    blocked = sorted({framework for framework, _ in INTEGRATIONS.values()} | {"litestar"})
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "import sessionware, sessionware.http.wsgi, sessionware.http.asgi, sessionware.cli\n"
        "loaded = sorted(n for n in sys.modules if n.split('.')[0] in "
        f"{blocked!r} and sys.modules[n] is not None)\n"
        "print(loaded)\n"
    )
    result = run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("module", sorted(INTEGRATIONS))
def test_an_integration_without_its_framework_names_the_extra(module: str) -> None:
    framework, extra = INTEGRATIONS[module]
    result = run(f"import sys\nsys.modules[{framework!r}] = None\nimport {module}\n")
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert extra in result.stderr
