"""docs/getting-started.md's commands run as written from a checkout.

The page is parsed, nothing is hard-coded: every line of its fenced ``sh`` blocks that starts
with ``pip install`` is run, verbatim but for ``pip`` itself, with the pip of one fresh virtual
environment (``python -m venv`` in a temporary directory), from the repository's root so that
``./core`` and ``./plugins/...`` resolve. The page's own venv line
(``python3 -m venv .venv && . .venv/bin/activate``) is not run: it would create ``.venv`` in
this checkout; the test's environment stands in for it. The installs need a package index for
the frameworks and the build backend: outside CI, without a reachable index, the tests are
skipped; under CI (``CI`` set) the installs always run, and fail the test if they fail.

Then the page's runnable programs run in that environment, from a temporary directory, each
found by its content rather than its position:

- "Outside a request" (the block calling ``session_store(``) runs as a script and exits 0;
- the Flask block (``Session(app)``) is written to ``app.py`` and driven with Flask's test
  client: two ``GET /`` count visits 1 then 2;
- the FastAPI block (``SessionDep``) likewise, with Starlette's ``TestClient``.

The other Python blocks are fragments and are not run: the Django settings (``BASE_DIR`` comes
from a project), the aiohttp and Litestar import lines, and the log-in/log-out functions.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..commands import fresh_env, run_command

REPO = Path(__file__).parents[2]
PAGE = REPO / "docs" / "getting-started.md"

#: Installs from PyPI and runs three programs in a fresh environment: 30-60 s.
pytestmark = pytest.mark.slow

FENCE = re.compile(r"^```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
SHELL_OPERATORS = {"&&", "||", ";", "|", "&", ">", ">>", "<"}


def _blocks(lang: str) -> list[str]:
    """The bodies of the page's fenced blocks in ``lang``, in page order."""
    text = PAGE.read_text(encoding="utf-8")
    return [m["body"] for m in FENCE.finditer(text) if m["lang"] == lang]


def _pip_installs() -> list[list[str]]:
    """The arguments after ``pip`` of each ``pip install`` line of the page's ``sh`` blocks."""
    commands = []
    for block in _blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            if not line.strip().startswith("pip install"):
                continue
            args = shlex.split(line, comments=True)[1:]
            operators = SHELL_OPERATORS.intersection(args)
            assert not operators, f"{PAGE.name}: {line!r} chains shell operators {operators}"
            commands.append(args)
    if not commands:
        pytest.fail(f"{PAGE} has no `pip install` line in a ```sh block: nothing to check")
    return commands


def _program(marker: str) -> str:
    """The one ``python`` block of the page containing ``marker``."""
    found = [block for block in _blocks("python") if marker in block]
    assert len(found) == 1, (
        f"{PAGE.name}: expected one ```python block containing {marker!r}, found {len(found)}"
    )
    return found[0]


def _index_reachable() -> bool:
    """Whether the package index pip will use (``PIP_INDEX_URL`` or PyPI) answers on TCP."""
    url = urlsplit(os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple/")
    if url.scheme not in ("http", "https") or url.hostname is None:
        return True  # a local index: nothing to reach
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One fresh environment in which every documented ``pip install`` line has run."""
    installs = _pip_installs()
    # Outside CI, no network is a reason to skip. Under CI the installs simply run: pip may
    # reach its packages through configured local indexes even where PyPI does not answer.
    if not os.environ.get("CI") and not _index_reachable():
        pytest.skip("getting-started's installs need a package index, which is not reachable")
    root = tmp_path_factory.mktemp("getting-started")
    env = fresh_env()
    path = root / "venv"
    python = path / ("Scripts" if os.name == "nt" else "bin") / "python"
    run_command([sys.executable, "-m", "venv", str(path)], root, env)
    for args in installs:
        verb, rest = args[0], args[1:]
        pip = [str(python), "-m", "pip", verb, "--disable-pip-version-check", "-q"]
        run_command([*pip, *rest], REPO, env, timeout=600)
    return python, env


def test_installs_bring_the_documented_plugins(venv: tuple[Path, dict[str, str]]) -> None:
    """``sessionware plugins`` lists every plugin the page's commands install from ./plugins."""
    python, env = venv
    installed = {
        Path(arg).name for args in _pip_installs() for arg in args if arg.startswith("./plugins/")
    }
    sessionware = python.with_name("sessionware")
    listing = json.loads(run_command([str(sessionware), "plugins", "--json"], REPO, env))
    listed = {p["distribution"]: p["error"] for p in listing}
    assert {name: listed.get(name, "missing") for name in installed} == dict.fromkeys(installed)


def test_outside_a_request_runs(venv: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """The "Outside a request" program creates, reads and deletes a session; it exits 0."""
    python, env = venv
    script = tmp_path / "outside.py"
    script.write_text(_program("session_store("), encoding="utf-8")
    run_command([str(python), str(script)], tmp_path, env)


def _count_visits(python: Path, env: dict[str, str], where: Path, app: str, client: str) -> None:
    """Write ``app`` to app.py in ``where``; GET / twice with ``client`` must count 1 then 2."""
    (where / "app.py").write_text(app, encoding="utf-8")
    driver = "\n".join(
        [
            "import json",
            "from app import app",
            client,
            'seen = [json.loads(client.get("/").text)["visits"] for _ in range(2)]',
            "assert seen == [1, 2], seen",
            "print(seen)",
            "",
        ]
    )
    (where / "driver.py").write_text(driver, encoding="utf-8")
    out = run_command([str(python), "driver.py"], where, env)
    assert out.strip() == "[1, 2]"


def test_flask_example_counts_visits(venv: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """The Flask app keeps ``visits`` in the session across two requests of a test client."""
    python, env = venv
    _count_visits(python, env, tmp_path, _program("Session(app)"), "client = app.test_client()")


def test_fastapi_example_counts_visits(venv: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """The FastAPI app keeps ``visits`` in the session across two requests of a TestClient."""
    python, env = venv
    # Starlette's TestClient needs an HTTP client library (httpx2 in recent Starlette, httpx
    # before): installed here for the test client only, the page's app does not need it.
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    run_command([*pip, "httpx", "httpx2"], REPO, env, timeout=600)
    starlette_client = "from starlette.testclient import TestClient\nclient = TestClient(app)"
    _count_visits(python, env, tmp_path, _program("SessionDep"), starlette_client)
