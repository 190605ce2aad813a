"""Subgraph traversal against the contract of design.md, "Query".

Hand-made cases pin the contract's corner cases; property tests compare every answer with
networkx shortest-path lengths on random directed graphs with cycles and self-loops.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_engine.graph.model import Direction
from slo_engine.graph.traversal import Subgraph, hop_distances, reachable, subgraph

Edge = tuple[str, str]


def adjacencies(edges: Iterable[Edge]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(downstream, upstream) adjacency of the distinct `edges`, in the order given."""
    downstream: dict[str, list[str]] = {}
    upstream: dict[str, list[str]] = {}
    for source, target in dict.fromkeys(edges):
        downstream.setdefault(source, []).append(target)
        upstream.setdefault(target, []).append(source)
    return downstream, upstream


def query(
    edges: Iterable[Edge], root: str, direction: Direction, depth: int, max_nodes: int = 10_000
) -> Subgraph:
    downstream, upstream = adjacencies(edges)
    return subgraph(downstream, upstream, root, direction, depth, max_nodes)


# --------------------------------------------------------------------------- hand-made cases


def test_chain_downstream_stops_at_depth() -> None:
    chain = [("a", "b"), ("b", "c"), ("c", "d")]

    two = query(chain, "a", Direction.DOWNSTREAM, 2)
    assert two.depths == {"b": 1, "c": 2}
    assert two.edges == [("a", "b"), ("b", "c")]
    assert not two.truncated
    assert two.max_depth_reached == 2

    three = query(chain, "a", Direction.DOWNSTREAM, 3)
    assert three.depths == {"b": 1, "c": 2, "d": 3}
    assert three.edges == [("a", "b"), ("b", "c"), ("c", "d")]


def test_chain_upstream_walks_against_calls() -> None:
    chain = [("a", "b"), ("b", "c"), ("c", "d")]

    answer = query(chain, "d", Direction.UPSTREAM, 2)

    assert answer.root == "d"
    assert answer.depths == {"c": 1, "b": 2}
    # Edges keep their real direction (caller, callee).
    assert answer.edges == [("b", "c"), ("c", "d")]


def test_leaf_root_has_empty_answer() -> None:
    answer = query([("a", "b")], "b", Direction.DOWNSTREAM, 5)

    assert answer.depths == {}
    assert answer.edges == []
    assert answer.max_depth_reached == 0
    assert not answer.truncated


def test_unknown_root_has_empty_answer() -> None:
    answer = query([("a", "b")], "zzz", Direction.BOTH, 5)

    assert answer.depths == {}
    assert answer.edges == []


def test_diamond_visits_shared_node_once_at_its_shortest_distance() -> None:
    diamond = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]

    answer = query(diamond, "a", Direction.DOWNSTREAM, 2)
    assert answer.depths == {"b": 1, "c": 1, "d": 2}
    assert answer.edges == sorted(diamond)

    # At depth 1, b and c are at distance == depth: their outgoing edges are not returned.
    shallow = query(diamond, "a", Direction.DOWNSTREAM, 1)
    assert shallow.depths == {"b": 1, "c": 1}
    assert shallow.edges == [("a", "b"), ("a", "c")]


def test_diamond_with_long_and_short_path_takes_shortest() -> None:
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")]

    answer = query(edges, "a", Direction.DOWNSTREAM, 3)

    assert answer.depths == {"b": 1, "d": 1, "c": 2}


def test_cycle_through_root_excludes_root_and_keeps_closing_edge() -> None:
    cycle = [("a", "b"), ("b", "c"), ("c", "a")]

    answer = query(cycle, "a", Direction.DOWNSTREAM, 3)
    assert "a" not in answer.depths
    assert answer.depths == {"b": 1, "c": 2}
    # c is at distance 2 < 3, so its edge back to the root is returned.
    assert answer.edges == [("a", "b"), ("b", "c"), ("c", "a")]

    # At depth 2, c is at distance == depth: the closing edge is not returned.
    shallow = query(cycle, "a", Direction.DOWNSTREAM, 2)
    assert shallow.depths == {"b": 1, "c": 2}
    assert shallow.edges == [("a", "b"), ("b", "c")]


