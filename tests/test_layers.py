"""The layers import one way: backends -> models -> explain -> report / cli.

Every ``import glasstext...`` statement counts, wherever it stands (module
level, inside a function, or under ``TYPE_CHECKING``), so a lazy import cannot
hide a cycle.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "glasstext"
ORDER = ["backends", "models", "explain", "report", "cli"]


def _layer_imports() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {layer: set() for layer in ORDER}
    for layer in ORDER:
        for path in (PACKAGE / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                for name in names:
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
