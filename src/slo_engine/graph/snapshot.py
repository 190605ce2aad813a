"""An in-memory, indexed copy of the whole dependency graph.

The read side answers subgraph queries from this snapshot instead of walking the
database: a breadth-first walk over Python lists costs microseconds per node, where a
database walk costs a round trip per level (design.md, "Performance model"). The
snapshot is built from stored rows, kept current by applying the exact rows each write
stored, and rebuilt whenever another process wrote (see topology/cache.py).

Memory: about 400 bytes per stored report plus 600 per service (50,000 services and
250,000 reports: roughly 150 MB), measured by `make bench`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Generic, TypeVar

from slo_engine.graph.impact import cannot_work_without
from slo_engine.graph.merge import merge_reports
from slo_engine.graph.model import (
    DependencyReport,
    MergedDependency,
    Service,
    ServiceDeclaration,
)

Pair = tuple[str, str]
T = TypeVar("T")
K = TypeVar("K")

# Encoded fragments kept per snapshot, for nodes and for edges each. An edge fragment is
# ~450 bytes, so the edge cache tops out near 35 MB (half of issue 11's bound: the memory
# per worker target of issue 12); unbounded, the benchmark's 250,000 pairs (twice: with
# and without stale reports) grew the process by ~500 MB.
FRAGMENT_CACHE_ENTRIES = 65_536


class FragmentCache(Generic[K]):
    """A bounded map of encoded fragments: when full, the older half is dropped.

    Eviction in insertion order (not least-recently-used) keeps a hit to one dict
    lookup; the entries that are hot are re-encoded once after an eviction.

    >>> cache = FragmentCache[str](capacity=2)
    >>> cache.put("a", b"1"); cache.put("b", b"2"); cache.put("c", b"3")
    >>> cache.get("a"), cache.get("c"), len(cache)
    (None, b'3', 2)
    """

    __slots__ = ("_capacity", "_entries")

    def __init__(self, capacity: int = FRAGMENT_CACHE_ENTRIES) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._entries: dict[K, bytes] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> bytes | None:
        return self._entries.get(key)

    def put(self, key: K, fragment: bytes) -> None:
        entries = self._entries
        if len(entries) >= self._capacity and key not in entries:
            # Dicts iterate in insertion order: the first half are the oldest.
            # `pop`, not `del`: a heavy read in a worker thread may be evicting too.
            for old in list(itertools.islice(entries, max(1, self._capacity // 2))):
                entries.pop(old, None)
        entries[key] = fragment

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)


class PairState:
    """Every report of one (source, target) pair, and its merged views on demand.

    Merging is deferred to the first query that returns the pair (and remembered), so
    building or updating the snapshot costs O(1) per report.
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
        if len(reports) == 1:  # most pairs have one source: skip the generic count
            self.all_fresh = self.fresh = not reports[0].is_stale
        else:
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


def _given(value: T | None, stored: T | None) -> T | None:
    return stored if value is None else value


def declared_service(
    stored: Service | None, declaration: ServiceDeclaration, now: datetime
) -> Service:
    """The service as stored after `declaration` is upserted over `stored`.

    Fields the declaration leaves out keep their stored value; given metadata replaces
    the stored object. (The same rule as the SQL in catalog/bulk.py.)
    """
    if stored is None:
        return Service(
            service_id=declaration.service_id,
            display_name=declaration.display_name,
            team=declaration.team,
            criticality=declaration.criticality,
            metadata=declaration.metadata or {},
            discovered=False,
            created_at=now,
            updated_at=now,
        )
    return replace(
        stored,
        display_name=_given(declaration.display_name, stored.display_name),
        team=_given(declaration.team, stored.team),
        criticality=_given(declaration.criticality, stored.criticality),
        metadata=stored.metadata if declaration.metadata is None else declaration.metadata,
        discovered=False,
        updated_at=now,
    )


def discovered_service(service_id: str, now: datetime) -> Service:
    """A service first named by an edge, before anyone declares it."""
    return Service(service_id=service_id, discovered=True, created_at=now, updated_at=now)


def observed_report(stored: DependencyReport | None, report: DependencyReport) -> DependencyReport:
    """The report as stored after `report` is upserted over `stored` (same source).

    It takes the new attributes, is fresh, and keeps the later `last_observed_at`.
    """
    if not report.is_stale and (
        stored is None or report.last_observed_at >= stored.last_observed_at
    ):
        return report
    if stored is None or report.last_observed_at >= stored.last_observed_at:
        return report._replace(is_stale=False)
    return report._replace(is_stale=False, last_observed_at=stored.last_observed_at)


def expired(
    report: DependencyReport, aging_sources: Iterable[str], observed_before: datetime
) -> bool:
    """Whether the staleness job flags `report` (the same rule as its SQL): a fresh
    report of a source whose edges age, last observed before the cutoff."""
    return (
        not report.is_stale
        and report.discovery_source in aging_sources
        and report.last_observed_at < observed_before
    )