def test_cycle_through_root_upstream() -> None:
    cycle = [("a", "b"), ("b", "c"), ("c", "a")]

    answer = query(cycle, "a", Direction.UPSTREAM, 3)

    assert answer.depths == {"c": 1, "b": 2}
    assert answer.edges == [("a", "b"), ("b", "c"), ("c", "a")]


def test_self_loop_at_root_is_an_edge_but_root_is_not_a_node() -> None:
    edges = [("a", "a"), ("a", "b")]

    down = query(edges, "a", Direction.DOWNSTREAM, 1)
    assert down.depths == {"b": 1}
    assert down.edges == [("a", "a"), ("a", "b")]

    up = query(edges, "a", Direction.UPSTREAM, 1)
    assert up.depths == {}
    assert up.edges == [("a", "a")]

    both = query(edges, "a", Direction.BOTH, 1)
    assert both.depths == {"b": 1}
    assert both.edges == [("a", "a"), ("a", "b")]


def test_self_loop_at_root_survives_truncation() -> None:
    edges = [("a", "a"), ("a", "b"), ("a", "c")]

    answer = query(edges, "a", Direction.DOWNSTREAM, 1, max_nodes=1)

    assert answer.truncated
    assert answer.depths == {"b": 1}
    assert answer.edges == [("a", "a"), ("a", "b")]


def test_self_loop_away_from_root_is_returned_when_its_node_is_expanded() -> None:
    edges = [("a", "b"), ("b", "b")]

    assert query(edges, "a", Direction.DOWNSTREAM, 2).edges == [("a", "b"), ("b", "b")]
    assert query(edges, "a", Direction.DOWNSTREAM, 1).edges == [("a", "b")]


def test_both_is_a_union_not_an_undirected_walk() -> None:
    # a -> b <- c: c calls b but is neither a callee nor a caller (transitively) of a.
    edges = [("a", "b"), ("c", "b")]

    answer = query(edges, "a", Direction.BOTH, 5)

    assert answer.depths == {"b": 1}
    assert "c" not in answer.depths
    assert answer.edges == [("a", "b")]


def test_both_is_a_union_not_an_undirected_walk_upstream_side() -> None:
    # x -> a and x -> y: y is a sibling callee of a caller, not reachable in either direction.
    edges = [("x", "a"), ("x", "y"), ("a", "b")]

    answer = query(edges, "a", Direction.BOTH, 5)

    assert answer.depths == {"b": 1, "x": 1}
    assert answer.edges == [("a", "b"), ("x", "a")]


def test_both_takes_the_smaller_distance_and_unions_edges() -> None:
    # Downstream: b at 1, c at 2. Upstream: c at 1 (c calls a), b at 2.
    edges = [("a", "b"), ("b", "c"), ("c", "a")]

    deep = query(edges, "a", Direction.BOTH, 2)
    assert deep.depths == {"b": 1, "c": 1}
    assert deep.edges == [("a", "b"), ("b", "c"), ("c", "a")]

    # Depth 1: downstream gives (a, b), upstream gives (c, a); (b, c) leaves / enters only
    # nodes at distance 1 == depth, so neither walk returns it.
    shallow = query(edges, "a", Direction.BOTH, 1)
    assert shallow.depths == {"b": 1, "c": 1}
    assert shallow.edges == [("a", "b"), ("c", "a")]


def test_both_returns_an_edge_found_by_both_walks_once() -> None:
    edges = [("a", "b"), ("b", "a")]

    answer = query(edges, "a", Direction.BOTH, 3)

    assert answer.depths == {"b": 1}
    assert answer.edges == [("a", "b"), ("b", "a")]


def test_depth_limit_on_long_chain() -> None:
    chain = [(f"n{i:02d}", f"n{i + 1:02d}") for i in range(30)]

    answer = query(chain, "n00", Direction.DOWNSTREAM, 10)

    assert answer.depths == {f"n{i:02d}": i for i in range(1, 11)}
    assert answer.max_depth_reached == 10
    assert answer.edges == chain[:10]


