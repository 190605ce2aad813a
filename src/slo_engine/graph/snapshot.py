"""An in-memory, indexed copy of the whole dependency graph.

The read side answers subgraph queries from this snapshot instead of walking the
database: a breadth-first walk over Python lists costs microseconds per node, where a
database walk costs a round trip per level (design.md, "Performance model"). The
snapshot is built from stored rows, kept current by applying the exact rows each write
stored, and caught up with what other processes wrote (see live/graph.py).

Memory is what decides how many workers fit on a machine (the target: 250 MB per worker at
50,000 services / 250,000 edges, caches included), so the layout is chosen for it:

* a pair reported by one source (nearly all of them) is stored as that report itself;
  only pairs with several reports get a `PairState`, which remembers their merged views;
  a single report's merged view is built when asked (answers encode it straight from
  the report, topology/service.py);
* a service's fresh adjacency list *is* its list over all pairs (the same object) until
  one of its pairs goes stale: a graph with few stale edges holds its adjacency once;
* the encoded fragments are bounded in bytes (`FragmentCache`).

Measured with the benchmark's 50,000-service graph loaded in a process of its own: 102 MB
for the snapshot, against 169 MB with a `PairState` per pair and two copies of the
adjacency (docs/performance.md, "Memory").
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from slo_engine.graph.fragments import EDGE_FRAGMENT_BYTES, NODE_FRAGMENT_BYTES, FragmentCache
from slo_engine.graph.impact import cannot_work_without
from slo_engine.graph.merge import merge_reports
from slo_engine.graph.model import DependencyReport, MergedDependency, Service

Pair = tuple[str, str]
# A report's identity: (caller, callee, discovery source).
ReportKey = tuple[str, str, str]


def report_key(report: DependencyReport) -> ReportKey:
    return (report.source, report.target, report.discovery_source.value)


# One side of a pair in the adjacency: (lists over all pairs, fresh lists, node, neighbour).
_Side = tuple[dict[str, list[str]], dict[str, list[str]], str, str]


class PairState:
    """Every report of a pair reported by several sources, and its merged views on demand.

    Merging is deferred to the first query that returns the pair (and remembered), so
    building or updating the snapshot costs O(1) per report. A pair with one report is
    stored as the report itself (see `PairReports`).
    """

    __slots__ = (
        "_merged_all",
        "_merged_fresh",
        "_needed_all",
        "_needed_fresh",
        "all_fresh",
        "fresh",
        "reports",
    )

    def __init__(self, reports: tuple[DependencyReport, ...]) -> None:
        self.reports = reports
        stale = sum(1 for r in reports if r.is_stale)
        self.fresh = stale < len(reports)  # at least one fresh report
        self.all_fresh = stale == 0
        self._merged_all: MergedDependency | None = None
        self._merged_fresh: MergedDependency | None = None
        self._needed_all: bool | None = None
        self._needed_fresh: bool | None = None

    def merged(self, include_stale: bool) -> MergedDependency | None:
        """The pair merged over all its reports, or over its fresh ones (None if none)."""
        if include_stale or self.all_fresh:
            if self._merged_all is None:
                self._merged_all = merge_reports(self.reports)
            return self._merged_all
        if not self.fresh:
            return None
        if self._merged_fresh is None:
            self._merged_fresh = merge_reports([r for r in self.reports if not r.is_stale])
        return self._merged_fresh

    def needed(self, include_stale: bool) -> bool:
        """Whether the caller cannot work without the callee, by the merged view's
        declared attributes (`cannot_work_without`); remembered like the view, since the
        blast radius and the availability ceiling ask it for every edge they cross."""
        if include_stale or self.all_fresh:
            if self._needed_all is None:
                edge = self.merged(True)
                assert edge is not None
                self._needed_all = cannot_work_without(edge.criticality, edge.communication_mode)
            return self._needed_all
        if self._needed_fresh is None:
            edge = self.merged(False)
            assert edge is not None, "a walk over fresh edges only reaches fresh pairs"
            self._needed_fresh = cannot_work_without(edge.criticality, edge.communication_mode)
        return self._needed_fresh


# What the snapshot keeps per pair: its only report, or the state of several.
PairReports = DependencyReport | PairState


def pair_reports(reports: tuple[DependencyReport, ...]) -> PairReports:
    """How a pair with these reports is stored (one report: the report itself)."""
    return reports[0] if len(reports) == 1 else PairState(reports)


def reports_of(stored: PairReports) -> tuple[DependencyReport, ...]:
    """Every report of a stored pair."""
    return stored.reports if isinstance(stored, PairState) else (stored,)


def is_fresh(stored: PairReports) -> bool:
    """At least one report of the pair is fresh."""
    return stored.fresh if isinstance(stored, PairState) else not stored.is_stale


def merged_view(stored: PairReports, include_stale: bool) -> MergedDependency | None:
    """The pair merged over all its reports, or over its fresh ones (None if none)."""
    if isinstance(stored, PairState):
        return stored.merged(include_stale)
    if stored.is_stale and not include_stale:
        return None
    return merge_reports((stored,))


def is_needed(stored: PairReports, include_stale: bool) -> bool:
    """The caller cannot work without the callee (`cannot_work_without`), by the merged
    view a walk over `include_stale` edges sees. A single report's attributes are its
    merged view's."""
    if isinstance(stored, PairState):
        return stored.needed(include_stale)
    return cannot_work_without(stored.criticality, stored.communication_mode)


