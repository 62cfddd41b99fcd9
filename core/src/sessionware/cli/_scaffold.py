"""``sessionware new-plugin``: a new plugin distribution, generated from templates.

The templates live beside this module in ``_scaffold_templates/`` (shipped in
the wheel as package data): ``common/`` for every kind, ``engine/`` and
``serializer/`` for one each. A template is the file as generated, with
``{{placeholder}}`` for what depends on the name; nothing else is templated,
so each reads as the code it becomes. The command-line side (arguments,
messages, exit codes) lives in ``sessionware.cli``.
"""

from __future__ import annotations

import keyword
import re
import shlex
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .. import __version__
from .._plugins import FIRST_PARTY

__all__ = ["KINDS", "MAX_NAME_LENGTH", "Plugin", "check_name", "generate", "next_steps"]

#: What a plugin can provide, and the name of the module holding it.
KINDS: dict[str, str] = {"engine": "_engine.py", "serializer": "_serializer.py"}
#: Names are typed in configuration and make the package and class names; the
#: generated lines stay under 100 characters up to this length.
MAX_NAME_LENGTH = 32

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
_TEMPLATES = "_scaffold_templates"

#: (template, path in the distribution); ``{kind}`` is the kind's folder.
_FILES: list[tuple[str, str]] = [
    ("common/pyproject.toml.tmpl", "pyproject.toml"),
    ("common/gitignore.tmpl", ".gitignore"),
    ("{kind}/README.md.tmpl", "README.md"),
    ("{kind}/__init__.py.tmpl", "src/{package}/__init__.py"),
    ("{kind}/_hooks.py.tmpl", "src/{package}/_hooks.py"),
    ("{kind}/{module}.tmpl", "src/{package}/{module}"),
    ("{kind}/tests/test_conformance.py.tmpl", "tests/test_conformance.py"),
    ("{kind}/tests/test_plugin.py.tmpl", "tests/test_plugin.py"),
]


def check_name(name: str) -> str:
    """Return ``name`` if it can name a new plugin, else raise ``ValueError`` saying why."""
    if not _NAME.match(name):
        hint = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
        if hint and not hint[0].isalpha():
            hint = "x" + hint
        suggestion = f", e.g. {hint!r}" if hint else ""
        raise ValueError(
            f"{name!r} cannot name a plugin: use a lowercase Python identifier (letters, "
            f"digits and _, starting with a letter){suggestion}"
        )
    if keyword.iskeyword(name):
        raise ValueError(f"{name!r} is a Python keyword; choose another name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"{name!r} is {len(name)} characters long; use at most {MAX_NAME_LENGTH}: "
            "users type it in their configuration"
        )
    if name in FIRST_PARTY:
        raise ValueError(
            f"{name!r} is taken by sessionware's own plugin {FIRST_PARTY[name]} (two "
            f"installed plugins may not share a name); choose another, e.g. 'my_{name}'"
        )
    return name


@dataclass(frozen=True)
class Plugin:
    """The names a new plugin is generated with, all derived from its ``name``."""

    name: str
    kind: str

    @property
    def distribution(self) -> str:
        """``sessionware-<name>``, with ``-`` for ``_`` as on PyPI."""
        return "sessionware-" + self.name.replace("_", "-")

    @property
    def package(self) -> str:
        """The import name, ``sessionware_<name>``."""
        return f"sessionware_{self.name}"

    @property
    def class_name(self) -> str:
        """``MyStoreEngine`` for an engine named ``my_store``."""
        words = "".join(word.capitalize() for word in self.name.split("_"))
        return words + self.kind.capitalize()

    def placeholders(self) -> dict[str, str]:
        """What each ``{{placeholder}}`` of the templates becomes."""
        major, minor = (int(part) for part in __version__.split(".")[:2])
        return {
            "name": self.name,
            "kind": self.kind,
            "dist": self.distribution,
            "package": self.package,
            "class": self.class_name,
            "description": f"The {self.name} {self.kind} for sessionware.",
            # Plugins follow the core's API within a major version (0.x: a minor).
            "core_requirement": f"sessionware>={major}.{minor},<{major + 1}",
        }


def _render(template: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        return values[match.group(1)]  # a KeyError here is a bug in a template

    return _PLACEHOLDER.sub(value, template)


def generate(name: str, kind: str, directory: Path, *, force: bool = False) -> list[Path]:
    """Write the plugin distribution into ``directory``; return the files written.

    Raises ``ValueError`` for a bad name or kind and ``FileExistsError`` when
    ``directory`` exists and is not empty, unless ``force``: then the
    generated files are written over, and any other file is left alone.
    """
    check_name(name)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if directory.exists() and not directory.is_dir():
        raise FileExistsError(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise FileExistsError(
            f"{directory} already exists and is not empty; choose another --dir, or pass "
            "--force to write the generated files over it (other files are left alone)"
        )
    plugin = Plugin(name, kind)
    values = plugin.placeholders()
    root = resources.files("sessionware.cli").joinpath(_TEMPLATES)
    names = {"kind": kind, "module": KINDS[kind], "package": plugin.package}
    written = []
    for template, target in _FILES:
        text = root.joinpath(template.format(**names)).read_text(encoding="utf-8")
        path = directory / target.format(**names)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_render(text, values), encoding="utf-8", newline="\n")
        written.append(path)
    typed = directory / "src" / plugin.package / "py.typed"
    typed.write_bytes(b"")  # PEP 561: the package ships its type hints
    written.append(typed)
    return written


def next_steps(directory: Path) -> list[str]:
    """The commands that install the new plugin for development and run its tests."""
    return [
        f"cd {shlex.quote(str(directory))}",
        'python -m pip install -e ".[test]"',
        "python -m pytest",
        "sessionware plugins",
    ]
