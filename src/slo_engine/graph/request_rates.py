"""Request rates: a pair's figures, and a service's request rate in and out.

One definition for every read that judges or shows traffic: the `min_request_rate`
traversal filter (graph/traversal_filter.py: the subgraph query, the blast radius, the
overview) and the overview's members' `request_rate` (graph/overview.py), so the figure
a filter judged is exactly the one an answer shows.

A service's request rate is the sum of the merged `request_rate` of every edge into or
out of it that `include_stale` allows (fresh ones only by default), whatever any other
filter; an edge without the figure adds nothing, and a service none of whose edges has
it has none (None; the filter counts it as 0). A call of a service to itself is an edge
in and an edge out, and counts twice.

Pure. Cost: `pair_figures` O(1) for a pair with one report (nearly all of them), else
O(R) for its R reports the first time (the merged view is remembered by the pair);
`request_rate_of` O(d) for a service with d edges `include_stale` allows, so judging
every service of a graph is O(V + E).
"""

from __future__ import annotations

from slo_engine.graph.snapshot import GraphSnapshot, PairReports, PairState


def pair_figures(stored: PairReports, include_stale: bool) -> tuple[float | None, float | None]:
    """(request_rate, error_rate) of a pair's merged view over the reports
    `include_stale` allows; a single report's are its own (topology/service.py encodes
    it the same way). The pair must have such a report (it is in the adjacency).

    >>> from datetime import UTC, datetime
    >>> from slo_engine.graph.model import DependencyReport, DiscoverySource
    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> report = DependencyReport("a", "b", DiscoverySource.JAEGER, at, request_rate=2.5)
    >>> pair_figures(report, False)
    (2.5, None)
    """
    if isinstance(stored, PairState):
        merged = stored.merged(include_stale)
        assert merged is not None, "the adjacency over `include_stale` pairs has a view"
        return merged.request_rate, merged.error_rate
    return stored.request_rate, stored.error_rate


def request_rate_of(snapshot: GraphSnapshot, service_id: str, include_stale: bool) -> float | None:
    """The service's request rate in and out over the edges `include_stale` allows (out
    first, then in, each in adjacency order), or None when none of them has the figure.
    O(degree).

    >>> from datetime import UTC, datetime
    >>> from slo_engine.graph.model import DependencyReport, DiscoverySource, Service
    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> def call(source, target, rate, stale=False):
    ...     return DependencyReport(
    ...         source, target, DiscoverySource.JAEGER, at, request_rate=rate, is_stale=stale
    ...     )
    >>> snapshot = GraphSnapshot.build(
    ...     1,
    ...     [Service(s) for s in "abcd"],
    ...     [call("a", "b", 2.0), call("c", "a", 0.5), call("a", "d", None),
    ...      call("d", "a", 8.0, stale=True)],
    ... )
    >>> request_rate_of(snapshot, "a", False), request_rate_of(snapshot, "a", True)
    (2.5, 10.5)
    >>> request_rate_of(snapshot, "d", False) is None
    True
    """
    downstream, upstream = snapshot.adjacency(include_stale)
    pairs = snapshot.pairs
    total: float | None = None
    for target in downstream.get(service_id, ()):
        rate = pair_figures(pairs[(service_id, target)], include_stale)[0]
        if rate is not None:
            total = rate if total is None else total + rate
    for source in upstream.get(service_id, ()):
        rate = pair_figures(pairs[(source, service_id)], include_stale)[0]
        if rate is not None:
            total = rate if total is None else total + rate
    return total
