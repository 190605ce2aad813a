"""The package structure holds: no import cycle among the children of any package.

`lint-imports` checks the same with its contracts (pyproject.toml); this test keeps the
rule inside `pytest` too, names the cycle it finds, and counts every import, including
those under `TYPE_CHECKING` and inside functions (grimp reads them all).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import grimp
import pytest

from slo_engine.graph.cycles import strongly_connected_components

ROOT = "slo_engine"


def knots(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The import cycles among `edges`' nodes: strongly connected components of more
    than one node (the core's own Tarjan, graph/cycles.py: O(nodes + edges))."""
    nodes = sorted(set(edges) | {target for targets in edges.values() for target in targets})
    adjacency = {node: sorted(targets) for node, targets in edges.items()}
    return [c for c in strongly_connected_components(nodes, adjacency) if len(c) > 1]


def child_of(package: str, module: str) -> str | None:
    """The child of `package` that holds `module`, or None when it is outside."""
    prefix = package + "."
    if not module.startswith(prefix):
        return None
    return prefix + module[len(prefix) :].split(".", 1)[0]


def sibling_imports(graph: grimp.ImportGraph, package: str) -> dict[str, set[str]]:
    """Which child of `package` imports which other child (through any descendant)."""
    edges: dict[str, set[str]] = {}
    for importer in graph.find_descendants(package):
        source = child_of(package, importer)
        if source is None:
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            target = child_of(package, imported)
            if target is not None and target != source:
                edges.setdefault(source, set()).add(target)
    return edges


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(ROOT, include_external_packages=False)


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"f"}, "f": {"e"}}
    assert sorted(knots(edges)) == [["a", "b", "c"], ["e", "f"]]
    assert knots({"a": {"b"}, "b": {"c"}}) == []


def test_no_package_has_children_that_import_each_other_in_a_cycle(
    graph: grimp.ImportGraph,
) -> None:
    inner = sorted(module for module in graph.find_descendants(ROOT) if graph.find_children(module))
    packages = [ROOT, *inner]
    found = {
        package: cycles
        for package in packages
        if (cycles := knots(sibling_imports(graph, package)))
    }
    assert not found, found
    # The check saw the real structure: the top level has its parts, and they import.
    assert len(sibling_imports(graph, ROOT)) >= 10


def test_the_infrastructure_imports_no_feature(graph: grimp.ImportGraph) -> None:
    below = {f"{ROOT}.{name}" for name in ("infra", "settings", "errors", "rate_policy", "graph")}
    outside = {
        (importer, imported)
        for importer in graph.find_descendants(f"{ROOT}.infra")
        for imported in graph.find_modules_directly_imported_by(importer)
        if child_of(ROOT, imported) not in below
    }
    assert not outside, sorted(outside)
