"""Strongly connected components, circular dependencies and concrete cycles vs networkx."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_engine.graph.cycles import cycle_path, cyclic_components, strongly_connected_components

Edge = tuple[str, str]


def adjacency_of(edges: Iterable[Edge]) -> dict[str, list[str]]:
    adjacency: dict[str, list[str]] = {}
    for source, target in dict.fromkeys(edges):
        adjacency.setdefault(source, []).append(target)
    return adjacency


def nx_graph(nodes: Iterable[str], edges: Iterable[Edge]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return graph


NAMES = st.text(alphabet="abcdefghij", min_size=1, max_size=3)


@st.composite
def digraphs(draw: st.DrawFn) -> tuple[list[str], list[Edge]]:
    nodes = draw(st.lists(NAMES, min_size=1, max_size=30, unique=True))
    node = st.sampled_from(nodes)
    edges = draw(st.lists(st.tuples(node, node), max_size=80))
    return nodes, edges


def assert_real_cycle(path: list[str], members: list[str], edges: set[Edge]) -> None:
    start = min(members)
    assert len(path) >= 2
    assert path[0] == path[-1] == start
    assert set(path) <= set(members)
    for source, target in itertools.pairwise(path):
        assert (source, target) in edges, f"{source} -> {target} is not an edge"
    if len(members) > 1:
        # A simple cycle: no node repeats except the closing start.
        assert len(set(path[:-1])) == len(path) - 1
        assert all(source != target for source, target in itertools.pairwise(path))


def shortest_cycle_length(members: list[str], edges: set[Edge]) -> int:
    """Edges in the shortest cycle through min(members) inside the component, no self-loops."""
    start = min(members)
    inside = nx.DiGraph()
    inside.add_nodes_from(members)
    inside.add_edges_from((s, t) for s, t in edges if s in inside and t in inside and s != t)
    lengths = nx.single_source_shortest_path_length(inside, start)
    return 1 + min(lengths[p] for p in inside.predecessors(start))


# --------------------------------------------------------------------------- hand-made cases


def test_sccs_in_reverse_topological_order() -> None:
    # c -> {a, b} -> d
    adjacency = {"c": ["a"], "a": ["b", "d"], "b": ["a"], "d": []}

    components = strongly_connected_components("abcd", adjacency)

    assert components == [["d"], ["a", "b"], ["c"]]


def test_scc_visits_nodes_missing_from_the_node_list() -> None:
    components = strongly_connected_components(["a"], {"a": ["b"], "b": ["a"]})

    assert components == [["a", "b"]]


def test_cyclic_components_keep_self_loops_and_multi_node_sccs_only() -> None:
    adjacency = {
        "a": ["b"],
        "b": ["c"],
        "c": ["a", "d"],
        "d": ["d", "e"],
        "e": [],
        "f": ["a"],
    }

    assert cyclic_components("abcdef", adjacency) == [["a", "b", "c"], ["d"]]


def test_cyclic_components_sorted_by_smallest_member() -> None:
    adjacency = {"z": ["y"], "y": ["z"], "m": ["m"], "b": ["q"], "q": ["b"]}

    assert cyclic_components(["z", "y", "m", "b", "q"], adjacency) == [
        ["b", "q"],
        ["m"],
        ["y", "z"],
    ]


def test_acyclic_graph_has_no_cyclic_components() -> None:
    assert cyclic_components("abc", {"a": ["b", "c"], "b": ["c"]}) == []


def test_cycle_path_of_a_triangle_starts_at_smallest_member() -> None:
    adjacency = {"c": ["a"], "a": ["b"], "b": ["c"]}

    assert cycle_path(["c", "b", "a"], adjacency) == ["a", "b", "c", "a"]


def test_cycle_path_of_a_self_loop() -> None:
    assert cycle_path(["x"], {"x": ["x"]}) == ["x", "x"]


def test_cycle_path_skips_self_loop_in_a_multi_node_component() -> None:
    adjacency = {"a": ["a", "b"], "b": ["a"]}

    assert cycle_path(["a", "b"], adjacency) == ["a", "b", "a"]


def test_cycle_path_is_shortest_through_smallest_member() -> None:
    # a -> b -> c -> d -> a (length 4) and a -> e -> a (length 2).
    adjacency = {"a": ["b", "e"], "b": ["c"], "c": ["d"], "d": ["a"], "e": ["a"]}

    assert cycle_path(list("abcde"), adjacency) == ["a", "e", "a"]


def test_cycle_path_stays_inside_the_members() -> None:
    # b <-> a is a shorter-looking detour through a node outside the members given.
    adjacency = {"b": ["a", "c"], "a": ["b"], "c": ["b"]}

    assert cycle_path(["b", "c"], adjacency) == ["b", "c", "b"]


def test_cycle_path_rejects_members_that_are_not_a_cycle() -> None:
    with pytest.raises(ValueError, match="not a strongly connected component"):
        cycle_path(["a", "b"], {"a": ["b"]})


def test_hundred_thousand_node_cycle_needs_no_recursion() -> None:
    n = 100_000
    assert sys.getrecursionlimit() < n  # a recursive walk would fail here
    names = [f"s{i:06d}" for i in range(n)]
    adjacency = {names[i]: [names[(i + 1) % n]] for i in range(n)}

    components = cyclic_components(names, adjacency)

    assert len(components) == 1
    assert components[0] == names  # already sorted
    path = cycle_path(components[0], adjacency)
    assert path == [*names, names[0]]


def test_hundred_thousand_node_chain_gives_singletons_in_reverse_order() -> None:
    n = 100_000
    names = [f"s{i:06d}" for i in range(n)]
    adjacency = {names[i]: [names[i + 1]] for i in range(n - 1)}

    components = strongly_connected_components(names, adjacency)

    assert components == [[name] for name in reversed(names)]
    assert cyclic_components(names, adjacency) == []


# --------------------------------------------------------------------------- property tests


@settings(max_examples=200, deadline=None)
@given(digraphs())
def test_sccs_match_networkx(graph: tuple[list[str], list[Edge]]) -> None:
    nodes, edges = graph
    adjacency = adjacency_of(edges)

    components = strongly_connected_components(nodes, adjacency)

    expected = {frozenset(c) for c in nx.strongly_connected_components(nx_graph(nodes, edges))}
    assert {frozenset(c) for c in components} == expected
    assert sum(len(c) for c in components) == len(nodes)  # a partition: nothing twice
    assert all(c == sorted(c) for c in components)


@settings(max_examples=150, deadline=None)
@given(digraphs())
def test_sccs_come_in_reverse_topological_order(graph: tuple[list[str], list[Edge]]) -> None:
    nodes, edges = graph

    components = strongly_connected_components(nodes, adjacency_of(edges))

    position = {node: i for i, component in enumerate(components) for node in component}
    for source, target in edges:
        # A callee's component is emitted no later than its caller's.
        assert position[target] <= position[source]


@settings(max_examples=200, deadline=None)
@given(digraphs())
def test_cyclic_components_match_networkx(graph: tuple[list[str], list[Edge]]) -> None:
    nodes, edges = graph
    oracle_graph = nx_graph(nodes, edges)

    found = cyclic_components(nodes, adjacency_of(edges))

    expected = sorted(
        sorted(component)
        for component in nx.strongly_connected_components(oracle_graph)
        if len(component) > 1 or oracle_graph.has_edge(next(iter(component)), next(iter(component)))
    )
    assert found == expected


@settings(max_examples=200, deadline=None)
@given(digraphs())
def test_cycle_path_is_a_shortest_real_cycle(graph: tuple[list[str], list[Edge]]) -> None:
    nodes, edges = graph
    adjacency = adjacency_of(edges)
    edge_set = set(edges)

    for members in cyclic_components(nodes, adjacency):
        path = cycle_path(members, adjacency)
        assert_real_cycle(path, members, edge_set)
        if len(members) == 1:
            assert path == [members[0], members[0]]
        else:
            assert len(path) - 1 == shortest_cycle_length(members, edge_set)
