"""Blast radius: who is hurt, and how badly, when one service fails.

Rules (docs/insights.md has a worked example):

* The failure travels upstream, from a service to its callers, at most `depth` hops.
* A caller that *cannot work without* a failed service -- the edge is `hard` and `sync`
  -- is **down**, and its own callers are judged as if it had failed.
* A caller that depends on a down service `soft` or `degraded`, or `async`, is
  **degraded**: it works with less. Degradation travels on only through edges a caller
  cannot work without (a hard sync caller of a degraded service is degraded too) and
  never turns back into an outage: a soft or async dependency on a degraded service
  absorbs it.
* An edge without a declared criticality counts as hard, one without a communication
  mode as sync: observed edges rarely say, and the blast radius should not be
  understated because nobody has declared a dependency yet.
* A service that is down by one path and degraded by another is down.

The walk is a breadth-first search over (service, impact) states: each service is
visited at most once as down and once as degraded, so a cycle can neither loop nor be
counted twice, and each affected service gets its shortest explaining path. O(V' + E')
time and space for the V' services and E' edges within `depth` hops upstream, plus
O(V' * depth) to spell out the paths and O(E' log d) to visit callers in order.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from slo_engine.graph.model import CommunicationMode, DependencyCriticality

Adjacency = Mapping[str, Sequence[str]]


class Impact(enum.StrEnum):
    DOWN = "down"
    DEGRADED = "degraded"


def cannot_work_without(
    criticality: DependencyCriticality | None, communication_mode: CommunicationMode | None
) -> bool:
    """Whether a caller fails with this dependency: hard (or undeclared) and sync (or
    undeclared). The one rule the blast radius and the availability ceiling share."""
    return criticality in (DependencyCriticality.HARD, None) and communication_mode in (
        CommunicationMode.SYNC,
        None,
    )


@dataclass(frozen=True, slots=True)
class Affected:
    """One service hurt by the failure.

    `path` runs from this service to the failed one along calls; `effects[i]` is the
    impact `path[i]` has on that path (the last entry, the failed service, has none).
    """

    service_id: str
    impact: Impact
    distance: int
    path: tuple[str, ...]
    effects: tuple[Impact, ...]


State = tuple[str, Impact]


def blast_radius(
    upstream: Adjacency,
    failed: str,
    depth: int,
    blocks: Callable[[str, str], bool],
    crosses: Callable[[str, str], bool] | None = None,
) -> list[Affected]:
    """Every service within `depth` hops upstream of `failed` that its failure hurts.

    `upstream` maps a service to its callers; `blocks(caller, callee)` says whether the
    caller cannot work without the callee (see `cannot_work_without`); `crosses(caller,
    callee)`, when given, whether the failure may travel that edge at all (a traversal
    filter: graph/traversal_filter.py). Ordered by impact (down first), distance, then
    service id.

    >>> callers = {"db": ["api", "batch"], "api": ["web"]}
    >>> hard = lambda caller, callee: caller != "batch"
    >>> for a in blast_radius(callers, "db", 5, hard):
    ...     print(a.service_id, a.impact.value, a.path)
    api down ('api', 'db')
    web down ('web', 'api', 'db')
    batch degraded ('batch', 'db')
    """
    start: State = (failed, Impact.DOWN)
    parent: dict[State, State | None] = {start: None}
    distance: dict[State, int] = {start: 0}
    frontier = [start]
    for level in range(1, depth + 1):
        next_frontier: list[State] = []
        for state in frontier:
            callee, callee_impact = state
            # Sorted, so that the path chosen among equally short ones does not depend
            # on the order edges were stored in (equal graphs, equal answers).
            for caller in sorted(upstream.get(callee, ())):
                if crosses is not None and not crosses(caller, callee):
                    continue
                if blocks(caller, callee):
                    reached: State = (caller, callee_impact)
                elif callee_impact is Impact.DOWN:
                    reached = (caller, Impact.DEGRADED)
                else:
                    continue  # a soft or async dependency absorbs a degradation
                if reached not in parent:
                    parent[reached] = state
                    distance[reached] = level
                    next_frontier.append(reached)
        if not next_frontier:
            break
        frontier = next_frontier

    affected: list[Affected] = []
    for state in parent:
        service_id, impact = state
        if service_id == failed:
            continue
        if impact is Impact.DEGRADED and (service_id, Impact.DOWN) in parent:
            continue  # down by another path: the worse impact wins
        path: list[str] = []
        effects: list[Impact] = []
        step: State | None = state
        while step is not None:
            path.append(step[0])
            effects.append(step[1])
            step = parent[step]
        affected.append(
            Affected(
                service_id=service_id,
                impact=impact,
                distance=distance[state],
                path=tuple(path),
                effects=tuple(effects[:-1]),
            )
        )
    affected.sort(key=lambda a: (a.impact is not Impact.DOWN, a.distance, a.service_id))
    return affected