class OverlayAdjacency(Mapping[str, Sequence[str]]):
    """Read-only adjacency = a base adjacency plus extra edges, without copying the base."""

    def __init__(self, base: Mapping[str, Sequence[str]], extra: Mapping[str, Sequence[str]]):
        self._base = base
        self._extra = extra

    def __getitem__(self, node: str) -> Sequence[str]:
        base = self._base.get(node)
        extra = self._extra.get(node)
        if extra is None:
            if base is None:
                raise KeyError(node)
            return base
        return [*base, *extra] if base else extra

    def __iter__(self) -> Iterator[str]:
        yield from self._base
        for node in self._extra:
            if node not in self._base:
                yield node

    def __len__(self) -> int:
        return sum(1 for _ in self)


class GraphSnapshot:
    """Services, reports, merged edges and adjacency lists of one graph revision.

    Adjacency lists are kept twice: over every pair (`include_stale=true` queries) and
    over pairs with at least one fresh report (the default), so a walk never filters.
    """

    def __init__(self, revision: int) -> None:
        self.revision = revision
        self.services: dict[str, Service] = {}
        self.pairs: dict[Pair, PairState] = {}
        self.downstream_all: dict[str, list[str]] = {}
        self.upstream_all: dict[str, list[str]] = {}
        self.downstream_fresh: dict[str, list[str]] = {}
        self.upstream_fresh: dict[str, list[str]] = {}
        # The read side's encodings (JSON fragments) of pairs and services, kept across
        # queries; `apply` drops the entries of whatever a write changes.
        self.rendered_edges = FragmentCache[tuple[Pair, bool]]()
        self.rendered_nodes = FragmentCache[str]()

    @classmethod
    def build(
        cls, revision: int, services: Iterable[Service], reports: Iterable[DependencyReport]
    ) -> GraphSnapshot:
        """A snapshot of these rows. O(V + E)."""
        snapshot = cls(revision)
        snapshot.services = {service.service_id: service for service in services}
        grouped: dict[Pair, list[DependencyReport]] = {}
        for report in reports:
            grouped.setdefault((report.source, report.target), []).append(report)
        for pair, pair_reports in grouped.items():
            state = PairState(tuple(pair_reports))
            snapshot.pairs[pair] = state
            snapshot._link(pair, snapshot.downstream_all, snapshot.upstream_all)
            if state.fresh:
                snapshot._link(pair, snapshot.downstream_fresh, snapshot.upstream_fresh)
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
        merged = self.pairs[pair].merged(include_stale)
        assert merged is not None, "a walk over fresh edges only reaches fresh pairs"
        return merged

    def report(self, pair: Pair, discovery_source: str) -> DependencyReport | None:
        """The stored report of `pair` from `discovery_source`, if any."""
        state = self.pairs.get(pair)
        if state is None:
            return None
        for report in state.reports:
            if report.discovery_source == discovery_source:
                return report
        return None

    def apply(
        self, revision: int, services: Iterable[Service], reports: Iterable[DependencyReport]
    ) -> None:
        """Bring the snapshot to `revision` by upserting the rows one write stored.

        A report replaces the pair's report from the same discovery source. O(k * d) for
        k rows, d the degree of the touched services (a list removal when a pair goes stale).
        """
        for service in services:
            self.services[service.service_id] = service
            self.rendered_nodes.discard(service.service_id)
        rendered_edges = self.rendered_edges
        pairs = self.pairs
        for report in reports:
            pair = (report.source, report.target)
            if rendered_edges:
                rendered_edges.discard((pair, True))
                rendered_edges.discard((pair, False))
            old = pairs.get(pair)
            if old is None:
                state = pairs[pair] = PairState((report,))
                self._link(pair, self.downstream_all, self.upstream_all)
                if state.fresh:
                    self._link(pair, self.downstream_fresh, self.upstream_fresh)
                continue
            others = [r for r in old.reports if r.discovery_source != report.discovery_source]
            state = pairs[pair] = PairState((*others, report))
            if state.fresh and not old.fresh:
                self._link(pair, self.downstream_fresh, self.upstream_fresh)
            elif old.fresh and not state.fresh:
                self._unlink(pair, self.downstream_fresh, self.upstream_fresh)
        self.revision = revision

    @staticmethod
    def _link(pair: Pair, downstream: dict[str, list[str]], upstream: dict[str, list[str]]) -> None:
        source, target = pair
        downstream.setdefault(source, []).append(target)
        upstream.setdefault(target, []).append(source)

    @staticmethod
    def _unlink(
        pair: Pair, downstream: dict[str, list[str]], upstream: dict[str, list[str]]
    ) -> None:
        source, target = pair
        for adjacency, node, neighbour in (
            (downstream, source, target),
            (upstream, target, source),
        ):
            neighbours = adjacency[node]
            neighbours.remove(neighbour)
            if not neighbours:  # as a rebuild would have it: no key without neighbours
                del adjacency[node]