def test_truncation_keeps_closest_nodes_ties_by_id_and_only_edges_among_kept() -> None:
    edges = [
        ("r", "m"),
        ("r", "c"),
        ("r", "k"),
        ("c", "z"),
        ("c", "a"),
        ("k", "m"),  # between two depth-1 nodes
        ("m", "r"),  # back to the root
        ("z", "q"),
    ]

    three = query(edges, "r", Direction.DOWNSTREAM, 3, max_nodes=3)
    assert three.truncated
    assert three.depths == {"c": 1, "k": 1, "m": 1}
    assert three.edges == [("k", "m"), ("m", "r"), ("r", "c"), ("r", "k"), ("r", "m")]

    # Depth-2 nodes a and z tie: a wins by service id; (c, z) is dropped with z.
    four = query(edges, "r", Direction.DOWNSTREAM, 3, max_nodes=4)
    assert four.truncated
    assert four.depths == {"c": 1, "k": 1, "m": 1, "a": 2}
    assert four.edges == [("c", "a"), ("k", "m"), ("m", "r"), ("r", "c"), ("r", "k"), ("r", "m")]

    exact = query(edges, "r", Direction.DOWNSTREAM, 3, max_nodes=6)
    assert not exact.truncated
    assert list(exact.depths) == ["c", "k", "m", "a", "z", "q"]
    assert ("z", "q") in exact.edges


def test_truncation_to_zero_nodes_keeps_only_root_self_loops() -> None:
    edges = [("r", "r"), ("r", "a"), ("a", "r")]

    answer = query(edges, "r", Direction.BOTH, 2, max_nodes=0)

    assert answer.truncated
    assert answer.depths == {}
    assert answer.edges == [("r", "r")]


def test_not_truncated_when_reach_equals_max_nodes() -> None:
    answer = query([("a", "b"), ("a", "c")], "a", Direction.DOWNSTREAM, 1, max_nodes=2)

    assert not answer.truncated
    assert answer.depths == {"b": 1, "c": 1}


def test_nodes_ordered_by_depth_then_id_and_edges_sorted() -> None:
    # Adjacency lists in reverse alphabetical order, so discovery order differs from the
    # required (depth, id) order.
    edges = [("r", "z"), ("r", "y"), ("r", "b"), ("z", "a"), ("y", "c"), ("b", "x")]

    answer = query(edges, "r", Direction.DOWNSTREAM, 2)

    assert list(answer.depths.items()) == [
        ("b", 1),
        ("y", 1),
        ("z", 1),
        ("a", 2),
        ("c", 2),
        ("x", 2),
    ]
    assert answer.edges == sorted(edges)


def test_equal_graphs_in_different_adjacency_order_give_equal_answers() -> None:
    edges = [("r", "z"), ("r", "y"), ("y", "z"), ("z", "r"), ("q", "r"), ("y", "q")]

    first = query(edges, "r", Direction.BOTH, 3)
    second = query(list(reversed(edges)), "r", Direction.BOTH, 3)

    assert first == second
    assert list(first.depths) == list(second.depths)


def test_hop_distances_includes_root_at_zero() -> None:
    assert hop_distances({"a": ["b", "a"], "b": ["c"]}, "a", 1) == {"a": 0, "b": 1}


def test_hop_distances_stops_after_the_level_that_passes_enough() -> None:
    # r -> a, b (level 1) -> c, d (level 2) -> e (level 3)
    adjacency = {"r": ["a", "b"], "a": ["c"], "b": ["d"], "c": ["e"]}

    assert hop_distances(adjacency, "r", 10, enough=1) == {"r": 0, "a": 1, "b": 1}
    # Exactly `enough` found so far: the walk goes on, since more may follow.
    assert hop_distances(adjacency, "r", 10, enough=2) == {"r": 0, "a": 1, "b": 1, "c": 2, "d": 2}
    assert hop_distances(adjacency, "r", 10, enough=None)["e"] == 3


def test_reachable_follows_cycles_and_includes_starts() -> None:
    adjacency = {"a": ["b"], "b": ["c", "a"], "c": [], "x": ["a"]}

    assert reachable(adjacency, ["a"]) == {"a", "b", "c"}
    assert reachable(adjacency, ["c"]) == {"c"}
    assert reachable(adjacency, ["x", "c"]) == {"x", "a", "b", "c"}
    assert reachable(adjacency, []) == set()


