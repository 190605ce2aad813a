"""Traversal filters: which nodes and edges a walk may cross (the subgraph query's
`kind`, `team`, `criticality`, `discovery_source` and `exclude`; docs/identity.md
"Filters"). A node filtered out is not crossed, so what lies only behind it is not
reached; the walk's root is never filtered out."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from slo_engine.graph.model import DiscoverySource, NodeKind, ServiceCriticality
from slo_engine.graph.snapshot import GraphSnapshot


@dataclass(frozen=True, slots=True)
class TraversalFilter:
    """Each set left empty lets everything through; several sets must all agree.

    `exclude` holds service ids or shell-style patterns (`legacy-*`, `test-?`)."""

    kinds: frozenset[NodeKind] = frozenset()
    teams: frozenset[str] = frozenset()
    criticalities: frozenset[ServiceCriticality] = frozenset()
    sources: frozenset[DiscoverySource] = frozenset()
    exclude: tuple[str, ...] = ()
    _excluded: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.exclude:
            joined = "|".join(fnmatch.translate(pattern) for pattern in self.exclude)
            object.__setattr__(self, "_excluded", re.compile(joined))

    def __bool__(self) -> bool:
        return bool(self.kinds or self.teams or self.criticalities or self.sources or self.exclude)

    def key(self) -> str:
        """A canonical text of the filter (the answer cache's keys).

        >>> TraversalFilter(teams=frozenset({"b", "a"}), exclude=("x*",)).key()
        'k=;t=a,b;c=;s=;x=x*'
        """
        return ";".join(
            (
                "k=" + ",".join(sorted(self.kinds)),
                "t=" + ",".join(sorted(self.teams)),
                "c=" + ",".join(sorted(self.criticalities)),
                "s=" + ",".join(sorted(self.sources)),
                "x=" + ",".join(sorted(set(self.exclude))),
            )
        )

    def excludes(self, service_id: str) -> bool:
        """
        >>> TraversalFilter(exclude=("legacy-*", "batch")).excludes("legacy-billing")
        True
        """
        return self._excluded is not None and self._excluded.match(service_id) is not None

    def crossing(
        self, snapshot: GraphSnapshot, include_stale: bool, root: str
    ) -> Callable[[str, str], bool]:
        """Whether a walk from `root` may take the edge (caller, callee): both ends must
        pass the node filters (the root always does) and the edge the source filter.
        Each node is judged once per walk: O(1) per step after."""
        judged: dict[str, bool] = {root: True}
        services = snapshot.services

        def node_passes(service_id: str) -> bool:
            verdict = judged.get(service_id)
            if verdict is None:
                service = services[service_id]
                verdict = (
                    (not self.kinds or service.kind in self.kinds)
                    and (not self.teams or service.team in self.teams)
                    and (not self.criticalities or service.criticality in self.criticalities)
                    and not self.excludes(service_id)
                )
                judged[service_id] = verdict
            return verdict

        def crosses(caller: str, callee: str) -> bool:
            if self.sources:
                reported = snapshot.edge((caller, callee), include_stale).discovery_sources
                if self.sources.isdisjoint(reported):
                    return False
            return node_passes(caller) and node_passes(callee)

        return crosses
