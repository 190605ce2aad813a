"""The package structure holds: no import cycle among the children of any package.

`lint-imports` checks the same with its contracts (pyproject.toml); this test keeps the
rule inside `pytest` too, names the cycle it finds, and counts every import, including
those under `TYPE_CHECKING` and inside functions (grimp reads them all).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import grimp
import pytest

ROOT = "slo_engine"


def strongly_connected(edges: Mapping[str, Iterable[str]]) -> list[set[str]]:
    """The components of more than one node (each one a cycle or a knot of them).
    Tarjan's algorithm, iterative: O(nodes + edges)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    nodes = set(edges) | {target for targets in edges.values() for target in targets}
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(edges.get(target, ())))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


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
    assert sorted(map(sorted, strongly_connected(edges))) == [["a", "b", "c"], ["e", "f"]]
    assert strongly_connected({"a": {"b"}, "b": {"c"}}) == []


def test_no_package_has_children_that_import_each_other_in_a_cycle(
    graph: grimp.ImportGraph,
) -> None:
    inner = sorted(module for module in graph.find_descendants(ROOT) if graph.find_children(module))
    packages = [ROOT, *inner]
    knots = {package: strongly_connected(sibling_imports(graph, package)) for package in packages}
    found = {package: cycles for package, cycles in knots.items() if cycles}
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
