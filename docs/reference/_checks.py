"""MkDocs hook: checks on the rendered pages that strict mode turns into a failed build.

- No raw Sphinx role (``:class:`Foo```) is rendered: mkdocstrings writes Markdown, where a role
  shows as ``:class:Foo``. Docstrings write ````Foo```` instead.
- No object is rendered under a private path (``sessionware._errors.SessionwareError``): the
  reference documents every object under the public name users import it by.
- Every public name of every public module (its ``__all__``, found by griffe as mkdocstrings
  finds it) is rendered under that module's path somewhere in the site. A new public module or
  name fails the build until a page documents it.

Listed in mkdocs.yml under ``hooks:``; excluded from the site by ``exclude_docs``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import griffe

log = logging.getLogger("mkdocs.hooks.sessionware_reference")

#: A role as Markdown renders it: the role name, then the backticked target as ``<code>``.
RAW_ROLE = re.compile(r":(?:py:)?(?:meth|class|func|data|mod|attr|exc|obj|const|type):(?:<code>|`)")
#: The anchor mkdocstrings gives a rendered object, when some component is private (one
#: leading underscore; dunders such as ``__init__`` are not private).
PRIVATE_ANCHOR = re.compile(r'id="((?:[A-Za-z]\w*\.)*_[A-Za-z0-9]\w*(?:\.\w+)*)"')
ANCHOR = re.compile(r'id="(sessionware[\w.]*)"')
#: The package whose public surface must be rendered in full.
PACKAGE = "sessionware"
#: Public modules that are documented in prose rather than by a ``:::`` directive.
NOT_RENDERED = {"sessionware.__main__"}  # ``python -m sessionware``: see reference/cli.md

_rendered: set[str] = set()


def on_pre_build(config: Any) -> None:
    _rendered.clear()


#: Code blocks show source as it is (the worked example's files): a role there is not rendered.
CODE_BLOCK = re.compile(r"<pre\b.*?</pre>", re.DOTALL)


def on_post_page(output: str, page: Any, config: Any) -> str:
    prose = CODE_BLOCK.sub("", output)
    for match in RAW_ROLE.finditer(prose):
        start = max(0, match.start() - 60)
        context = re.sub(r"<[^>]+>", "", prose[start : match.end() + 60]).replace("\n", " ")
        log.warning(
            "%s renders a raw Sphinx role: ...%s... (write ``Name`` in the docstring: "
            "the reference is Markdown)",
            page.file.src_uri,
            context.strip(),
        )
    _rendered.update(ANCHOR.findall(output))
    for match in PRIVATE_ANCHOR.finditer(output):
        if match.group(1).startswith("sessionware"):
            log.warning(
                "%s renders %s under a private path: document it under its public name",
                page.file.src_uri,
                match.group(1),
            )
    return output


def _is_private(path: str) -> bool:
    return any(
        part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
        for part in path.split(".")
    )


def _public_modules(module: griffe.Module) -> Iterator[griffe.Module]:
    if _is_private(module.path) or module.path in NOT_RENDERED:
        return
    yield module
    for sub in module.modules.values():
        if not sub.is_alias:  # ``from .http import asgi`` re-exports, it is not a submodule
            yield from _public_modules(sub)  # type: ignore[arg-type]


def _canonical(module: griffe.Module, name: str) -> str:
    """Where a public name is defined, so that one object exported twice is rendered once."""
    member = module.members.get(name)
    if member is None:
        return f"{module.path}.{name}"
    try:
        return member.final_target.path if member.is_alias else member.path  # type: ignore[union-attr]
    except griffe.AliasResolutionError:  # re-exported from outside the package
        return f"{module.path}.{name}"


def public_surface(search_path: str) -> dict[str, dict[str, str]]:
    """Each public module's path, its public names (``__all__``), and where each is defined."""
    package = griffe.load(PACKAGE, search_paths=[search_path])
    surface = {}
    for module in _public_modules(package):  # type: ignore[arg-type]
        if module.exports is not None:
            names = [str(name) for name in module.exports]
        else:
            names = [
                name
                for name, member in module.members.items()
                if not name.startswith("_") and not member.is_alias and not member.is_module
            ]
        surface[module.path] = {name: _canonical(module, name) for name in names}
    return surface


def public_names(search_path: str) -> dict[str, list[str]]:
    """Each public module's path, and the public names it defines or re-exports."""
    return {module: list(names) for module, names in public_surface(search_path).items()}


def on_post_build(config: Any) -> None:
    handler = config["plugins"]["mkdocstrings"].config["handlers"]["python"]
    root = Path(config["config_file_path"]).parent
    surface = public_surface(str(root / handler["paths"][0]))
    # An object two public modules export (sessionware.Request, sessionware.http.Request) is
    # documented once, under either name.
    public_paths: dict[str, set[str]] = {}
    for module, names in surface.items():
        for name, canonical in names.items():
            public_paths.setdefault(canonical, set()).add(f"{module}.{name}")
    for module, names in surface.items():
        missing = [n for n, c in names.items() if not public_paths[c] & _rendered]
        # The top-level package is documented name by name, a module page by a heading of its own.
        if module != PACKAGE and names and module not in _rendered:
            missing.insert(0, "(the module itself)")
        if missing:
            log.warning(
                "the API reference does not render %s: %s (add a ::: directive to a page under "
                "docs/reference/)",
                module,
                ", ".join(missing),
            )
