"""Blast radius: the propagation rules by hand, and every answer on random graphs against
an independent formulation computed with networkx shortest paths."""

from __future__ import annotations

import math

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_engine.graph.impact import Impact, blast_radius, cannot_work_without
from slo_engine.graph.model import CommunicationMode, DependencyCriticality
from tests.unit.graph.test_traversal import adjacencies

Edge = tuple[str, str]


def radius(
    edges: list[Edge], failed: str, depth: int = 10, soft: frozenset[Edge] = frozenset()
) -> dict[str, tuple[str, int, tuple[str, ...]]]:
    _, upstream = adjacencies(edges)
    found = blast_radius(upstream, failed, depth, lambda s, t: (s, t) not in soft)
    return {a.service_id: (a.impact.value, a.distance, a.path) for a in found}


def test_only_hard_sync_or_undeclared_edges_are_needed() -> None:
    hard, soft, degraded = (
        DependencyCriticality.HARD,
        DependencyCriticality.SOFT,
        DependencyCriticality.DEGRADED,
    )
    sync, asynchronous = CommunicationMode.SYNC, CommunicationMode.ASYNC
    assert cannot_work_without(hard, sync)
    assert cannot_work_without(None, None)
    assert cannot_work_without(hard, None)
    assert cannot_work_without(None, sync)
    assert not cannot_work_without(soft, sync)
    assert not cannot_work_without(degraded, sync)
    assert not cannot_work_without(hard, asynchronous)
    assert not cannot_work_without(None, asynchronous)


def test_hard_callers_go_down_and_soft_callers_degrade() -> None:
    edges = [("web", "api"), ("api", "db"), ("report", "db"), ("mail", "report")]
    answer = radius(edges, "db", soft=frozenset({("report", "db")}))
    assert answer == {
        "api": ("down", 1, ("api", "db")),
        "web": ("down", 2, ("web", "api", "db")),
        "report": ("degraded", 1, ("report", "db")),
        # A hard caller of a degraded service is degraded, never down.
        "mail": ("degraded", 2, ("mail", "report", "db")),
    }


def test_a_soft_dependency_on_a_degraded_service_absorbs_it() -> None:
    edges = [("report", "db"), ("dashboard", "report")]
    soft = frozenset(edges)
    assert radius(edges, "db", soft=soft) == {"report": ("degraded", 1, ("report", "db"))}


def test_down_by_one_path_and_degraded_by_another_is_down_with_its_own_path() -> None:
    edges = [("web", "db"), ("web", "api"), ("api", "db")]
    answer = radius(edges, "db", soft=frozenset({("web", "db")}))
    assert answer["web"] == ("down", 2, ("web", "api", "db"))


def test_cycles_neither_loop_nor_count_twice() -> None:
    edges = [("a", "db"), ("b", "a"), ("a", "b"), ("db", "b"), ("c", "c"), ("c", "b")]
    answer = radius(edges, "db")
    assert answer == {
        "a": ("down", 1, ("a", "db")),
        "b": ("down", 2, ("b", "a", "db")),
        "c": ("down", 3, ("c", "b", "a", "db")),
    }
    # The failed service itself is never listed, even when its callers call it back.
    assert "db" not in answer


def test_depth_bounds_the_walk() -> None:
    chain = [(f"s{i + 1}", f"s{i}") for i in range(6)]
    assert sorted(radius(chain, "s0", depth=3)) == ["s1", "s2", "s3"]
    assert radius(chain, "s6") == {}


def test_effects_say_what_each_step_of_the_path_suffers() -> None:
    _, upstream = adjacencies([("api", "db"), ("web", "api")])
    (api, web) = blast_radius(upstream, "db", 5, lambda s, t: s == "web")
    assert web.path == ("web", "api", "db")
    assert web.effects == (Impact.DEGRADED, Impact.DEGRADED)
    assert api.effects == (Impact.DEGRADED,)


def oracle(
    edges: list[Edge], soft: set[Edge], failed: str, depth: int
) -> dict[str, tuple[str, int]]:
    """The same rules, formulated differently: down when a path of needed edges of
    length <= depth leads to the failed service; else degraded when one leads to a
    caller u that has an unneeded edge to a down service w (or the failed one)."""
    needed = nx.DiGraph()
    needed.add_nodes_from({n for edge in edges for n in edge})
    needed.add_edges_from(edge for edge in edges if edge not in soft)
    dist = dict(nx.all_pairs_shortest_path_length(needed))
    answer: dict[str, tuple[str, int]] = {}
    for node in needed.nodes:
        if node == failed:
            continue
        down = dist[node].get(failed, math.inf)
        if down <= depth:
            answer[node] = ("down", int(down))
            continue
        degraded = min(
            (dist[node].get(u, math.inf) + 1 + dist[w].get(failed, math.inf) for u, w in soft),
            default=math.inf,
        )
        if degraded <= depth:
            answer[node] = ("degraded", int(degraded))
    return answer


names = st.sampled_from([f"s{i}" for i in range(8)])


@settings(max_examples=300, deadline=None)
@given(
    edges=st.lists(st.tuples(names, names), max_size=24, unique=True),
    soft_flags=st.lists(st.booleans(), min_size=24, max_size=24),
    failed=names,
    depth=st.integers(min_value=1, max_value=6),
)
def test_matches_the_oracle_on_random_graphs(
    edges: list[Edge], soft_flags: list[bool], failed: str, depth: int
) -> None:
    soft = {edge for edge, flag in zip(edges, soft_flags, strict=False) if flag}
    _, upstream = adjacencies(edges)
    found = blast_radius(upstream, failed, depth, lambda s, t: (s, t) not in soft)
    assert {a.service_id: (a.impact.value, a.distance) for a in found} == oracle(
        edges, soft, failed, depth
    )
    edge_set = set(edges)
    for affected in found:
        # The path is real, as long as the distance, and its effects follow the rules.
        assert affected.path[0] == affected.service_id and affected.path[-1] == failed
        assert len(affected.path) == affected.distance + 1
        steps = list(zip(affected.path, affected.path[1:], strict=False))
        assert all(step in edge_set for step in steps)
        below = Impact.DOWN
        for (caller, callee), effect in reversed(list(zip(steps, affected.effects, strict=True))):
            expected = below if (caller, callee) not in soft else Impact.DEGRADED
            assert below is Impact.DOWN or (caller, callee) not in soft
            assert effect is expected
            below = effect
        assert affected.effects[0] is affected.impact
    assert len({a.service_id for a in found}) == len(found)
    # Equal graphs give equal answers, paths included, whatever order edges came in.
    _, reordered = adjacencies(reversed(edges))
    assert blast_radius(reordered, failed, depth, lambda s, t: (s, t) not in soft) == found
