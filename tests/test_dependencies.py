"""Every package that electrohet imports is declared in pyproject.toml (a fresh
``pip install -e ".[dev]"`` must be enough for the test suite), and the pinned
numcodecs refuses to unpickle (a crafted .zarr must not run code)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Imported only inside ``try: ... except ImportError`` with a fallback (not required).
# (tqdm was here, but micro/cli.py and micro/two_level.py need it: it is now declared.)
# imported inside try/except with a fallback (psutil: available memory, else /proc/meminfo)
OPTIONAL_WITH_FALLBACK: set[str] = {"psutil"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(req: str) -> str:
    return _norm(re.split(r"[\s\[<>=!~;]", req.strip(), maxsplit=1)[0])


def _imported_modules() -> dict[str, str]:
    """Top-level third-party modules imported anywhere in src/ -> first file seen."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "src" / "electrohet").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for n in names:
                top = n.split(".")[0]
                if top in sys.stdlib_module_names or top in ("electrohet", "__future__"):
                    continue
                found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_import_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_requirement_name(r) for r in project["dependencies"]}
    extras = {
        _requirement_name(r) for reqs in project["optional-dependencies"].values() for r in reqs
    }
    dists = packages_distributions()
    missing = []
    for module, where in _imported_modules().items():
        if module in OPTIONAL_WITH_FALLBACK:
            continue
        candidates = {_norm(d) for d in dists.get(module, [])} or {_norm(module)}
        if not candidates & (runtime | extras):
            missing.append(f"{module} ({where})")
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_numba_is_a_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "numba" in {_requirement_name(r) for r in project["dependencies"]}


def test_numcodecs_refuses_pickle_decoding():
    """GHSA-jqc8-qjfv-5m6r: numcodecs >= 0.16.6 (0.15.2, 0.17.1) refuses by default."""
    numcodecs = pytest.importorskip("numcodecs")
    import numpy as np
    from numcodecs.pickles import Pickle

    payload = Pickle().encode(np.array(["a", "b"], dtype=object))
    with pytest.raises(Exception, match="(?i)unsafe|pickle") as info:
        Pickle().decode(payload)
    assert type(info.value).__name__ == "UnsafeDecodeError", numcodecs.__version__


def test_version_has_one_value():
    """``electrohet.__version__`` is the version pyproject.toml declares (0.2 was
    released on 2026-11-29, CHANGELOG.md; main is the next development version)."""
    import tomllib
    from pathlib import Path

    import electrohet

    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert electrohet.__version__ == meta["project"]["version"]
    assert tuple(int(x) for x in electrohet.__version__.split(".")[:2]) >= (0, 2)
