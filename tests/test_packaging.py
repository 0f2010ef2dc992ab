"""The distribution is complete: every module of the five packages imports, and every third-party
module the code imports belongs to a distribution that pyproject.toml declares.

The second check is the one that matters on a developer's machine: a package that only arrives
as somebody else's dependency (or was installed by hand) imports fine there and is missing on a
fresh one (``shapely`` was, for a month).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("interiorvideo", "pipelines", "x2video", "benchmarks", "leaderboard", "workbench")


def _modules() -> list[str]:
    names = []
    for pkg in PACKAGES:
        names.append(pkg)
        module = importlib.import_module(pkg)
        names += [m.name for m in pkgutil.walk_packages(module.__path__, prefix=f"{pkg}.")
                  if not m.name.endswith(".__main__")]
    return names


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"]) + [d for extra in project.get("optional-dependencies", {}).values()
                                            for d in extra]
    return {_normalise(re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0]) for d in specs}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _third_party_imports(path: Path) -> set[str]:
    """Top-level names of absolute imports anywhere in the file (function-local ones included)."""
    tops = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            tops |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return {t for t in tops if t not in sys.stdlib_module_names and t not in PACKAGES}


@pytest.mark.parametrize("name", _modules())
def test_every_module_imports(name):
    importlib.import_module(name)


def test_every_imported_distribution_is_declared():
    declared, dists = _declared(), packages_distributions()
    missing = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for top in _third_party_imports(path):
                provided_by = {_normalise(d) for d in dists.get(top, [top])}
                if not provided_by & declared:
                    missing.setdefault(top, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_the_check_sees_an_undeclared_import(tmp_path):
    """The walk above would catch a module that imports something pyproject.toml lacks."""
    f = tmp_path / "m.py"
    f.write_text("def f():\n    import shapely.geometry\n    from tqdm import tqdm\n    from . import x\n")
    assert _third_party_imports(f) == {"shapely", "tqdm"}
    assert "shapely" in _declared() and "tqdm" in _declared() and "jax" not in _declared()