# --------------------------------------------------------------------------- fan-out graph


class CountingAdjacency(Mapping[str, Sequence[str]]):
    """An adjacency that counts how often each node's list is read."""

    def __init__(self, data: dict[str, list[str]]) -> None:
        self._data = data
        self.reads: Counter[str] = Counter()

    def __getitem__(self, node: str) -> Sequence[str]:
        self.reads[node] += 1
        return self._data[node]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def test_layered_fan_out_graph_is_answered_without_enumerating_paths() -> None:
    # root -> layer 1 (6 nodes); every node of layer i calls all 6 nodes of layer i + 1;
    # 11 layers. Depth 10 has 6^10 paths of length 10 but only 60 nodes.
    fan_out, layers = 6, 11
    layer = [[f"l{i:02d}n{j}" for j in range(fan_out)] for i in range(1, layers + 1)]
    edges = [("root", node) for node in layer[0]]
    for upper, lower in itertools.pairwise(layer):
        edges.extend((u, v) for u in upper for v in lower)
    downstream, upstream = adjacencies(edges)
    counting = CountingAdjacency(downstream)

    answer = subgraph(counting, upstream, "root", Direction.DOWNSTREAM, 10, 10_000)

    assert len(answer.depths) == 10 * fan_out
    assert not answer.truncated
    for i in range(10):
        assert all(answer.depths[node] == i + 1 for node in layer[i])
    assert not any(node in answer.depths for node in layer[10])
    # root -> layer 1, then the full bipartite links of layers 1..9 (layer 10 is at depth).
    assert len(answer.edges) == fan_out + 9 * fan_out * fan_out
    assert len(set(answer.edges)) == len(answer.edges)
    # Each node's adjacency is read a constant number of times, not once per path.
    assert max(counting.reads.values()) <= 2

    # The same from the bottom, upstream: layer 10 at distance 1 ... layer 1 at 10; the
    # root (distance 11) and the bottom's own layer are out of reach.
    bottom = layer[10][0]
    up = subgraph(downstream, upstream, bottom, Direction.UPSTREAM, 10, 10_000)
    assert len(up.depths) == 10 * fan_out
    assert "root" not in up.depths
    for i in range(10):
        assert all(up.depths[node] == 10 - i for node in layer[i])


# --------------------------------------------------------------------------- property tests

NAMES = st.text(alphabet="abcdefghij", min_size=1, max_size=3)


@st.composite
def digraphs(draw: st.DrawFn) -> tuple[list[str], list[Edge]]:
    nodes = draw(st.lists(NAMES, min_size=1, max_size=30, unique=True))
    node = st.sampled_from(nodes)
    edges = draw(st.lists(st.tuples(node, node), max_size=80))
    return nodes, edges


@st.composite
def queries(draw: st.DrawFn) -> tuple[list[str], list[Edge], str, Direction, int, int]:
    nodes, edges = draw(digraphs())
    root = draw(st.sampled_from(nodes))
    direction = draw(st.sampled_from(list(Direction)))
    depth = draw(st.integers(min_value=1, max_value=10))
    max_nodes = draw(st.integers(min_value=0, max_value=35))
    return nodes, edges, root, direction, depth, max_nodes


