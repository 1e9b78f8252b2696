"""The layers of ``../shared/DESIGN.md`` section 7 as a contract over the import graph.

Lowest first: the foundation (errors, file I/O, bounded reads, the version) < catalog <
scenario < artifacts (validation of plan.json/sim.json) < plan < sim < ledger < actuals <
report < server < cli. docs/architecture.md draws the same picture. A module may import from its own package and from packages in
lower layers only, and the module graph has no cycles: a cycle hidden in a function-level import
counts too (every ``import`` statement in the file is read, wherever it sits).

The graph is read from the source with :mod:`ast`, so the test needs nothing installed and names
the offending file and line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "hyperplan"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "fileio", "paths", "version"),
    ("catalog",),
    ("scenario", "synthetic", "templates"),
    ("artifacts",),
    ("plan",),
    ("sim",),
    ("ledger",),
    ("actuals",),
    ("report",),
    ("server",),
    ("cli",),
)
"""Packages (and top-level modules) of ``hyperplan`` by layer, lowest first."""

ROOT_LAYER = len(LAYERS) - 1
"""``hyperplan/__init__.py`` re-exports the public API, so it sits with the CLI at the top."""


@dataclass(frozen=True)
class Edge:
    """One import statement: ``source`` imports ``target`` at ``path:line`` (path from src)."""

    source: str
    target: str
    path: str
    line: int


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(src: Path = SRC) -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    return {module_name(p, src): p for p in sorted((src / PACKAGE).rglob("*.py"))}


def imports(name: str, path: Path, known: dict[str, Path], src: Path = SRC) -> list[Edge]:
    """The package-internal imports of one module (each resolved to a known module)."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    edges: list[Edge] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [f"{target}.{a.name}" for a in node.names] + [target]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        for cand in candidates:
            if cand in known and cand != name:
                edges.append(Edge(name, cand, path.relative_to(src).as_posix(), node.lineno))
                if cand != target:  # `from pkg import submodule`: the submodule is the target
                    break
    return edges


def graph(src: Path = SRC) -> list[Edge]:
    known = modules(src)
    return [e for name, path in known.items() for e in imports(name, path, known, src)]


def layer_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return ROOT_LAYER
    for index, members in enumerate(LAYERS):
        if parts[1] in members:
            return index
    raise KeyError(f"{module}: not in any layer of tests/test_layers.py; add it to LAYERS")


def layer_violations(edges: list[Edge]) -> list[str]:
    out = []
    for e in edges:
        src_top, dst_top = e.source.split(".")[:2], e.target.split(".")[:2]
        if src_top == dst_top:
            continue
        if layer_of(e.target) > layer_of(e.source):
            out.append(f"{e.path}:{e.line}: {e.source} imports {e.target}, a higher layer")
    return sorted(out)


def cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    succ: dict[str, list[str]] = {}
    for e in edges:
        succ.setdefault(e.source, []).append(e.target)
        succ.setdefault(e.target, [])
    for targets in succ.values():
        targets.sort()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(succ):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = len(index)
                stack.append(v)
                on_stack.add(v)
            if i < len(succ[v]):
                work.append((v, i + 1))
                w = succ[v][i]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return sorted(found)


def test_every_module_has_a_layer() -> None:
    for name in modules():
        layer_of(name)


def test_no_module_imports_a_higher_layer() -> None:
    assert layer_violations(graph()) == []


def test_the_import_graph_has_no_cycles() -> None:
    assert cycles(graph()) == []


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    pkg = tmp_path / PACKAGE
    for sub in ("catalog", "plan", "report"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "plan" / "solve.py").write_text("from hyperplan.catalog import x\n")
    (pkg / "report" / "html.py").write_text("from ..plan import solve\n")
    return tmp_path


def test_a_forbidden_import_is_caught(tree: Path) -> None:
    assert layer_violations(graph(tree)) == []
    (tree / PACKAGE / "catalog" / "offers.py").write_text(
        "def f():\n    from hyperplan.report import html\n"
    )
    assert layer_violations(graph(tree)) == [
        "hyperplan/catalog/offers.py:2: hyperplan.catalog.offers imports "
        "hyperplan.report.html, a higher layer"
    ]


def test_a_cycle_is_caught(tree: Path) -> None:
    assert cycles(graph(tree)) == []
    (tree / PACKAGE / "plan" / "build.py").write_text("from hyperplan.plan.solve import y\n")
    (tree / PACKAGE / "plan" / "solve.py").write_text(
        "from hyperplan.catalog import x\nfrom . import build\n"
    )
    assert cycles(graph(tree)) == [["hyperplan.plan.build", "hyperplan.plan.solve"]]
