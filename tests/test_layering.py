"""Layering: no package of electrohet reaches into another package's private names.

A package is a top-level subpackage of ``electrohet`` (``model``, ``aging``, ...) or a
top-level module (``electrohet.errors`` is the package ``errors``).  Code in package A
must not

* import an underscored name (``from electrohet.model.simulation import _RichBar``)
  or an underscored module (``from electrohet.micro import _kernels``) of a package B,
* read, write or call an underscored attribute (``sim._run_step``, ``m._by_material``)
  that is defined in some other package and nowhere in A.

Underscored attributes are attributed to a package statically: every name a package
defines (``def _f``, ``class _C``, ``_x = ...`` at module or class level, ``self._x =
...``) belongs to it.  An access ``obj._x`` outside ``self``/``cls`` in package A is a
violation when ``_x`` is defined by another package of electrohet and not by A itself
(third-party privates such as NumPy's are not the project's business here).
Dunder names are public protocol and never count.

It also checks the package map of CONTRIBUTING.md: each package imports only the
packages listed for it in :data:`MAY_IMPORT` (imports inside functions included).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import electrohet

ROOT = Path(electrohet.__file__).resolve().parent

# accesses that are allowed on purpose: (package, name) -> reason.  Empty: every
# cross-package use goes through a public name.
ALLOWED: dict[tuple[str, str], str] = {}

# The package map (keep in step with CONTRIBUTING.md): what each package may import.
_BASE = {"errors"}
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(),
    "progress": set(),
    "interrupts": _BASE,
    "outputs": _BASE,
    # the one TOML/pydantic config system (schemas live with their packages)
    "config": _BASE,
    # independent runs of a sweep on dask.distributed
    "sweeps": _BASE | {"interrupts"},
    "materials": _BASE,
    "protocols": _BASE,
    "micro": _BASE | {"progress"},
    "analysis": _BASE,
    "engine": _BASE | {"interrupts", "progress", "protocols"},
    "design": _BASE | {"materials", "micro"},
    "model": _BASE | {"interrupts", "progress", "materials", "design", "protocols", "engine"},
    "plot": _BASE | {"model"},
    "voxel": _BASE
    | {
        "interrupts",
        "outputs",
        "materials",
        "design",
        "micro",
        "model",
        "protocols",
        "analysis",
        "engine",
    },
    "calibrations": _BASE,
    "studies": _BASE
    | {
        "interrupts",
        "outputs",
        "materials",
        "design",
        "protocols",
        "model",
        "analysis",
        "plot",
        "calibrations",
        "sweeps",
        "config",
    },
    "aging": _BASE
    | {
        "outputs",
        "progress",
        "materials",
        "design",
        "protocols",
        "model",
        "calibrations",
        "interrupts",
        "engine",
        "voxel",
        "config",
    },
    # the scoreboard sits on top: it runs every simulator and study
    "validation": _BASE
    | {
        "outputs",
        "calibrations",
        "materials",
        "design",
        "protocols",
        "model",
        "analysis",
        "micro",
        "voxel",
        "studies",
        "aging",
        "sweeps",
    },
}
# the command line (the package electrohet.cli) and the package root may import
# anything; nothing but ``python -m electrohet`` imports the command line
UNRESTRICTED = {"cli", "__init__", "__main__"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py")


def _modules() -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(), filename=str(p)) for p in sorted(ROOT.rglob("*.py"))}


def _defined_names(tree: ast.Module) -> set[str]:
    """Underscored names a module defines (functions, classes, assignments, self._x)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Name):
                        out.add(sub.id)
                    elif isinstance(sub, ast.Attribute):
                        out.add(sub.attr)
    return {n for n in out if _private(n)}


