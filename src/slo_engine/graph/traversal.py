"""Subgraph queries: who is within `depth` hops of a service, and which edges connect them.

The contract (design.md, "Query"), exactly:

* a node is in the answer when its hop distance from the root, walking the chosen
  direction, is between 1 and `depth` (the root itself is reported separately);
* the edges are every edge leaving (downstream) or entering (upstream) a node whose
  distance is less than `depth`, the root included; `both` is the union of the two walks,
  each node at the smaller of its two distances (it is not an undirected walk);
* when more than `max_nodes` nodes are in reach, the closest are kept (ties broken by
  service id) and only edges whose ends are both kept (or the root) are returned; each
  kept node (or the root) with an edge of the walk to a node left out says how many
  distinct such nodes it has (`unlisted`: where the cut frontier lies, and how much
  lies beyond it);
* with a filter (`crosses(caller, callee)`), the walk takes only the edges it allows:
  a node or an edge filtered out is not crossed, so what lies only behind it is not
  reached either, and the distances are those of the filtered graph.

Every walk is a level-by-level breadth-first search that visits each node once, so the
cost is O(V' + E') for the V' nodes and E' edges in reach: it never grows with the number
of paths (a layered graph with fan-out 6 has 6^10 paths of length 10 but is answered in
time proportional to its few dozen nodes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from slo_engine.graph.model import Direction

Adjacency = Mapping[str, Sequence[str]]
# Whether a walk may take the edge (caller, callee); None: every edge.
Crossing = Callable[[str, str], bool] | None


@dataclass(frozen=True, slots=True)
class Subgraph:
    """The answer of `subgraph`: nodes (without the root) with their hop distance, edges,
    and per kept node the number of its neighbours in reach that the cut left out (empty
    when nothing was cut), by service id."""

    root: str
    depths: dict[str, int]
    edges: list[tuple[str, str]]
    truncated: bool
    unlisted: dict[str, int]

    @property
    def max_depth_reached(self) -> int:
        return max(self.depths.values(), default=0)


def hop_distances(
    adjacency: Adjacency,
    root: str,
    depth: int,
    enough: int | None = None,
    steps: Callable[[str, str], bool] | None = None,
) -> dict[str, int]:
    """Hop distance from `root` of every node at most `depth` hops away (root at 0).

    Iterative BFS; O(V' + E') for what is in reach. With `enough`, the walk stops after
    the first complete level that brings more than `enough` nodes besides the root:
    whoever is further away cannot be among the `enough` closest. With `steps(near,
    far)`, only the steps it allows are taken.

    >>> hop_distances({"a": ["b"], "b": ["c"], "c": ["a"]}, "a", 5)
    {'a': 0, 'b': 1, 'c': 2}
    >>> hop_distances({"a": ["b", "x"], "x": ["c"]}, "a", 5, steps=lambda n, f: f != "x")
    {'a': 0, 'b': 1}
    """
    distances = {root: 0}
    frontier = [root]
    for level in range(1, depth + 1):
        next_frontier: list[str] = []
        for node in frontier:
            for neighbour in adjacency.get(node, ()):
                if neighbour not in distances and (steps is None or steps(node, neighbour)):
                    distances[neighbour] = level
                    next_frontier.append(neighbour)
        if not next_frontier or (enough is not None and len(distances) > enough + 1):
            break
        frontier = next_frontier
    return distances


def _walk(
    adjacency: Adjacency,
    root: str,
    depth: int,
    *,
    reverse: bool,
    enough: int | None = None,
    crosses: Crossing = None,
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    steps = None
    if crosses is not None:
        # Walking upstream, a step from a callee to its caller takes (caller, callee).
        steps = (lambda near, far: crosses(far, near)) if reverse else crosses
    distances = hop_distances(adjacency, root, depth, enough, steps)
    edges: list[tuple[str, str]] = []
    for node, distance in distances.items():
        if distance < depth:
            neighbours = adjacency.get(node, ())
            if steps is not None:
                neighbours = [n for n in neighbours if steps(node, n)]
            if reverse:
                edges.extend((neighbour, node) for neighbour in neighbours)
            else:
                edges.extend((node, neighbour) for neighbour in neighbours)
    return distances, edges


def subgraph(
    downstream: Adjacency,
    upstream: Adjacency,
    root: str,
    direction: Direction,
    depth: int,
    max_nodes: int,
    crosses: Crossing = None,
) -> Subgraph:
    """The subgraph around `root` by the contract above.

    `downstream` maps a service to the services it calls, `upstream` to its callers; both
    must describe the same edges. Nodes come back ordered by (depth, service id) and
    edges by (source, target), so equal graphs give byte-equal answers.

    >>> g = subgraph({"a": ["b"], "b": ["c"]}, {"b": ["a"], "c": ["b"]}, "a",
    ...              Direction.DOWNSTREAM, 1, 10)
    >>> g.depths, g.edges
    ({'b': 1}, [('a', 'b')])
    >>> cut = subgraph({"a": ["b", "c", "d"]}, {}, "a", Direction.DOWNSTREAM, 1, 1)
    >>> cut.depths, cut.unlisted
    ({'b': 1}, {'a': 2})
    """
    depths: dict[str, int] = {}
    edges: set[tuple[str, str]] | list[tuple[str, str]]
    if direction is Direction.BOTH:
        down_depths, down_edges = _walk(downstream, root, depth, reverse=False, crosses=crosses)
        up_depths, up_edges = _walk(upstream, root, depth, reverse=True, crosses=crosses)
        depths = down_depths
        for node, distance in up_depths.items():
            if distance < depths.get(node, depth + 1):
                depths[node] = distance
        edges = set(down_edges)
        edges.update(up_edges)
    # One direction may stop once `max_nodes` are certain (see `hop_distances`): the
    # kept nodes' distances and edges are then complete. `both` walks to the end, since
    # an edge between two kept nodes may leave a node only the other walk reached early.
    elif direction is Direction.DOWNSTREAM:
        depths, edges = _walk(
            downstream, root, depth, reverse=False, enough=max_nodes, crosses=crosses
        )
    else:
        depths, edges = _walk(
            upstream, root, depth, reverse=True, enough=max_nodes, crosses=crosses
        )
    depths.pop(root, None)

    truncated = len(depths) > max_nodes
    ordered = sorted(depths.items(), key=lambda item: (item[1], item[0]))
    unlisted: dict[str, set[str]] = {}
    if truncated:
        ordered = ordered[:max_nodes]
        kept = {node for node, _ in ordered}
        kept.add(root)
        listed: list[tuple[str, str]] = []
        for s, t in edges:
            if s in kept and t in kept:
                listed.append((s, t))
            elif s in kept:
                unlisted.setdefault(s, set()).add(t)
            elif t in kept:
                unlisted.setdefault(t, set()).add(s)
        edges = listed
    return Subgraph(
        root=root,
        depths=dict(ordered),
        edges=sorted(edges),
        truncated=truncated,
        unlisted={node: len(unlisted[node]) for node in sorted(unlisted)},
    )


def reachable(adjacency: Adjacency, starts: Iterable[str]) -> set[str]:
    """Every node reachable from `starts` (the starts included). Iterative, O(V' + E')."""
    seen = set(starts)
    stack = list(seen)
    while stack:
        node = stack.pop()
        for neighbour in adjacency.get(node, ()):
            if neighbour not in seen:
                seen.add(neighbour)
                stack.append(neighbour)
    return seen
