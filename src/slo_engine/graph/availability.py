"""Availability ceiling: the best availability a service can deliver, given what it
cannot work without.

The calculus (docs/insights.md has a worked example): a service is up only when it and
every dependency it cannot work without are up, so with independent failures its
availability is at most the product of theirs. Here:

* the dependencies counted are every service reachable along edges the caller cannot
  work without (`cannot_work_without`: hard or undeclared, sync or undeclared) -- the
  whole chain, not only the direct callees, and each service **once**, however many
  paths reach it (a shared database multiplies in once, not once per caller);
* each service counts with its availability target (its metadata's `slo_target`, else
  the configured default), or with the success ratio its callers observe
  (1 - error rate of the edges into it, the worst of them) when that is lower: what a
  caller can count on is the lower of the promise and the measurement;
* a cycle of such dependencies (a strongly connected component) is one unit: its
  members stand or fall together, so it is ranked as one; every member still counts
  once in the product;
* the limiting units are ranked by cost: how much higher the ceiling would be if that
  unit never failed (ceiling without it - ceiling).

A service's own target is part of the product, so a service with no dependencies has a
ceiling equal to its target. Targets that already include the dependencies make the
figure conservative (those dependencies count twice); the answer says which targets
were read and from where, so the arithmetic can be checked.

Cost: O(V' + E') for the V' services and E' edges of the closure (one walk, one Tarjan,
prefix and suffix products for the costs), plus sorting the units.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from slo_engine.graph.cycles import strongly_connected_components

Adjacency = Mapping[str, Sequence[str]]

# The service metadata key that holds a service's availability target.
SLO_TARGET_KEY = "slo_target"
# Factors spelled out in the arithmetic line; the rest is shown as one product.
ARITHMETIC_TERMS = 60


@dataclass(frozen=True, slots=True)
class Target:
    """A service's availability target and where it came from ("metadata"/"default")."""

    value: float
    source: str


@dataclass(frozen=True, slots=True)
class Term:
    """One service's factor in the product."""

    service_id: str
    target: Target
    observed_success: float | None  # worst success ratio of the counted edges into it
    factor: float
    factor_source: str  # "metadata", "default" or "observed"
    unit: int


@dataclass(frozen=True, slots=True)
class Unit:
    """A strongly connected component of the counted dependencies (usually one service)."""

    unit: int
    members: tuple[str, ...]
    cycle: bool
    factor: float


@dataclass(frozen=True, slots=True)
class Limit:
    """What one unit costs the ceiling. For the service's own unit (when it is in a cycle)
    only its partners count, never the service's own target."""

    unit: int
    members: tuple[str, ...]
    factor: float
    cost: float
    ceiling_without: float


@dataclass(frozen=True, slots=True)
class Ceiling:
    service_id: str
    ceiling: float
    terms: list[Term]
    units: list[Unit]
    limiting: list[Limit]
    arithmetic: str

    @property
    def dependencies(self) -> int:
        return len(self.terms) - 1

    @property
    def nines(self) -> float | None:
        """-log10(1 - ceiling): 3.0 for 0.999; None for a ceiling of 1."""
        if self.ceiling >= 1.0:
            return None
        return max(0.0, round(-math.log10(1.0 - self.ceiling), 3))  # never -0.0


def number(value: float) -> str:
    """A factor as the arithmetic shows it: 12 significant digits, enough to tell
    0.999999999 from 1 and few enough to read.

    >>> number(0.999), number(0.99873421778), number(0.999999999), number(1.0)
    ('0.999', '0.99873421778', '0.999999999', '1')
    """
    return format(value, ".12g")


def closure(
    downstream: Adjacency, root: str, follows: Callable[[str, str], bool]
) -> dict[str, list[str]]:
    """The root and every service reachable from it along edges `follows` accepts, as an
    adjacency of just those edges. Iterative, O(V' + E')."""
    counted: dict[str, list[str]] = {root: []}  # the keys are the counted services
    stack = [root]
    while stack:
        caller = stack.pop()
        for callee in sorted(downstream.get(caller, ())):  # equal graphs, equal answers
            if not follows(caller, callee):
                continue
            counted[caller].append(callee)
            if callee not in counted:
                counted[callee] = []
                stack.append(callee)
    return counted


