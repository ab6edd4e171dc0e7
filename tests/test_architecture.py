"""The package's import graph has no cycle (function-local imports included), and no capability probes.

Modules are the nodes; an edge runs from a module to each lrcontrol module it imports anywhere in its source
(`import lrcontrol.x`, `from . import x`, `from .x import y`, also inside functions). `from P import name` points at
the submodule P.name where one exists, else at P. A package's own `__init__` is not implied by importing one of its
submodules (that edge would make every `from .systems._base import …` depend on every system). A cycle is a strongly
connected component of more than one module, or a module importing itself.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "lrcontrol"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in files else source
                           for alias in node.names]
            for target in targets:
                while target and target not in files:  # `import lrcontrol.x.y` names x.y's module
                    target = target.rpartition(".")[0]
                if target.startswith("lrcontrol") and target in files:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, and self-imports (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 30 and "lrcontrol.systems._base" in graph["lrcontrol._problem"]  # the walk sees the edges
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_capability_probes_in_the_package():
    # A capability is a method with a working default on the base class, never `hasattr`.
    offenders = [f"{p.relative_to(ROOT.parent)}:{i}" for p in ROOT.rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1) if "hasattr(" in line]
    assert offenders == []