def _import_violations(pkg: str, tree: ast.Module) -> list[tuple[int, str]]:
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "electrohet" or len(parts) < 2 or parts[1] == pkg:
                continue
            if any(_private(p) for p in parts[1:]):
                bad.append((node.lineno, f"from {node.module} import ..."))
            for alias in node.names:
                if _private(alias.name):
                    bad.append((node.lineno, f"from {node.module} import {alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "electrohet" and len(parts) > 1 and parts[1] != pkg:
                    if any(_private(p) for p in parts[1:]):
                        bad.append((node.lineno, f"import {alias.name}"))
    return bad


def _attribute_violations(
    pkg: str, tree: ast.Module, owners: dict[str, set[str]]
) -> list[tuple[int, str]]:
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not _private(node.attr):
            continue
        base = node.value
        if isinstance(base, ast.Name) and base.id in ("self", "cls"):
            continue
        if isinstance(base, ast.Call) and getattr(base.func, "id", None) == "super":
            continue
        defined_by = owners.get(node.attr, set())
        if pkg in defined_by or not defined_by:
            continue
        if (pkg, node.attr) in ALLOWED:
            continue
        bad.append((node.lineno, f".{node.attr} (defined in {sorted(defined_by)})"))
    return bad


def test_no_private_access_across_packages():
    modules = _modules()
    owners: dict[str, set[str]] = defaultdict(set)
    for path, tree in modules.items():
        for name in _defined_names(tree):
            owners[name].add(_package(path))
    problems = []
    for path, tree in modules.items():
        pkg = _package(path)
        rel = path.relative_to(ROOT.parent)
        for line, what in _import_violations(pkg, tree) + _attribute_violations(pkg, tree, owners):
            problems.append(f"{rel}:{line}: package {pkg!r} uses {what}")
    assert not problems, "private names used across packages:\n" + "\n".join(problems)


def _imported_packages(pkg: str, tree: ast.Module) -> set[tuple[int, str]]:
    out = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "electrohet" and len(parts) > 1 and parts[1] != pkg:
                out.add((node.lineno, parts[1]))
    return out


def test_packages_import_only_what_the_map_allows():
    problems = []
    for path, tree in _modules().items():
        pkg = _package(path)
        if pkg in UNRESTRICTED:
            continue
        if pkg not in MAY_IMPORT:
            problems.append(
                f"package {pkg!r} is not in the map: add it to MAY_IMPORT in "
                "tests/test_layering.py and to CONTRIBUTING.md"
            )
            continue
        for line, other in sorted(_imported_packages(pkg, tree)):
            if other not in MAY_IMPORT[pkg]:
                rel = path.relative_to(ROOT.parent)
                problems.append(f"{rel}:{line}: {pkg!r} imports {other!r}")
    assert not problems, "imports outside the package map:\n" + "\n".join(sorted(set(problems)))


def test_nothing_imports_the_command_line():
    """``electrohet.cli`` sits on top: no library package imports it (only the
    ``python -m electrohet`` entry, ``electrohet/__main__.py``), and every command
    module lives in it (no ``cli.py`` left in a library package)."""
    problems = []
    for path, tree in _modules().items():
        pkg = _package(path)
        rel = path.relative_to(ROOT.parent)
        if pkg != "cli" and (path.name == "cli.py" or path.name.endswith("_cli.py")):
            problems.append(f"{rel}: a command module outside electrohet/cli/")
        if pkg in ("cli", "__main__"):
            continue
        for line, other in sorted(_imported_packages(pkg, tree)):
            if other in ("cli", "cli_options"):
                problems.append(f"{rel}:{line}: {pkg!r} imports the command line")
    assert not problems, "\n".join(problems)


def test_the_scan_sees_a_violation():
    """The scan itself: a private import and a private attribute of another package."""
    src = ast.parse(
        "from electrohet.model.simulation import _RichBar\n"
        "from electrohet.micro import _kernels\n"
        "def f(sim):\n    return sim._run_step\n"
    )
    assert len(_import_violations("aging", src)) == 2
    assert _import_violations("model", src)[0][1].startswith("from electrohet.micro")
    owners = {"_run_step": {"model"}}
    assert len(_attribute_violations("aging", src, owners)) == 1
    assert not _attribute_violations("model", src, owners)
