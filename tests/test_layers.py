"""The layers import one way: backends -> models -> explain -> report / cli.

Every ``import glasstext...`` statement counts, wherever it stands (module
level, inside a function, or under ``TYPE_CHECKING``), so a lazy import cannot
hide a cycle.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "glasstext"
ORDER = ["backends", "models", "explain", "report", "cli"]


def _imported_names(path: Path) -> Iterator[tuple[str, list[str]]]:
    """Each import statement of ``path``: the module it names and the names it takes."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            yield _absolute(path, node), [a.name for a in node.names]


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module of a ``from ... import`` (relative ones resolved from ``path``)."""
    if not node.level:
        return node.module or ""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer_imports() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {layer: set() for layer in ORDER}
    for layer in ORDER:
        for path in (PACKAGE / layer).rglob("*.py"):
            for name, _ in _imported_names(path):
                parts = name.split(".")
                if parts[0] == "glasstext" and len(parts) > 1 and parts[1] in ORDER:
                    edges[layer].add(parts[1])
    return edges


@pytest.mark.parametrize("layer", ORDER)
def test_a_layer_imports_only_the_layers_below_it(layer):
    below = set(ORDER[: ORDER.index(layer) + 1])
    assert _layer_imports()[layer] <= below, f"{layer} imports a layer above it"


def test_the_layer_order_has_no_cycle():
    edges = _layer_imports()
    for layer, targets in edges.items():
        for target in targets - {layer}:
            assert layer not in edges[target], f"{layer} and {target} import each other"


# -- modules -------------------------------------------------------------------------------


def module_imports() -> dict[str, set[str]]:
    """Every module of glasstext -> the glasstext modules it imports.

    ``from glasstext.a import b`` imports the module ``glasstext.a.b`` when
    there is one, else ``glasstext.a`` (a package's ``__init__``).
    """
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        targets = set()
        for name, taken in _imported_names(path):
            if name != "glasstext" and not name.startswith("glasstext."):
                continue
            for full in [f"{name}.{t}" for t in taken] or [name]:
                targets.add(full if full in paths else name)
        graph[module] = {t for t in targets if t in paths and t != module}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_through(group, graph) for group in groups]


def _cycle_through(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle from the group's first module back to it, inside the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        reached = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    reached.append(nxt)
        frontier = reached
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - a group has one


def test_the_cycle_finder_reports_one_cycle_per_group():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert import_cycles(graph) == [["a", "b", "c", "a"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_counts_lazy_imports_and_submodules():
    graph = module_imports()
    # a function-level import in the CLI, a module taken from its package by ``from``
    assert "glasstext.explain.iprompt" in graph["glasstext.cli.explain"]
    assert "glasstext.explain.proxy_task" in graph["glasstext.explain"]


def test_no_module_imports_itself_through_others():
    cycles = import_cycles(module_imports())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
