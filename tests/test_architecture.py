"""The house rules of ../shared/DESIGN.md, read off the code: imports flow one way
(interiorvideo < pipelines < x2video < benchmarks < leaderboard < workbench), no module imports
one to its right, no package has an import cycle between its modules, and no subprocess starts a
package's module to dodge the rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("interiorvideo", "pipelines", "x2video", "benchmarks", "leaderboard", "workbench")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING"


def _imports(path: Path, with_type_checking: bool = True) -> set[str]:
    """Absolute names of every module the file imports (relative imports resolved); imports under
    ``if TYPE_CHECKING:`` count unless ``with_type_checking`` is false (they never run)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    tree = ast.parse(path.read_text(), filename=str(path))
    type_only = {id(n) for block in ast.walk(tree) if _is_type_checking(block) for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in type_only and not with_type_checking:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            out |= {f"{target}.{a.name}" for a in node.names}
    return out


def _sources() -> list[Path]:
    return sorted(p for pkg in ORDER if (ROOT / pkg).is_dir() for p in (ROOT / pkg).rglob("*.py"))


def _graph(with_type_checking: bool = True) -> dict[str, set[str]]:
    sources = _sources()
    known = {_module_name(p) for p in sources}
    graph = {}
    for p in sources:
        graph[_module_name(p)] = {m for m in _imports(p, with_type_checking) if m in known} - {_module_name(p)}
    return graph


def test_no_import_runs_back_up_the_package_order():
    back = []
    for module, deps in _graph().items():
        rank = ORDER.index(module.split(".")[0])
        back += [f"{module} -> {d}" for d in deps if ORDER.index(d.split(".")[0]) > rank]
    assert not back, "imports that run back up: " + "; ".join(sorted(back))


def test_no_import_cycle_between_modules():
    """At run time: a type hint under ``if TYPE_CHECKING`` may name a module that imports this one
    (the sampling loop is typed with the pipeline whose ``__call__`` runs it)."""
    graph = _graph(with_type_checking=False)
    # A module importing its own package's __init__ (or a parent's) is how packages re-export;
    # only cycles between modules that are not each other's package count.
    edges = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(cycles)


def test_no_subprocess_runs_a_package_module():
    """``python -m benchmarks.cli`` from x2video would be an import in disguise."""
    offenders = []
    for p in _sources():
        text = p.read_text()
        own = ORDER.index(p.relative_to(ROOT).parts[0])
        for pkg in ORDER[own + 1:]:
            if f'"-m", "{pkg}' in text or f"-m {pkg}" in text:
                offenders.append(f"{p.relative_to(ROOT)} runs {pkg}")
    assert not offenders, offenders


def test_the_checks_see_a_back_arrow_and_a_cycle(tmp_path, monkeypatch):
    """The walk above resolves relative imports the way Python does."""
    pkg = tmp_path / "interiorvideo" / "scene"
    pkg.mkdir(parents=True)
    (tmp_path / "interiorvideo" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from .model import Scene\n")
    (pkg / "model.py").write_text("def f():\n    from .edits import x\n    import pipelines.validate\n")
    (pkg / "edits.py").write_text("from .model import Scene\nfrom ..fileio import atomic_write_bytes\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert _imports(pkg / "model.py") >= {"interiorvideo.scene.edits", "pipelines.validate"}
    assert "interiorvideo.fileio" in _imports(pkg / "edits.py")
    with pytest.raises(AssertionError, match="scene.model -> interiorvideo.scene.edits -> interiorvideo.scene.model"):
        test_no_import_cycle_between_modules()
