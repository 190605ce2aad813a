"""Availability ceiling: hand-checked products, cycles as units, costs, and random graphs
against a brute-force computation with networkx."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_engine.graph.availability import (
    ARITHMETIC_TERMS,
    Target,
    availability_ceiling,
    target_from_metadata,
)
from tests.unit.graph.test_traversal import adjacencies

Edge = tuple[str, str]


def ceiling_of(
    edges: list[Edge],
    root: str,
    targets: dict[str, float] | None = None,
    success: dict[Edge, float] | None = None,
    soft: frozenset[Edge] = frozenset(),
    default: float = 0.999,
):  # type: ignore[no-untyped-def]
    downstream, _ = adjacencies(edges)
    targets = targets or {}
    success = success or {}
    return availability_ceiling(
        downstream,
        root,
        follows=lambda s, t: (s, t) not in soft,
        target_of=lambda s: (
            Target(targets[s], "metadata") if s in targets else Target(default, "default")
        ),
        success_of=lambda s, t: success.get((s, t)),
    )


def test_a_service_without_dependencies_is_capped_by_its_own_target() -> None:
    found = ceiling_of([], "solo", {"solo": 0.9995})
    assert found.ceiling == 0.9995
    assert found.dependencies == 0
    assert found.limiting == []
    assert found.arithmetic == "0.9995 (solo) = 0.9995"


def test_a_shared_dependency_counts_once() -> None:
    edges = [("web", "a"), ("web", "b"), ("a", "db"), ("b", "db")]
    found = ceiling_of(edges, "web", {"db": 0.99})
    assert found.ceiling == pytest.approx(0.999**3 * 0.99)
    assert found.terms[0].service_id == "web"
    assert sorted(t.service_id for t in found.terms) == ["a", "b", "db", "web"]


def test_soft_and_async_dependencies_are_not_counted() -> None:
    edges = [("web", "api"), ("web", "ads")]
    found = ceiling_of(edges, "web", {"ads": 0.9}, soft=frozenset({("web", "ads")}))
    assert found.ceiling == pytest.approx(0.999 * 0.999)
    # ... unless everything counts (the "if the soft ones were hard" figure).
    assert ceiling_of(edges, "web", {"ads": 0.9}).ceiling == pytest.approx(0.999**2 * 0.9)


def test_observed_success_replaces_the_target_only_when_lower() -> None:
    edges = [("web", "pay"), ("web", "cart"), ("api", "cart")]
    found = ceiling_of(
        edges,
        "web",
        {"pay": 0.9999, "cart": 0.99},
        success={("web", "pay"): 0.998, ("web", "cart"): 0.999, ("api", "cart"): 0.5},
    )
    terms = {t.service_id: t for t in found.terms}
    assert terms["pay"].factor == 0.998 and terms["pay"].factor_source == "observed"
    assert terms["pay"].observed_success == 0.998
    # cart is observed better than its target: the target stays; the edge from api is
    # not in web's dependencies, so its 50% is not web's problem.
    assert terms["cart"].factor == 0.99 and terms["cart"].factor_source == "metadata"
    assert found.ceiling == pytest.approx(0.999 * 0.998 * 0.99)
    assert "0.998 (pay, observed)" in found.arithmetic


def test_limiting_dependencies_are_ranked_by_cost() -> None:
    edges = [("web", "a"), ("web", "b"), ("b", "c")]
    found = ceiling_of(edges, "web", {"web": 0.9999, "a": 0.999, "b": 0.9995, "c": 0.99})
    assert [limit.members for limit in found.limiting] == [("c",), ("a",), ("b",)]
    top = found.limiting[0]
    assert top.ceiling_without == pytest.approx(0.9999 * 0.999 * 0.9995)
    assert top.cost == pytest.approx(top.ceiling_without - found.ceiling)


def test_equal_costs_are_listed_by_name() -> None:
    edges = [("root", name) for name in ("d", "b", "e", "a", "c", "f", "g")]
    found = ceiling_of(edges, "root")
    assert [limit.members for limit in found.limiting] == [(n,) for n in "abcdefg"]


def test_a_cycle_is_one_unit_and_its_members_count_once() -> None:
    edges = [("web", "x"), ("x", "y"), ("y", "x"), ("y", "db")]
    found = ceiling_of(edges, "web", {"x": 0.999, "y": 0.998, "db": 0.99})
    cycles = [unit for unit in found.units if unit.cycle]
    assert [unit.members for unit in cycles] == [("x", "y")]
    assert cycles[0].factor == pytest.approx(0.999 * 0.998)
    assert found.ceiling == pytest.approx(0.999 * 0.999 * 0.998 * 0.99)
    assert ("x", "y") in [limit.members for limit in found.limiting]


def test_in_a_cycle_with_the_service_only_the_partners_are_blamed() -> None:
    edges = [("web", "session"), ("session", "web")]
    found = ceiling_of(edges, "web", {"web": 0.9999, "session": 0.99})
    assert found.units[0].members == ("web", "session") and found.units[0].cycle
    (limit,) = found.limiting
    assert limit.members == ("session",)
    assert limit.ceiling_without == pytest.approx(0.9999)


def test_a_dependency_that_always_fails_zeroes_the_ceiling_and_costs_everything() -> None:
    found = ceiling_of([("web", "db")], "web", success={("web", "db"): 0.0})
    assert found.ceiling == 0.0
    assert found.limiting[0].cost == pytest.approx(0.999)
    assert found.nines == 0.0 and math.copysign(1.0, found.nines) == 1.0


def test_a_self_call_is_a_one_member_cycle_that_does_not_lower_the_factor() -> None:
    found = ceiling_of([("web", "web"), ("web", "db")], "web", success={("web", "web"): 0.5})
    assert found.units[0].members == ("web",) and found.units[0].cycle
    assert found.terms[0].observed_success is None
    assert found.ceiling == pytest.approx(0.999 * 0.999)


def test_the_arithmetic_tells_a_high_target_from_one() -> None:
    found = ceiling_of([], "n9", {"n9": 0.999999999})
    assert found.arithmetic == "0.999999999 (n9) = 0.999999999"
    assert found.nines == pytest.approx(9.0, abs=1e-3)


@pytest.mark.parametrize(
    ("given", "expected", "noted"),
    [
        (0.9995, 0.9995, False),
        ("0.9995", 0.9995, False),
        (1, 1.0, False),
        (True, 0.999, True),
        ("high", 0.999, True),
        (99.9, 0.999, True),
        (0, 0.999, True),
        ("nan", 0.999, True),
        (10**400, 0.999, True),
        ([0.99], 0.999, True),
    ],
)
def test_slo_targets_are_read_strictly(given: object, expected: float, noted: bool) -> None:
    target, note = target_from_metadata({"slo_target": given}, 0.999)
    assert target.value == expected
    assert target.source == ("default" if noted else "metadata")
    assert (note is not None) is noted


def test_long_arithmetic_groups_the_rest() -> None:
    edges = [("root", f"d{i:03}") for i in range(ARITHMETIC_TERMS + 40)]
    found = ceiling_of(edges, "root")
    assert found.arithmetic.count(" × ") == ARITHMETIC_TERMS
    assert f"(the other {ARITHMETIC_TERMS + 41 - ARITHMETIC_TERMS} services)" in found.arithmetic
    assert found.ceiling == pytest.approx(0.999 ** (ARITHMETIC_TERMS + 41))


names = st.sampled_from([f"s{i}" for i in range(7)])
ratios = st.sampled_from([0.9, 0.99, 0.995, 0.999, 0.9999, 1.0])


@settings(max_examples=300, deadline=None)
@given(
    edges=st.lists(st.tuples(names, names), max_size=20, unique=True),
    soft_flags=st.lists(st.booleans(), min_size=20, max_size=20),
    targets=st.dictionaries(names, ratios),
    observed=st.lists(st.one_of(st.none(), ratios), min_size=20, max_size=20),
    root=names,
)
def test_matches_brute_force_on_random_graphs(
    edges: list[Edge],
    soft_flags: list[bool],
    targets: dict[str, float],
    observed: list[float | None],
    root: str,
) -> None:
    soft = frozenset(e for e, flag in zip(edges, soft_flags, strict=False) if flag)
    success = {e: s for e, s in zip(edges, observed, strict=False) if s is not None}
    found = ceiling_of(edges, root, targets, success, soft)

    needed = nx.DiGraph()
    needed.add_node(root)
    needed.add_edges_from(e for e in edges if e not in soft)
    counted = {root} | nx.descendants(needed, root)
    inner = needed.subgraph(counted)

    def factor(node: str) -> float:
        value = targets.get(node, 0.999)
        # A service's calls to itself measure it, not a dependency: never a factor.
        seen = [success[e] for e in inner.in_edges(node) if e in success and e[0] != e[1]]
        return min([value, *seen])

    assert {t.service_id for t in found.terms} == counted
    assert found.ceiling == pytest.approx(math.prod(factor(n) for n in counted))
    components = {frozenset(c) for c in nx.strongly_connected_components(inner)}
    assert {frozenset(u.members) for u in found.units} == components
    for limit in found.limiting:
        spared = set(limit.members)
        without = math.prod(factor(n) for n in counted if n not in spared)
        assert limit.ceiling_without == pytest.approx(without)
        assert limit.cost == pytest.approx(without - found.ceiling)
    # Highest cost first; equal costs (to rounding: equal factors multiplied in another
    # order differ in the last bits) are listed by name.
    costs = [limit.cost for limit in found.limiting]
    assert all(a >= b - 1e-12 for a, b in itertools.pairwise(costs))
    assert root not in {m for limit in found.limiting for m in limit.members}
    # Equal graphs give equal answers whatever order the edges came in.
    assert ceiling_of(edges[::-1], root, targets, success, soft) == found
