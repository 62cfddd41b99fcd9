"""The API reference is complete and clean.

The reference pages (docs/reference.md and docs/reference/*.md) are rendered by mkdocstrings,
which writes Markdown: a Sphinx role (``:class:`Foo```) shows raw there, and in the CLI's
listings. These tests read the sources and pages without building the site; the build itself
(mkdocs.yml's hook, docs/reference/_checks.py) checks the rendered HTML the same way.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import logging
import re
import tokenize
from pathlib import Path
from types import ModuleType

import pytest

import sessionware

REPO = Path(__file__).parents[2]
DOCS = REPO / "docs"
CORE = REPO / "core" / "src" / "sessionware"
REFERENCE_PAGES = [DOCS / "reference.md", *sorted((DOCS / "reference").glob("*.md"))]
EXAMPLE = DOCS / "examples" / "sessionware-memory"

#: A Sphinx cross-reference role of the Python domain (``:memory:`` and the like do not match).
ROLE = re.compile(r":(?:py:)?(?:meth|class|func|data|mod|attr|exc|obj|const|type):`[^`]+`")
DIRECTIVE = re.compile(r"^::: *([\w.]+)", re.MULTILINE)


def _sources() -> list[Path]:
    """Every Python source whose docstrings reach a reader: core, plugins, worked example."""
    roots = [CORE, *sorted(REPO.glob("plugins/*/src")), *sorted(DOCS.glob("examples/*/src"))]
    return [path for root in roots for path in sorted(root.rglob("*.py"))]


def _docstrings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every docstring, attribute docstring and ``#:`` comment in a file."""
    source = path.read_text(encoding="utf-8")
    found = [
        (node.lineno, node.value.value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ]
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.string.startswith("#:"):
            found.append((token.start[0], token.string))
    return found


def _roles_in_sources() -> list[str]:
    problems = []
    for path in _sources():
        for line, text in _docstrings(path):
            for role in ROLE.findall(text):
                problems.append(f"{path.relative_to(REPO)}:{line}: {role}")
    # The plugin scaffold's templates become the docstrings of every generated plugin.
    for path in sorted((CORE / "cli").rglob("*.tmpl")):
        text = path.read_text(encoding="utf-8")
        for match in ROLE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{path.relative_to(REPO)}:{line}: {match.group()}")
    return problems


def test_no_sphinx_role_in_any_docstring() -> None:
    problems = _roles_in_sources()
    assert not problems, (
        f"{len(problems)} Sphinx role(s) in docstrings; the reference and the CLI render "
        "Markdown, where they show raw. Write ``Name`` (``SessionStore.save``) instead:\n"
        + "\n".join(problems)
    )


def _directives() -> list[str]:
    return [
        target
        for page in REFERENCE_PAGES
        for target in DIRECTIVE.findall(page.read_text(encoding="utf-8"))
    ]


def _is_private(dotted: str) -> bool:
    return any(
        part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
        for part in dotted.split(".")
    )


def _public_modules() -> list[str]:
    modules = []
    for path in sorted(CORE.rglob("*.py")):
        parts = ["sessionware", *path.relative_to(CORE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        dotted = ".".join(parts)
        if not _is_private(dotted) and parts[-1] != "__main__":
            modules.append(dotted)
    return modules


def test_every_public_module_is_in_the_reference() -> None:
    directives = _directives()
    missing = [
        module
        for module in _public_modules()
        if not any(d == module or d.startswith(module + ".") for d in directives)
    ]
    assert not missing, f"public modules with no ::: directive under docs/reference: {missing}"


def test_every_public_name_of_sessionware_is_rendered_under_its_public_path() -> None:
    directives = set(_directives())
    missing = [n for n in sessionware.__all__ if f"sessionware.{n}" not in directives]
    assert not missing, f"no ::: sessionware.NAME in docs/reference for: {missing}"


def test_no_directive_renders_a_private_path() -> None:
    private = [d for d in _directives() if _is_private(d)]
    assert not private, f"document these under their public names: {private}"


def test_the_worked_example_page_shows_every_file_of_the_example() -> None:
    page = (DOCS / "plugin-example.md").read_text(encoding="utf-8")
    included = set(re.findall(r'^--8<-- "([^"]+)"$', page, re.MULTILINE))

    def generated(path: Path) -> bool:  # caches and build output, never committed
        parts = path.relative_to(EXAMPLE).parts
        return any(
            part.startswith(".")
            or part in {"__pycache__", "build", "dist"}
            or part.endswith(".egg-info")
            for part in parts
        )

    files = {
        str(path.relative_to(EXAMPLE.parent))
        for path in EXAMPLE.rglob("*")
        if path.is_file() and path.stat().st_size and not generated(path)
    }
    assert files - included == set(), "files of the worked example not shown"
    assert included - files == set(), "snippets of files that do not exist"


def test_no_page_links_into_the_excluded_examples_folder() -> None:
    # mkdocs.yml excludes docs/examples/ from the site: such a link is dead once built.
    offenders = [
        str(page.relative_to(DOCS))
        for page in DOCS.rglob("*.md")
        if "examples" not in page.relative_to(DOCS).parts
        and re.search(r"\]\((?:\.\./)*examples/", page.read_text(encoding="utf-8"))
    ]
    assert not offenders


def _checks() -> ModuleType:
    pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location(
        "_reference_checks", DOCS / "reference" / "_checks.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Page:
    class file:  # mimics mkdocs' Page.file
        src_uri = "reference/x.md"


def test_the_build_hook_flags_raw_roles_and_private_paths(caplog: pytest.LogCaptureFixture) -> None:
    checks = _checks()
    rendered = (
        "<p>Raises :class:<code>~sessionware.CreateError</code> on a clash.</p>"
        '<h2 id="sessionware._errors.CreateError">CreateError</h2>'
    )
    with caplog.at_level(logging.WARNING):
        checks.on_post_page(rendered, page=_Page(), config=None)
    messages = [r.getMessage() for r in caplog.records]
    assert any("raw Sphinx role" in m for m in messages), messages
    assert any("sessionware._errors.CreateError under a private path" in m for m in messages)


def test_the_build_hook_accepts_clean_pages(caplog: pytest.LogCaptureFixture) -> None:
    checks = _checks()
    rendered = (
        '<p>Use <code>":memory:"</code>? No: <code>:class:</code> roles are gone.</p>'
        '<h2 id="sessionware.CreateError">CreateError</h2>'
        '<h3 id="sessionware.SessionStore.__init__">__init__</h3>'
        "<pre><code>raises :class:`~sessionware.CreateError`</code></pre>"
    )
    with caplog.at_level(logging.WARNING):
        checks.on_post_page(rendered, page=_Page(), config=None)
    assert caplog.records == []


def test_the_build_hook_knows_every_public_name() -> None:
    surface = _checks().public_names(str(CORE.parent))
    assert surface["sessionware"] == sessionware.__all__
    assert "WSGISessionMiddleware" in surface.get("sessionware.http.wsgi", []), (
        "griffe (and so mkdocstrings) does not find sessionware.http.wsgi: a package needs an "
        "__init__.py to be seen, sessionware/http/ included"
    )
    assert "EngineConformance" in surface["sessionware.testing"]
    assert not [module for module in surface if _is_private(module)]
