"""Circular dependencies: strongly connected components and one concrete cycle in each.

A circular dependency is a strongly connected component (SCC) with more than one
service, or a single service that calls itself. Tarjan's algorithm, written with an
explicit stack (no recursion limit: a 100,000-service chain is fine), runs in
O(V + E) time and O(V) extra space.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence

Adjacency = Mapping[str, Sequence[str]]


def strongly_connected_components(nodes: Iterable[str], adjacency: Adjacency) -> list[list[str]]:
    """All SCCs of the graph, each as a sorted list, in reverse topological order.

    `nodes` must contain every node that appears in `adjacency` (as key or value) for
    the answer to be complete; nodes missing from it are still visited when reached.

    >>> strongly_connected_components("abc", {"a": ["b"], "b": ["a"], "c": ["a"]})
    [['a', 'b'], ['c']]
    """
    index_of: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    component_stack: list[str] = []
    components: list[list[str]] = []
    next_index = 0

    for start in nodes:
        if start in index_of:
            continue
        index_of[start] = lowlink[start] = next_index
        next_index += 1
        component_stack.append(start)
        on_stack.add(start)
        # Each frame: (node, iterator over its successors not yet examined).
        work = [(start, iter(adjacency.get(start, ())))]
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index_of:
                    index_of[successor] = lowlink[successor] = next_index
                    next_index += 1
                    component_stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(adjacency.get(successor, ()))))
                    advanced = True
                    break
                if successor in on_stack and index_of[successor] < lowlink[node]:
                    lowlink[node] = index_of[successor]
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index_of[node]:
                component: list[str] = []
                while True:
                    member = component_stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                component.sort()
                components.append(component)
    return components


def cyclic_components(nodes: Iterable[str], adjacency: Adjacency) -> list[list[str]]:
    """The SCCs that are circular dependencies: size > 1, or one service calling itself.

    Sorted by their first (smallest) member. O(V + E).

    >>> cyclic_components("abcd", {"a": ["b"], "b": ["a"], "c": ["c"], "d": ["a"]})
    [['a', 'b'], ['c']]
    """
    found = [
        component
        for component in strongly_connected_components(nodes, adjacency)
        if len(component) > 1 or component[0] in adjacency.get(component[0], ())
    ]
    found.sort(key=lambda component: component[0])
    return found


def cycle_path(members: Sequence[str], adjacency: Adjacency) -> list[str]:
    """One shortest cycle through the smallest member, first element repeated last.

    For a component of several services a self-loop is skipped, so the path shows how
    the services depend on each other. BFS inside the component: O(V_c + E_c).

    >>> cycle_path(["a", "b", "c"], {"a": ["b"], "b": ["c"], "c": ["a"]})
    ['a', 'b', 'c', 'a']
    >>> cycle_path(["x"], {"x": ["x"]})
    ['x', 'x']
    """
    start = min(members)
    if len(members) == 1:
        return [start, start]
    inside = set(members)
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in sorted(adjacency.get(node, ())):
            if successor not in inside or successor == node:
                continue
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                path.reverse()
                path.append(start)
                return path
            if successor not in parent:
                parent[successor] = node
                queue.append(successor)
    raise ValueError(f"{sorted(members)} is not a strongly connected component")
