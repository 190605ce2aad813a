"""Traversal filters: which nodes and edges a walk may cross (the subgraph query's and
the blast radius's `kind`, `team`, `criticality`, `discovery_source`, `exclude`,
`discovered` and `min_request_rate`; the overview keeps what a walk would cross;
docs/identity.md "Filters"). A node filtered out is not crossed, so what lies only
behind it is not reached; the walk's root is never filtered out.

A node passes when it passes the static rule (`passes`: kinds, teams, criticalities,
exclusions, discovered or declared) and, with `min_request_rate` above 0, its request
rate in and out (graph/request_rates.py, over the edges `include_stale` allows, whatever
the other filters; none counts as 0) is at least that. An edge passes when some source
of its merged view is in `sources` (any, when empty) and both its ends pass.

Cost: each node is judged once per walk, O(1) for the static rule plus O(degree) for
its request rate when `min_request_rate` is set; each step after is O(1), plus the
edge's merged view when `sources` is set.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from slo_engine.graph.model import DiscoverySource, NodeKind, Service, ServiceCriticality
from slo_engine.graph.request_rates import request_rate_of
from slo_engine.graph.snapshot import GraphSnapshot, Pair


@dataclass(frozen=True, slots=True)
class TraversalFilter:
    """Each set left empty lets everything through; several filters must all agree.

    `exclude` holds service ids or shell-style patterns (`legacy-*`, `test-?`).
    `discovered`: True keeps only services known only from edges, False only declared
    ones, None both. `min_request_rate`: keep only services with at least this request
    rate in and out (requests per second); 0 keeps all."""

    kinds: frozenset[NodeKind] = frozenset()
    teams: frozenset[str] = frozenset()
    criticalities: frozenset[ServiceCriticality] = frozenset()
    sources: frozenset[DiscoverySource] = frozenset()
    exclude: tuple[str, ...] = ()
    discovered: bool | None = None
    min_request_rate: float = 0.0
    _excluded: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.exclude:
            joined = "|".join(fnmatch.translate(pattern) for pattern in self.exclude)
            object.__setattr__(self, "_excluded", re.compile(joined))

    def __bool__(self) -> bool:
        """Whether the filter leaves anything out.

        >>> bool(TraversalFilter()), bool(TraversalFilter(discovered=False))
        (False, True)
        >>> bool(TraversalFilter(min_request_rate=0.0)), bool(TraversalFilter(min_request_rate=0.5))
        (False, True)
        """
        return bool(
            self.kinds
            or self.teams
            or self.criticalities
            or self.sources
            or self.exclude
            or self.discovered is not None
            or self.min_request_rate > 0
        )

    def key(self) -> str:
        """A canonical text of the filter (the answer cache's keys).

        >>> TraversalFilter(teams=frozenset({"b", "a"}), exclude=("x*",)).key()
        'k=;t=a,b;c=;s=;x=x*;d=;r=0.0'
        >>> TraversalFilter(discovered=False, min_request_rate=2).key()
        'k=;t=;c=;s=;x=;d=0;r=2.0'
        """
        return ";".join(
            (
                "k=" + ",".join(sorted(self.kinds)),
                "t=" + ",".join(sorted(self.teams)),
                "c=" + ",".join(sorted(self.criticalities)),
                "s=" + ",".join(sorted(self.sources)),
                "x=" + ",".join(sorted(set(self.exclude))),
                "d=" + ("" if self.discovered is None else str(int(self.discovered))),
                # One spelling per value: 2 and 2.0, 0.0 and -0.0 are one question.
                f"r={float(self.min_request_rate or 0.0)!r}",
            )
        )

    def excludes(self, service_id: str) -> bool:
        """
        >>> TraversalFilter(exclude=("legacy-*", "batch")).excludes("legacy-billing")
        True
        """
        return self._excluded is not None and self._excluded.match(service_id) is not None

    def passes(self, service: Service) -> bool:
        """The static rule for a node: its kind, team, criticality, id and whether it is
        discovered (not its request rate, which depends on the graph: `crossing`). O(1).

        >>> from slo_engine.graph.model import Service
        >>> declared = TraversalFilter(discovered=False, teams=frozenset({"web"}))
        >>> declared.passes(Service("api", team="web"))
        True
        >>> declared.passes(Service("api", team="web", discovered=True))
        False
        """
        return (
            (not self.kinds or service.kind in self.kinds)
            and (not self.teams or service.team in self.teams)
            and (not self.criticalities or service.criticality in self.criticalities)
            and (self.discovered is None or service.discovered == self.discovered)
            and not self.excludes(service.service_id)
        )

    def follows(self, snapshot: GraphSnapshot, pair: Pair, include_stale: bool) -> bool:
        """The rule for an edge by itself: some source of its merged view (over the
        reports `include_stale` allows) is in `sources`, or `sources` is empty."""
        if not self.sources:
            return True
        reported = snapshot.edge(pair, include_stale).discovery_sources
        return not self.sources.isdisjoint(reported)

    def crossing(
        self, snapshot: GraphSnapshot, include_stale: bool, root: str
    ) -> Callable[[str, str], bool]:
        """Whether a walk from `root` may take the edge (caller, callee): both ends must
        pass the node rules (the root always does) and the edge the source rule.
        Each node is judged once per walk: O(1) per step after."""
        judged: dict[str, bool] = {root: True}
        services = snapshot.services
        sources = self.sources
        minimum = self.min_request_rate

        def node_passes(service_id: str) -> bool:
            verdict = judged.get(service_id)
            if verdict is None:
                verdict = self.passes(services[service_id]) and (
                    minimum <= 0
                    or (request_rate_of(snapshot, service_id, include_stale) or 0.0) >= minimum
                )
                judged[service_id] = verdict
            return verdict

        def crosses(caller: str, callee: str) -> bool:
            if sources and not self.follows(snapshot, (caller, callee), include_stale):
                return False
            return node_passes(caller) and node_passes(callee)

        return crosses
