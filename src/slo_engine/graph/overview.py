"""The whole graph at a glance: services aggregated into groups, edges counted between
groups, chosen groups expanded into their member services (the explorer's overview,
GET /api/v1/graph/overview; docs/api.md "Overview").

Pure: a snapshot and options in, an `Overview` out (no I/O, no clock, no recursion).

The filters narrow the graph first, then it is aggregated, so every count describes the
filtered graph. They are the traversal filters (`TraversalFilter`, the same as the
subgraph query's and the blast radius's), keeping what a walk would cross:

* a service stays when it passes their node rules: `TraversalFilter.passes` (`kind`,
  `team`, `criticality`, `exclude`, `discovered`) and `min_request_rate`;
* an edge stays when both its ends stay and the filter follows it
  (`TraversalFilter.follows`: `discovery_source`, judged on the merged view as a walk
  judges it), over the edges `include_stale` allows (fresh ones by default; a service is
  kept whatever the age of its edges, as the whole-graph export lists every service).

A service's request rate is graph/request_rates.py `request_rate_of`: the sum of the
`request_rate` of every edge into or out of it that `include_stale` allows, before any
other filter (so hiding a neighbour does not hide the service as well); an edge without
the figure adds 0, and a service with no figure at all counts as 0 against
`min_request_rate`. A member's `request_rate` is the same figure, computed the same way.

Cost: O(V + E) for V services and E pairs, plus sorting the groups (O(G log G)), the
members of the expanded groups (O(M log M)) and the answer's edges (at most E of them,
O(A log A) for A answer edges). One pass over the services and one over the pairs,
which aggregates them at once when nothing is expanded; plus, when `min_request_rate`
is set, each service's edges once for its request rate (O(V + E) in all), and one pass
over the edges kept when groups are expanded (which members are drawn depends on how
connected they are).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from slo_engine.graph.cycles import cyclic_components
from slo_engine.graph.model import Service
from slo_engine.graph.request_rates import pair_figures, request_rate_of
from slo_engine.graph.snapshot import GraphSnapshot, Pair, PairReports
from slo_engine.graph.traversal_filter import TraversalFilter

# The most groups, and expanded member services, one answer draws: what a browser lays
# out in well under a second; the totals count everything.
MAX_GROUPS = 500
MAX_MEMBERS = 2000


class GroupBy(enum.StrEnum):
    """What services are grouped by."""

    TEAM = "team"
    NAMESPACE = "namespace"
    KIND = "kind"
    SYSTEM = "system"


NO_TEAM = "(no team)"
NO_SYSTEM = "(no system)"
DEFAULT_NAMESPACE = "default"
# Counted under this key: services declared without a criticality.
NO_CRITICALITY = "none"


def _text(mapping: Any, key: str) -> str | None:
    """`mapping[key]` when `mapping` is a mapping and that is non-empty text (metadata
    is whatever clients and sources stored)."""
    if not isinstance(mapping, dict):
        return None
    value = mapping.get(key)
    return value if isinstance(value, str) and value else None


def team_of(service: Service) -> str:
    return service.team or NO_TEAM


def kind_of(service: Service) -> str:
    return service.kind.value


def namespace_of(service: Service) -> str:
    """The namespace a source recorded (the Kubernetes source's `metadata.kubernetes`,
    the namespace of the Backstage source's entity ref), else the id's: what follows
    the first `.` of `name.namespace`, the form the Kubernetes and mesh sources give
    ids outside `default` (discovery/naming.py `namespaced_id`), else `default`.

    >>> namespace_of(Service("reviews-v2.bookinfo")), namespace_of(Service("ratings"))
    ('bookinfo', 'default')
    >>> ref = {"backstage": {"entity_ref": "resource:ops/queue-1"}}
    >>> namespace_of(Service("ops.queue-1", metadata=ref))
    'ops'
    """
    recorded = _text(service.metadata.get("kubernetes"), "namespace")
    if recorded is not None:
        return recorded
    # Backstage ids put the namespace first (`namespace.name`): its ref says which.
    ref = _text(service.metadata.get("backstage"), "entity_ref")
    if ref is not None and "/" in ref:
        namespace = ref.partition(":")[2] if ":" in ref else ref
        namespace = namespace.partition("/")[0]
        if namespace:
            return namespace.lower()
    _, dot, rest = service.service_id.partition(".")
    return rest if dot and rest else DEFAULT_NAMESPACE


def system_of(service: Service) -> str:
    """The Backstage `spec.system` the Backstage source recorded, as a ref without the
    defaults (`system:default/shop` and `shop` are one system), else `(no system)`.

    >>> system_of(Service("a", metadata={"backstage": {"system": "system:default/shop"}}))
    'shop'
    >>> elsewhere = {"backstage": {"system": "other/shop"}}
    >>> system_of(Service("a", metadata=elsewhere)), system_of(Service("a"))
    ('other/shop', '(no system)')
    """
    recorded = _text(service.metadata.get("backstage"), "system")
    if recorded is None:
        return NO_SYSTEM
    ref = recorded.strip()
    if ref.lower().startswith("system:"):
        ref = ref[len("system:") :]
    if ref.lower().startswith("default/"):
        ref = ref[len("default/") :]
    return ref or NO_SYSTEM


GROUP_OF: dict[GroupBy, Callable[[Service], str]] = {
    GroupBy.TEAM: team_of,
    GroupBy.NAMESPACE: namespace_of,
    GroupBy.KIND: kind_of,
    GroupBy.SYSTEM: system_of,
}


@dataclass(frozen=True, slots=True)
class OverviewOptions:
    group_by: GroupBy = GroupBy.TEAM
    # Groups drawn as their member services, in the order the member budget goes to them.
    expand: tuple[str, ...] = ()
    # Every filter, `discovered` and `min_request_rate` included.
    filters: TraversalFilter = field(default_factory=TraversalFilter)
    include_stale: bool = False
    max_groups: int = MAX_GROUPS
    max_members: int = MAX_MEMBERS

    def key(self) -> str:
        """A canonical text of the options (the answer cache's keys).

        >>> OverviewOptions(expand=("b", "a", "b")).key()
        'team;e=b\\x00a;f=;s=0;g=500;m=2000'
        >>> OverviewOptions(filters=TraversalFilter(discovered=True)).key()
        'team;e=;f=k=;t=;c=;s=;x=;d=1;r=0.0;s=0;g=500;m=2000'
        """
        return ";".join(
            (
                self.group_by.value,
                # Order matters (the member budget), repeats do not.
                "e=" + "\x00".join(dict.fromkeys(self.expand)),
                "f=" + (self.filters.key() if self.filters else ""),
                f"s={int(self.include_stale)}",
                f"g={self.max_groups}",
                f"m={self.max_members}",
            )
        )


@dataclass(slots=True)
class Group:
    group_id: str
    services: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    criticalities: Counter[str] = field(default_factory=Counter)
    discovered: int = 0
    in_cycle: bool = False
    internal_edges: int = 0  # edges with both ends in the group, drawn or not
    expanded: bool = False
    members_shown: int = 0


@dataclass(frozen=True, slots=True)
class Member:
    """A service drawn inside its expanded group."""

    service: Service
    group_id: str
    in_cycle: bool
    request_rate: float | None  # None: none of its edges has the figure


@dataclass(slots=True)
class GroupEdge:
    """Service edges aggregated between two drawn ends: a group (`source`/`target`
    None) or a member service of an expanded group."""

    source_group: str
    target_group: str
    source: str | None
    target: str | None
    edges: int = 0
    request_rate: float | None = None  # the sum over the edges with the figure
    error_rate: float | None = None  # the largest


@dataclass(frozen=True, slots=True)
class Overview:
    groups: list[Group]  # the largest first, then by id; at most `max_groups`
    members: list[Member]
    edges: list[GroupEdge]  # not those inside a collapsed group: counted on the group
    total_services: int  # of the filtered graph, in every group
    total_edges: int
    total_groups: int
    groups_truncated: bool
    members_truncated: bool


def services_in_cycles(snapshot: GraphSnapshot) -> frozenset[str]:
    """The services on a circular dependency of the fresh graph (what cycle alerts are
    raised for, graph/cycles.py), whatever an answer's filters. O(V + E)."""
    downstream, _ = snapshot.adjacency(False)
    return frozenset(
        service_id
        for component in cyclic_components(snapshot.services, downstream)
        for service_id in component
    )


# An aggregated edge while it is being counted: [edges, request rate sum, largest error].
_Tally = list[Any]
# Its ends: (source group, target group, source service or None, target service or None).
_EdgeKey = tuple[str, str, str | None, str | None]


def _count(
    aggregated: dict[_EdgeKey, _Tally], key: _EdgeKey, stored: PairReports, include_stale: bool
) -> None:
    """Add one service edge to the aggregated edge `key`."""
    request_rate, error_rate = pair_figures(stored, include_stale)
    tally = aggregated.get(key)
    if tally is None:
        aggregated[key] = [1, request_rate, error_rate]
        return
    tally[0] += 1
    if request_rate is not None:
        tally[1] = request_rate if tally[1] is None else tally[1] + request_rate
    if error_rate is not None and (tally[2] is None or error_rate > tally[2]):
        tally[2] = error_rate


def overview(
    snapshot: GraphSnapshot, options: OverviewOptions, cyclic: Collection[str] = frozenset()
) -> Overview:
    """The filtered graph aggregated by `options.group_by`, the `expand` groups drawn as
    their members. `cyclic`: the services to mark as on a circular dependency
    (`services_in_cycles`)."""
    include_stale = options.include_stale
    filters = options.filters
    services = snapshot.services
    pairs = snapshot.pairs
    downstream, _ = snapshot.adjacency(include_stale)
    wanted = dict.fromkeys(options.expand)  # ordered, without repeats
    minimum = filters.min_request_rate

    # 1. The services that stay, and their groups.
    group_key = GROUP_OF[options.group_by]
    group_of: dict[str, str] = {}
    groups: dict[str, Group] = {}
    members_of: dict[str, list[str]] = {}
    for service_id, service in services.items():
        if filters and not filters.passes(service):
            continue
        if minimum > 0 and (request_rate_of(snapshot, service_id, include_stale) or 0.0) < minimum:
            continue
        group_id = group_key(service)
        group_of[service_id] = group_id
        group = groups.get(group_id)
        if group is None:
            group = groups[group_id] = Group(group_id)
        group.services += 1
        group.kinds[service.kind.value] += 1
        group.criticalities[
            service.criticality.value if service.criticality else NO_CRITICALITY
        ] += 1
        if service.discovered:
            group.discovered += 1
        if service_id in cyclic:
            group.in_cycle = True
        if group_id in wanted:
            members_of.setdefault(group_id, []).append(service_id)

    # 2. The groups drawn: their sizes are known now, so the largest can be chosen.
    ordered = sorted(groups.values(), key=lambda group: (-group.services, group.group_id))
    shown = ordered[: options.max_groups]
    shown_ids = {group.group_id for group in shown}
    members_of = {g: ids for g, ids in members_of.items() if g in shown_ids}

    # 3. The edges that stay: both ends stay, and the filter follows the edge (the
    # walks' own edge rule; the ends were judged by their node rules above).
    by_source = bool(filters.sources)
    total_edges = 0
    internal: Counter[str] = Counter()
    aggregated: dict[_EdgeKey, _Tally] = {}
    # With groups to expand, the edges are kept for a second pass: which members are
    # drawn depends on how connected they are. Without, they are counted at once.
    kept: list[Pair] = []
    candidates = {sid for ids in members_of.values() for sid in ids}
    degree: Counter[str] = Counter()
    for source, targets in downstream.items():
        source_group = group_of.get(source)
        if source_group is None:
            continue
        for target in targets:
            target_group = group_of.get(target)
            if target_group is None:
                continue
            if by_source and not filters.follows(snapshot, (source, target), include_stale):
                continue
            total_edges += 1
            if source_group == target_group:
                internal[source_group] += 1
            if source_group not in shown_ids or target_group not in shown_ids:
                continue
            if candidates:
                kept.append((source, target))
                if source in candidates:
                    degree[source] += 1
                if target in candidates:
                    degree[target] += 1
            elif source_group != target_group:
                key: _EdgeKey = (source_group, target_group, None, None)
                _count(aggregated, key, pairs[(source, target)], include_stale)
    for group_id, count in internal.items():
        groups[group_id].internal_edges = count

    # 4. The members drawn inside the expanded groups, the most connected first.
    budget = options.max_members
    members_truncated = False
    drawn: set[str] = set()
    members: list[Member] = []
    for group_id in wanted:
        if group_id not in members_of:
            continue  # filtered away, cut, or no such group: nothing to expand
        group = groups[group_id]
        ranked = sorted(members_of[group_id], key=lambda sid: (-degree[sid], sid))
        taken = ranked[: max(budget, 0)]
        budget -= len(taken)
        members_truncated = members_truncated or len(taken) < len(ranked)
        group.expanded = True
        group.members_shown = len(taken)
        drawn.update(taken)
        members.extend(
            Member(
                services[sid],
                group_id,
                sid in cyclic,
                request_rate_of(snapshot, sid, include_stale),
            )
            for sid in taken
        )

    # 5. With members drawn, the edges between what is drawn.
    for source, target in kept:
        source_group, target_group = group_of[source], group_of[target]
        source_end = source if source in drawn else None
        target_end = target if target in drawn else None
        if source_end is None and target_end is None and source_group == target_group:
            continue  # inside a collapsed group: its `internal_edges`
        key = (source_group, target_group, source_end, target_end)
        _count(aggregated, key, pairs[(source, target)], include_stale)
    edges = [
        GroupEdge(*key, *aggregated[key])
        for key in sorted(aggregated, key=lambda k: (k[0], k[1], k[2] or "", k[3] or ""))
    ]

    return Overview(
        groups=shown,
        members=members,
        edges=edges,
        total_services=len(group_of),
        total_edges=total_edges,
        total_groups=len(groups),
        groups_truncated=len(shown) < len(ordered),
        members_truncated=members_truncated,
    )