def oracle(
    nodes: list[str], edges: list[Edge], root: str, direction: Direction, depth: int
) -> tuple[dict[str, int], set[Edge]]:
    """Depths (root excluded) and edge set by the contract, computed with networkx."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    depths: dict[str, int] = {}
    expected_edges: set[Edge] = set()
    if direction in (Direction.DOWNSTREAM, Direction.BOTH):
        down = nx.single_source_shortest_path_length(graph, root, cutoff=depth)
        for node, distance in down.items():
            depths[node] = min(distance, depths.get(node, distance))
            if distance < depth:
                expected_edges.update(graph.out_edges(node))
    if direction in (Direction.UPSTREAM, Direction.BOTH):
        up = nx.single_source_shortest_path_length(graph.reverse(), root, cutoff=depth)
        for node, distance in up.items():
            depths[node] = min(distance, depths.get(node, distance))
            if distance < depth:
                expected_edges.update(graph.in_edges(node))
    depths.pop(root)
    return depths, expected_edges


@settings(max_examples=200, deadline=None)
@given(queries())
def test_subgraph_matches_networkx_oracle(
    case: tuple[list[str], list[Edge], str, Direction, int, int],
) -> None:
    nodes, edges, root, direction, depth, max_nodes = case
    expected_depths, expected_edges = oracle(nodes, edges, root, direction, depth)

    answer = query(edges, root, direction, depth, max_nodes)

    ordered = sorted(expected_depths.items(), key=lambda item: (item[1], item[0]))
    truncated = len(ordered) > max_nodes
    assert answer.root == root
    assert answer.truncated == truncated
    # The closest nodes, in (depth, id) order, at their networkx distances.
    assert list(answer.depths.items()) == ordered[:max_nodes]
    assert root not in answer.depths
    assert all(1 <= d <= depth for d in answer.depths.values())
    assert answer.max_depth_reached == max((d for _, d in ordered[:max_nodes]), default=0)
    if truncated:
        kept = set(answer.depths) | {root}
        expected_edges = {(s, t) for s, t in expected_edges if s in kept and t in kept}
        assert len(answer.depths) == max_nodes
        # Every node left out is farther (or after by id on a tie) than every kept one.
        dropped = set(expected_depths) - set(answer.depths)
        farthest_kept = max(((d, n) for n, d in answer.depths.items()), default=None)
        if farthest_kept is not None:
            assert all((expected_depths[n], n) > farthest_kept for n in dropped)
    assert answer.edges == sorted(expected_edges)


@settings(max_examples=150, deadline=None)
@given(queries())
def test_untruncated_subgraph_edges_only_touch_answer_nodes(
    case: tuple[list[str], list[Edge], str, Direction, int, int],
) -> None:
    _nodes, edges, root, direction, depth, _ = case

    answer = query(edges, root, direction, depth, max_nodes=10_000)

    inside = set(answer.depths) | {root}
    assert all(s in inside and t in inside for s, t in answer.edges)
    assert len(set(answer.edges)) == len(answer.edges)
    assert set(answer.edges) <= set(edges)


@settings(max_examples=150, deadline=None)
@given(queries())
def test_both_is_union_of_downstream_and_upstream(
    case: tuple[list[str], list[Edge], str, Direction, int, int],
) -> None:
    _, edges, root, _, depth, _ = case

    down = query(edges, root, Direction.DOWNSTREAM, depth)
    up = query(edges, root, Direction.UPSTREAM, depth)
    both = query(edges, root, Direction.BOTH, depth)

    assert set(both.depths) == set(down.depths) | set(up.depths)
    for node, distance in both.depths.items():
        assert distance == min(down.depths.get(node, depth + 1), up.depths.get(node, depth + 1))
    assert set(both.edges) == set(down.edges) | set(up.edges)


@settings(max_examples=150, deadline=None)
@given(digraphs(), st.data())
def test_reachable_matches_networkx(
    graph: tuple[list[str], list[Edge]], data: st.DataObject
) -> None:
    nodes, edges = graph
    starts = data.draw(st.lists(st.sampled_from(nodes), max_size=3))
    downstream, _ = adjacencies(edges)
    oracle_graph = nx.DiGraph()
    oracle_graph.add_nodes_from(nodes)
    oracle_graph.add_edges_from(edges)

    expected = set(starts)
    for start in starts:
        expected |= nx.descendants(oracle_graph, start)
    assert reachable(downstream, starts) == expected


@pytest.mark.parametrize("depth", [1, 2, 5, 10])
def test_hop_distances_matches_networkx_on_a_grid(depth: int) -> None:
    grid = nx.DiGraph(nx.grid_2d_graph(6, 6))  # both directions of every grid link
    graph = nx.relabel_nodes(grid, {node: f"{node[0]}-{node[1]}" for node in grid})
    downstream = {node: sorted(graph.successors(node)) for node in graph}

    expected = nx.single_source_shortest_path_length(graph, "0-0", cutoff=depth)

    assert hop_distances(downstream, "0-0", depth) == dict(expected)
