"""Every way this repository is tested, linted, type-checked, documented and demonstrated.

nox -s tests          the whole suite: core + every plugin installed from their folders
nox -s plugin         each plugin alone with the core in a fresh environment, its own tests
nox -s lint types     ruff and mypy --strict
nox -s demo           the demo web app on the embedded default engine
nox -s docs           build the documentation (mkdocs, strict)
nox -s bench          the benchmarks
nox -s fuzz           the fuzz suite at full budget (100,000 examples per property)
nox -s load           real servers at saturation, workers SIGKILLed under load
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
PLUGINS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
TEST_DEPS = [
    "pytest>=8",
    "pytest-asyncio>=0.23",
    "hypothesis>=6",
    "flask>=3",
    "starlette>=0.37",
    "uvicorn>=0.29",
    "httpx>=0.27",
    "waitress>=3",
    # Starlette's TestClient (its own session tests run against ours) needs httpx2
    "httpx2",
    # the framework integrations, each tested with its real framework over real HTTP
    "django>=4.2",
    "flask-login>=0.6",
    "flask-wtf>=1.2",
    "fastapi>=0.110",
    "litestar>=2.8",
    "aiohttp>=3.9",
    "jinja2>=3",
    "orjson>=3.9",
    # a detector of blocking calls on the event loop (the ASGI path must make none)
    "blockbuster>=1.5",
    # the API reference's build checks (docs/reference/_checks.py), tested in tests/docs
    "griffe>=1",
]

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = False


def _install_everything(session: nox.Session) -> None:
    session.install("./core[demo]", *(f"./plugins/{name}" for name in PLUGINS))


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite against wheels built from every distribution in the repo."""
    _install_everything(session)
    session.install(*TEST_DEPS)
    session.run("sessionware", "plugins")
    session.run("pytest", *(session.posargs or ["-q", "-p", "no:cacheprovider"]))


@nox.session
@nox.parametrize("plugin", PLUGINS)
def plugin(session: nox.Session, plugin: str) -> None:
    """One plugin alone with the core, running only that plugin's tests."""
    session.install("./core", f"./plugins/{plugin}[test]", "pytest>=8", "pytest-asyncio>=0.23")
    session.run("sessionware", "plugins", "--json")
    session.run("pytest", "-q", "-p", "no:cacheprovider", f"plugins/{plugin}")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over everything."""
    session.install("ruff")
    session.run("ruff", "check", "core", "plugins", "tests", "bench", "noxfile.py")


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict over the core and the plugins."""
    _install_everything(session)
    session.install("mypy", "pytest")
    session.run("mypy", "core/src/sessionware", *(f"plugins/{n}/src" for n in PLUGINS))


@nox.session
def demo(session: nox.Session) -> None:
    """The demo web app on the embedded default engine (db on sqlite)."""
    session.install("./core[demo]", "./plugins/sessionware-db", "./plugins/sessionware-json")
    session.run("sessionware", "demo", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation in strict mode."""
    _install_everything(session)
    # griffe-sphinx: the attributes' ``#:`` comments become their documentation (mkdocs.yml)
    session.install("mkdocs-material>=9", "mkdocstrings[python]>=0.24", "griffe-sphinx>=0.3")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"))


#: The peers the comparison benchmarks measure against, and what they need to run.
BENCH_DEPS = [
    "django>=5",
    "starlette>=0.37",
    "flask>=3",
    "itsdangerous>=2",
    "redis>=5",
    "gunicorn>=22",
    "uvicorn>=0.29",
    "httpx>=0.27",
    "matplotlib>=3.8",
    "pyinstrument>=4",
    # aiohttp's own session library (and, through it, aiohttp): bench/frameworks/aiohttp_overhead.py
    "aiohttp-session>=2.12",
    # the frameworks bench/frameworks/*_overhead.py measure, each next to its own session
    "aiohttp>=3.9",
    "litestar>=2.8",
]


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark, ours and the peers', then docs/performance.md and its chart.

    ``nox -s bench -- --quick`` runs each comparison with few repeats (a smoke test).
    The throughput comparison drives the servers with ``wrk`` when it is installed.
    Each framework integration's overhead script runs on its own (its detailed
    table), then ``bench/frameworks/summary.py`` measures them all in one run
    and rewrites the combined table in docs/frameworks/index.md (not with --quick).
    """
    _install_everything(session)
    session.install(*BENCH_DEPS)
    quick = "--quick" in session.posargs
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        if not quick:  # the per-engine micro-benchmarks; the comparisons below cover --quick
            session.run("python", str(script))
    for script in sorted((ROOT / "bench").glob("compare_*.py")):
        session.run("python", str(script), *session.posargs)
    frameworks = ROOT / "bench" / "frameworks"
    for script in sorted(frameworks.glob("*_overhead.py")):
        session.run("python", str(script), *session.posargs)
    session.run("python", str(frameworks / "summary.py"), *session.posargs)
    session.run("python", str(ROOT / "bench" / "report.py"))


@nox.session
def fuzz(session: nox.Session) -> None:
    """The fuzz suite (tests/fuzz) at full budget: at least 100,000 examples per property.

    CI runs the same properties with a few hundred examples each, as part of
    ``nox -s tests``. ``SESSIONWARE_FUZZ_EXAMPLES=N`` sets another budget;
    extra arguments go to pytest (e.g. ``nox -s fuzz -- -k signing``). The
    counts per property are printed at the end.
    """
    _install_everything(session)
    session.install(*TEST_DEPS)
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--hypothesis-show-statistics",
        "tests/fuzz",
        *session.posargs,
        env={"SESSIONWARE_FUZZ": "fuzz"},
    )


#: What the load test drives: the production servers, and Redis for its engine.
LOAD_DEPS = ["gunicorn>=22", "uvicorn>=0.29", "redis>=5"]


@nox.session
def load(session: nox.Session) -> None:
    """Real servers at saturation with a session write per request, then workers SIGKILLed.

    gunicorn (WSGI) and uvicorn (ASGI), 2 workers each, on the db, file and
    redis engines, 60 s each by default (``nox -s load -- --seconds 20``);
    see ``bench/load/load_test.py --help``.
    """
    _install_everything(session)
    session.install(*LOAD_DEPS)
    session.run("python", str(ROOT / "bench" / "load" / "load_test.py"), *session.posargs)
