"""`slo-cli query`'s trees: a subgraph answer (GET /services/{id}/dependencies) drawn as
breadth-first trees, one per direction.

Each service appears once, under a neighbour one hop closer to the queried service (the
first one the walk reached it from). Every other call the answer shows between listed
services is kept as a leaf: `↻ <id> (cycle)` when it closes a cycle the answer's edges
show (the two services are in one strongly connected component of them), otherwise
`<id> (under <parent>)`, saying where that service is drawn. With `both`, the answer's
edges are the union of the two walks (topology/service.py), so each direction's hop
distances are recomputed from them: up to `depth`, they are exactly that direction's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.text import Text
from rich.tree import Tree

from slo_engine.graph.cycles import strongly_connected_components
from slo_engine.graph.model import Direction

# What each direction's tree is called: the root's relation to its children.
TITLES = {
    Direction.DOWNSTREAM: "calls (downstream)",
    Direction.UPSTREAM: "called by (upstream)",
}
CYCLE_MARK = "↻"


def render_trees(answer: Mapping[str, Any], direction: Direction, depth: int) -> RenderableType:
    """The answer as one tree (downstream or upstream), or as two labelled trees, the
    callees' then the callers', for `both`."""
    if direction is Direction.BOTH:
        return Group(
            direction_tree(answer, Direction.DOWNSTREAM, depth),
            Text(""),
            direction_tree(answer, Direction.UPSTREAM, depth),
        )
    return direction_tree(answer, direction, depth)


def direction_tree(answer: Mapping[str, Any], direction: Direction, depth: int) -> Tree:
    """The breadth-first tree of one direction (DOWNSTREAM or UPSTREAM) of the answer."""
    root_id: str = answer["service"]["service_id"]
    listed = {node["service_id"]: node for node in answer["nodes"]}
    pairs = [(edge["source"], edge["target"]) for edge in answer["edges"]]
    next_hops = _adjacency(pairs, direction)
    component = _components(pairs)

    hops, parent = _breadth_first(next_hops, root_id, depth, listed.keys())
    tree = Tree(f"[bold]{escape(root_id)}[/bold] [dim]{TITLES[direction]}[/dim]")
    branches = {root_id: tree}
    # Parents before children: (hops, service id), the answer's own node order.
    for name in sorted(hops, key=lambda service: (hops[service], service)):
        if name == root_id:
            continue
        branches[name] = branches[parent[name]].add(_label(listed[name]))
    for name in sorted(hops, key=lambda service: (hops[service], service)):
        # The farthest services' calls are not all in the answer (with `both`, some
        # are): of theirs, only the ones closing a cycle are drawn.
        farthest = hops[name] >= depth
        for neighbour in next_hops.get(name, ()):
            if parent.get(neighbour) == name or neighbour not in hops:
                continue
            branch = branches[name]
            if neighbour == name or component.get(neighbour) == component.get(name):
                branch.add(f"[yellow]{CYCLE_MARK} {escape(neighbour)} (cycle)[/yellow]")
            elif not farthest:
                where = parent.get(neighbour, root_id)
                branch.add(f"[dim]{escape(neighbour)} (under {escape(where)})[/dim]")
    if not hops.keys() - {root_id}:
        tree.add("[dim](none)[/dim]")
    if answer.get("statistics", {}).get("truncated"):
        tree.add("[dim]… more services: the answer was cut at max_nodes[/dim]")
    return tree


def _adjacency(pairs: Sequence[tuple[str, str]], direction: Direction) -> dict[str, list[str]]:
    """Each service's next hops in `direction`, sorted."""
    hops: dict[str, list[str]] = {}
    for source, target in pairs:
        near, far = (source, target) if direction is Direction.DOWNSTREAM else (target, source)
        hops.setdefault(near, []).append(far)
    for neighbours in hops.values():
        neighbours.sort()
    return hops


def _components(pairs: Sequence[tuple[str, str]]) -> dict[str, int]:
    """The strongly connected component (its index) of every service named by `pairs`."""
    calls: dict[str, list[str]] = {}
    for source, target in pairs:
        calls.setdefault(source, []).append(target)
        calls.setdefault(target, [])
    return {
        member: index
        for index, members in enumerate(strongly_connected_components(calls, calls))
        for member in members
    }


def _breadth_first(
    next_hops: Mapping[str, Sequence[str]], root: str, depth: int, listed: Collection[str]
) -> tuple[dict[str, int], dict[str, str]]:
    """Hops from `root` up to `depth` over services the answer lists, and each one's
    parent: the neighbour one hop closer it was first reached from."""
    hops = {root: 0}
    parent: dict[str, str] = {}
    queue = deque([root])
    while queue:
        near = queue.popleft()
        if hops[near] >= depth:
            continue
        for far in next_hops.get(near, ()):
            if far not in hops and far in listed:
                hops[far] = hops[near] + 1
                parent[far] = near
                queue.append(far)
    return hops, parent


def _label(node: Mapping[str, Any]) -> str:
    team = f" [dim]{escape(node['team'])}[/dim]" if node.get("team") else ""
    return escape(node["service_id"]) + team