class GraphSnapshot:
    """Services, reports and adjacency lists of one graph revision.

    Adjacency lists are kept over every pair (`include_stale=true` queries) and over
    pairs with at least one fresh report (the default), so a walk never filters. A
    node's fresh list is the same object as its list over all pairs while every pair on
    that side of it is fresh (copied when one goes stale): most graphs hold it once.
    """

    def __init__(self, revision: int) -> None:
        self.revision = revision
        self.services: dict[str, Service] = {}
        self.pairs: dict[Pair, PairReports] = {}
        self.downstream_all: dict[str, list[str]] = {}
        self.upstream_all: dict[str, list[str]] = {}
        self.downstream_fresh: dict[str, list[str]] = {}
        self.upstream_fresh: dict[str, list[str]] = {}
        # The read side's encodings (JSON fragments) of pairs and services, kept across
        # queries; `apply` drops the entries of whatever a write changes.
        self.rendered_edges = FragmentCache[tuple[Pair, bool]](EDGE_FRAGMENT_BYTES)
        self.rendered_nodes = FragmentCache[str](NODE_FRAGMENT_BYTES)
        # How many times a service or a pair was taken out: what keeps orders derived
        # from the keys (exports/service.py) from assuming keys are only ever added.
        self.removals = 0

    @classmethod
    def build(
        cls, revision: int, services: Iterable[Service], reports: Iterable[DependencyReport]
    ) -> GraphSnapshot:
        """A snapshot of these rows. O(V + E)."""
        snapshot = cls(revision)
        snapshot.services = {service.service_id: service for service in services}
        pairs = snapshot.pairs
        several: dict[Pair, list[DependencyReport]] = {}  # pairs with 2+ reports
        for report in reports:
            pair = (report.source, report.target)
            first = pairs.get(pair)
            if first is None:
                pairs[pair] = report
            else:
                several.setdefault(pair, list(reports_of(first))).append(report)
        for pair, pair_reports_ in several.items():
            pairs[pair] = PairState(tuple(pair_reports_))
        downstream, upstream = snapshot.downstream_all, snapshot.upstream_all
        for source, target in pairs:
            downstream.setdefault(source, []).append(target)
            upstream.setdefault(target, []).append(source)
        # Fresh lists start as the very same lists; a stale pair gives its two ends
        # lists of their own.
        snapshot.downstream_fresh = dict(downstream)
        snapshot.upstream_fresh = dict(upstream)
        for pair, stored in pairs.items():
            if not is_fresh(stored):
                snapshot._unlink_fresh(pair)
        return snapshot

    def adjacency(self, include_stale: bool) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """(downstream, upstream) adjacency over the edges a query may follow."""
        if include_stale:
            return self.downstream_all, self.upstream_all
        return self.downstream_fresh, self.upstream_fresh

    def only_stale_edges(self, service_id: str) -> bool:
        """The service has edges, every one of them stale (the same rule as the
        repository's `only_stale_edges`). O(1).

        >>> from datetime import UTC, datetime
        >>> at = datetime(2026, 1, 1, tzinfo=UTC)
        >>> old = DependencyReport("a", "b", "manual", at, is_stale=True)  # type: ignore[arg-type]
        >>> snapshot = GraphSnapshot.build(1, [], [old])
        >>> snapshot.only_stale_edges("a"), snapshot.only_stale_edges("c")
        (True, False)
        """
        has_edges = service_id in self.downstream_all or service_id in self.upstream_all
        has_fresh = service_id in self.downstream_fresh or service_id in self.upstream_fresh
        return has_edges and not has_fresh

    def edge(self, pair: Pair, include_stale: bool) -> MergedDependency:
        merged = merged_view(self.pairs[pair], include_stale)
        assert merged is not None, "a walk over fresh edges only reaches fresh pairs"
        return merged

    def needed(self, pair: Pair, include_stale: bool) -> bool:
        """The caller of `pair` cannot work without its callee (see `is_needed`)."""
        return is_needed(self.pairs[pair], include_stale)

    def reports(self, pair: Pair) -> tuple[DependencyReport, ...]:
        """Every stored report of `pair` (none if it is not in the graph)."""
        stored = self.pairs.get(pair)
        return () if stored is None else reports_of(stored)

    def report(self, pair: Pair, discovery_source: str) -> DependencyReport | None:
        """The stored report of `pair` from `discovery_source`, if any."""
        for report in self.reports(pair):
            if report.discovery_source == discovery_source:
                return report
        return None

    def fresh_pairs_lost(self, retracted: Iterable[ReportKey]) -> set[Pair]:
        """The fresh pairs that would have no fresh report left without the `retracted`
        reports (the edges a retraction takes out of the fresh graph). O(k) for k keys.

        >>> from datetime import UTC, datetime
        >>> at = datetime(2026, 1, 1, tzinfo=UTC)
        >>> one = DependencyReport("a", "b", "manual", at)  # type: ignore[arg-type]
        >>> two = DependencyReport("a", "b", "jaeger", at)  # type: ignore[arg-type]
        >>> snapshot = GraphSnapshot.build(1, [], [one, two])
        >>> snapshot.fresh_pairs_lost([("a", "b", "manual")])
        set()
        >>> snapshot.fresh_pairs_lost([("a", "b", "manual"), ("a", "b", "jaeger")])
        {('a', 'b')}
        """
        by_pair: dict[Pair, set[str]] = {}
        for source, target, discovery_source in retracted:
            by_pair.setdefault((source, target), set()).add(discovery_source)
        lost: set[Pair] = set()
        for pair, sources in by_pair.items():
            stored = self.pairs.get(pair)
            if stored is not None and is_fresh(stored):
                remaining = reports_of(stored)
                if all(r.is_stale or r.discovery_source in sources for r in remaining):
                    lost.add(pair)
        return lost

    def reports_touching(self, service_id: str) -> list[DependencyReport]:
        """Every stored report whose caller or callee is `service_id`. O(degree)."""
        found: dict[ReportKey, DependencyReport] = {}
        for target in self.downstream_all.get(service_id, ()):
            found.update((report_key(r), r) for r in self.reports((service_id, target)))
        for source in self.upstream_all.get(service_id, ()):
            found.update((report_key(r), r) for r in self.reports((source, service_id)))
        return list(found.values())

    def apply(
        self,
        revision: int,
        services: Iterable[Service],
        reports: Iterable[DependencyReport],
        retracted: Iterable[ReportKey] = (),
        deleted: Iterable[str] = (),
    ) -> None:
        """Bring the snapshot to `revision`: remove the `retracted` reports and the
        `deleted` services, then upsert the rows written.

        Removals come first: a catch-up over several revisions gets every report
        retracted in them, and the rows as they are now, which include any report
        reported again after its retraction. A report replaces the pair's report from
        the same discovery source. O(k * d) for k rows, d the degree of the touched
        services (a list removal when a pair goes stale or away).
        """
        for key in retracted:
            self._remove_report(key)
        for service_id in deleted:
            if self.services.pop(service_id, None) is not None:
                self.rendered_nodes.discard(service_id)
                self.removals += 1
        for service in services:
            self.services[service.service_id] = service
            self.rendered_nodes.discard(service.service_id)
        rendered_edges = self.rendered_edges
        pairs = self.pairs
        for report in map(self._sharing_values, reports):
            pair = (report.source, report.target)
            if rendered_edges:
                rendered_edges.discard((pair, True))
                rendered_edges.discard((pair, False))
            old = pairs.get(pair)
            if old is None:
                pairs[pair] = report
                self._link_new(pair, fresh=not report.is_stale)
                continue
            others = [r for r in reports_of(old) if r.discovery_source != report.discovery_source]
            stored = pairs[pair] = pair_reports((*others, report))
            was_fresh, now_fresh = is_fresh(old), is_fresh(stored)
            if now_fresh and not was_fresh:
                self._link_fresh(pair)
            elif was_fresh and not now_fresh:
                self._unlink_fresh(pair)
        self.revision = revision

    def _remove_report(self, key: ReportKey) -> None:
        """Take one source's report of a pair out; the pair goes when it was the last."""
        source, target, discovery_source = key
        pair = (source, target)
        old = self.pairs.get(pair)
        if old is None:
            return
        reports = reports_of(old)
        others = tuple(r for r in reports if r.discovery_source != discovery_source)
        if len(others) == len(reports):
            return
        self.rendered_edges.discard((pair, True))
        self.rendered_edges.discard((pair, False))
        if not others:
            del self.pairs[pair]
            self.removals += 1
            self._unlink(pair, was_fresh=is_fresh(old))
            return
        stored = self.pairs[pair] = pair_reports(others)
        was_fresh, now_fresh = is_fresh(old), is_fresh(stored)
        if now_fresh and not was_fresh:
            self._link_fresh(pair)
        elif was_fresh and not now_fresh:
            self._unlink_fresh(pair)

    def _unlink(self, pair: Pair, *, was_fresh: bool) -> None:
        """Take a pair that left the graph out of every list, as a rebuild would have
        them: no key without neighbours, a fresh list shared again once it holds every
        pair of its node."""
        for every, only_fresh, node, neighbour in self._sides(pair):
            neighbours = every[node]
            fresh = only_fresh.get(node)
            neighbours.remove(neighbour)
            if fresh is not None and fresh is not neighbours and was_fresh:
                fresh.remove(neighbour)
            if not neighbours:
                del every[node]
                only_fresh.pop(node, None)
            elif fresh is not None and not fresh:
                del only_fresh[node]
            elif fresh is not None and fresh is not neighbours and len(fresh) == len(neighbours):
                only_fresh[node] = neighbours

    def _sharing_values(self, report: DependencyReport) -> DependencyReport:
        """`report` holding the snapshot's own objects for its service ids (and an
        interned protocol) instead of the equal strings a write parsed: a 250,000-edge
        graph written through the API held ~30 MB of duplicate id strings more than the
        same graph loaded (measured in process, tracemalloc)."""
        services = self.services
        source = services.get(report.source)
        target = services.get(report.target)
        protocol = report.protocol
        source_id = report.source if source is None else source.service_id
        target_id = report.target if target is None else target.service_id
        shared_protocol = None if protocol is None else sys.intern(protocol)
        if (
            source_id is report.source
            and target_id is report.target
            and shared_protocol is protocol
        ):
            return report
        return report._replace(source=source_id, target=target_id, protocol=shared_protocol)

    def _sides(self, pair: Pair) -> tuple[_Side, _Side]:
        source, target = pair
        return (
            (self.downstream_all, self.downstream_fresh, source, target),
            (self.upstream_all, self.upstream_fresh, target, source),
        )

    def _link_new(self, pair: Pair, *, fresh: bool) -> None:
        """Add a pair not in the graph before to the lists over all pairs, and to the
        fresh ones if it is fresh, keeping shared lists shared where they stay equal."""
        for every, only_fresh, node, neighbour in self._sides(pair):
            neighbours = every.get(node)
            if neighbours is None:
                every[node] = [neighbour]
                if fresh:
                    only_fresh[node] = every[node]
                continue
            shared = only_fresh.get(node) is neighbours
            if fresh:
                neighbours.append(neighbour)
                if not shared:
                    only_fresh.setdefault(node, []).append(neighbour)
            else:
                if shared:  # the node now has a stale pair: its fresh list is its own
                    only_fresh[node] = list(neighbours)
                neighbours.append(neighbour)

    def _link_fresh(self, pair: Pair) -> None:
        """A stale pair became fresh: add it to the fresh lists (its own lists there,
        shared again once they hold every pair)."""
        for every, only_fresh, node, neighbour in self._sides(pair):
            neighbours = only_fresh.setdefault(node, [])
            neighbours.append(neighbour)
            if len(neighbours) == len(every[node]):
                only_fresh[node] = every[node]

    def _unlink_fresh(self, pair: Pair) -> None:
        """A fresh pair went stale: take it out of the fresh lists, copying a shared
        list first (the list over all pairs keeps it)."""
        for every, only_fresh, node, neighbour in self._sides(pair):
            neighbours = only_fresh[node]
            if neighbours is every[node]:
                neighbours = only_fresh[node] = list(neighbours)
            neighbours.remove(neighbour)
            if not neighbours:  # as a rebuild would have it: no key without neighbours
                del only_fresh[node]