def availability_ceiling(
    downstream: Adjacency,
    root: str,
    *,
    follows: Callable[[str, str], bool],
    target_of: Callable[[str], Target],
    success_of: Callable[[str, str], float | None],
) -> Ceiling:
    """The ceiling of `root` by the rules above.

    `follows(caller, callee)`: the caller cannot work without the callee;
    `success_of(caller, callee)`: the observed success ratio of that edge, if measured.

    >>> down = {"web": ["api"], "api": ["db"]}
    >>> c = availability_ceiling(down, "web", follows=lambda s, t: True,
    ...     target_of=lambda s: Target(0.99 if s == "db" else 0.999, "metadata"),
    ...     success_of=lambda s, t: None)
    >>> round(c.ceiling, 6), [limit.members for limit in c.limiting]
    (0.988021, [('db',), ('api',)])
    """
    counted = closure(downstream, root, follows)
    observed: dict[str, float] = {}
    for caller, callees in counted.items():
        for callee in callees:
            if callee == caller:
                continue  # a service's calls to itself measure it, not a dependency
            success = success_of(caller, callee)
            if success is not None:
                success = min(max(success, 0.0), 1.0)
                observed[callee] = min(success, observed.get(callee, 1.0))

    # Tarjan gives components in reverse topological order; listing them reversed puts
    # the root's unit first and each unit before what it depends on.
    # One depth-first search from the root reaches every counted service.
    components = strongly_connected_components([root], counted)[::-1]
    components[0] = [root, *(member for member in components[0] if member != root)]
    unit_of = {member: index for index, members in enumerate(components) for member in members}
    terms: list[Term] = []
    factor_of: dict[str, float] = {}
    for service_id in (member for members in components for member in members):
        target = target_of(service_id)
        seen = observed.get(service_id)
        if seen is not None and seen < target.value:
            factor, source = seen, "observed"
        else:
            factor, source = target.value, target.source
        factor_of[service_id] = factor
        terms.append(Term(service_id, target, seen, factor, source, unit_of[service_id]))

    units = [
        Unit(
            unit=index,
            members=tuple(members),
            cycle=len(members) > 1 or members[0] in counted[members[0]],
            factor=math.prod(factor_of[m] for m in members),
        )
        for index, members in enumerate(components)
    ]
    ceiling = math.prod(unit.factor for unit in units)
    limiting = _limits(units, root, factor_of)
    return Ceiling(
        service_id=root,
        ceiling=ceiling,
        terms=terms,
        units=units,
        limiting=limiting,
        arithmetic=_arithmetic(terms, ceiling),
    )


def _limits(units: list[Unit], root: str, factor_of: Mapping[str, float]) -> list[Limit]:
    """Each unit's cost, from prefix and suffix products (no division: a factor of 0,
    an edge that always fails, is possible). O(U) for U units."""
    count = len(units)
    prefix = [1.0] * (count + 1)
    suffix = [1.0] * (count + 1)
    for i in range(count):
        prefix[i + 1] = prefix[i] * units[i].factor
    for i in range(count - 1, -1, -1):
        suffix[i] = suffix[i + 1] * units[i].factor
    ceiling = prefix[count]
    limits = []
    for i, unit in enumerate(units):
        # Of the root's own unit only its cycle partners are dependencies: the root's
        # own target stays in the product.
        blamed = tuple(member for member in unit.members if member != root)
        if not blamed:
            continue
        kept = factor_of[root] if len(blamed) < len(unit.members) else 1.0
        without = prefix[i] * kept * suffix[i + 1]
        factor = math.prod(factor_of[member] for member in blamed)
        limits.append(Limit(unit.unit, blamed, factor, without - ceiling, without))
    # Rounded for the order only: equal factors multiplied in another order differ in
    # the last bits, and equal costs should list by name.
    limits.sort(key=lambda limit: (-round(limit.cost, 12), limit.members))
    return limits


def _arithmetic(terms: list[Term], ceiling: float) -> str:
    """The product spelled out, e.g. "0.999 (web) \u00d7 0.99 (db, observed) = 0.98901";
    past `ARITHMETIC_TERMS` factors the rest is one grouped product."""
    shown = []
    for term in terms[:ARITHMETIC_TERMS]:
        note = ", observed" if term.factor_source == "observed" else ""
        shown.append(f"{number(term.factor)} ({term.service_id}{note})")
    rest = terms[ARITHMETIC_TERMS:]
    if rest:
        product = math.prod(t.factor for t in rest)
        shown.append(f"{number(product)} (the other {len(rest)} services)")
    return f"{' × '.join(shown)} = {number(ceiling)}"


def target_from_metadata(
    metadata: Mapping[str, object], default: float
) -> tuple[Target, str | None]:
    """The service's `slo_target` (a number, or a numeric string as catalogs write them,
    in (0, 1]) or the default; with a note when a given value could not be used.

    >>> target_from_metadata({"slo_target": "0.9995"}, 0.999)
    (Target(value=0.9995, source='metadata'), None)
    >>> target_from_metadata({"slo_target": 99.9}, 0.999)[1]
    'slo_target 99.9 is not a number in (0, 1]; the default 0.999 is used'
    """
    given = metadata.get(SLO_TARGET_KEY)
    if given is None:
        return Target(default, "default"), None
    value: float | None = None
    if isinstance(given, int | float | str) and not isinstance(given, bool):
        try:
            value = float(given)
        except (ValueError, OverflowError):  # "high", or an integer beyond a float
            value = None
    if value is None or not 0.0 < value <= 1.0:  # NaN fails the comparison too
        shown = repr(given) if isinstance(given, str) else str(given)
        return Target(default, "default"), (
            f"{SLO_TARGET_KEY} {shown[:40]} is not a number in (0, 1]; "
            f"the default {number(default)} is used"
        )
    return Target(value, "metadata"), None
