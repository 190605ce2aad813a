"""Drift: where what people and catalogs declare and what traffic shows disagree.

Pure: a snapshot, a time and a window in, drift items out (no I/O, no clock). The rules,
with worked examples that are tests, are in docs/drift.md:

* `declared_only`: a declaring source reports the pair, no observing source saw it within
  the window (directly, or through a broker: see below), and traffic covers the caller:
  some observing source saw the caller's own outgoing calls within the window (or the
  mesh saw calls into it: its sidecar would see its calls out). A caller nobody
  observes says nothing about its calls, so it yields no item; nor does a database,
  broker, external or virtual caller (traffic never shows what those call).
* Pairs whose caller is `virtual` (OpenTelemetry's untraced `user`) are never judged,
  and pairs with an `external` end only when asked (`include_external`).
* A broker stands between: `a -> m` and `b -> m` (or `m -> b`) observed, `m` a
  `messaging` node, is an observation of a declared `a -> b` (either way), and those
  observed edges to or from `m` that some declared pair explains are not drift.
* `observed_only`: an observing source saw the pair within the window and no declaring
  source reports it.
* `mismatch`: both do, and a field an observing source actually tells (`SOURCES`)
  differs from the declared value. One item per field.

Cost: O(P * r) for the P pairs judged (r reports per pair, at most six), plus, for the
callers of declared pairs and the ends of edges to brokers, O(degree) once per node
(remembered), plus the sort of the items found: O(E + D log D) for the whole graph with
E pairs and D items.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from slo_engine.graph.model import DependencyReport, DiscoverySource, NodeKind
from slo_engine.graph.snapshot import GraphSnapshot, Pair

DEFAULT_WINDOW = timedelta(days=7)


class Drift(enum.StrEnum):
    DECLARED_ONLY = "declared_only"
    OBSERVED_ONLY = "observed_only"
    MISMATCH = "mismatch"


# The order items of one pair are listed in (and paged by).
DRIFT_ORDER = {kind: position for position, kind in enumerate(Drift)}


class Role(enum.Enum):
    DECLARES = "declares"  # people and catalogs: what a dependency should be
    OBSERVES = "observes"  # traffic: what the calls are
    NEITHER = "neither"  # configuration-derived (kubernetes): neither claim nor evidence


@dataclass(frozen=True, slots=True)
class SourceTraits:
    role: Role
    # The fields a mismatch compares with this source's value: for a declaring source,
    # what it may declare; for an observing one, what it actually measures rather than
    # assumes. A field not listed here is never compared for that source.
    tells: frozenset[str] = frozenset()


_MODE_AND_CRITICALITY = frozenset({"communication_mode", "criticality"})

# Every discovery source's part in drift, in one place. Why each observing source tells
# what it tells (discovery/sources/*.py):
# * the mesh proxies see requests and their answers on both sides: a sync call;
# * the OpenTelemetry service graph maps `connection_type` (messaging_system: async;
#   unset, a client/server span pair: sync);
# * Jaeger's dependency links carry no connection type: its `sync` is an assumption the
#   source fills in, so its mode is not compared.
# No built-in observing source fills in `criticality`; a client that posts it with an
# observing source (e.g. from a chaos experiment) has it compared. `protocol` is never
# compared: the OpenTelemetry source writes the connection type there (`database`,
# `messaging_system`), not the declared wire protocol. Timeouts and retry policies are
# observed by nobody.
SOURCES: Mapping[DiscoverySource, SourceTraits] = {
    DiscoverySource.MANUAL: SourceTraits(Role.DECLARES, _MODE_AND_CRITICALITY),
    DiscoverySource.BACKSTAGE: SourceTraits(Role.DECLARES, _MODE_AND_CRITICALITY),
    DiscoverySource.SERVICE_MESH: SourceTraits(Role.OBSERVES, _MODE_AND_CRITICALITY),
    DiscoverySource.OTEL_SERVICE_GRAPH: SourceTraits(Role.OBSERVES, _MODE_AND_CRITICALITY),
    DiscoverySource.JAEGER: SourceTraits(Role.OBSERVES, frozenset({"criticality"})),
    DiscoverySource.KUBERNETES: SourceTraits(Role.NEITHER),
}
# Which declaration wins, and which observation is the observed value: the merge's
# priorities (docs/merge.md), restricted to each role.
DECLARING = (DiscoverySource.MANUAL, DiscoverySource.BACKSTAGE)
OBSERVING = (
    DiscoverySource.SERVICE_MESH,
    DiscoverySource.OTEL_SERVICE_GRAPH,
    DiscoverySource.JAEGER,
)
COMPARED_FIELDS = ("communication_mode", "criticality")
TRAFFIC_FIGURES = ("request_rate", "error_rate", "latency_p95_ms")

# An observation at the far end of the window counts half as much as one made now.
OLDEST_WEIGHT = 0.5
# A declared edge traffic does not show is never surer than this: a covered caller may
# still make the call rarely (a monthly job, a sampled trace that missed it).
COVERAGE_CAP = 0.95
# Callers whose own calls no source observes: traffic never covers them.
UNCOVERABLE = frozenset(
    {NodeKind.DATABASE, NodeKind.MESSAGING, NodeKind.EXTERNAL, NodeKind.VIRTUAL}
)


class Coverage(NamedTuple):
    """What traffic sees of a caller within the window: its own calls out (any observing
    source), and the calls into it the mesh saw (a destination in the mesh has a sidecar,
    which sees its calls out as well)."""

    observed_by: tuple[DiscoverySource, ...]  # in observation priority
    last_seen: datetime
    edges: int  # its covering pairs: observed calls out, mesh-observed calls in
    confidence: float


@dataclass(frozen=True, slots=True)
class Evidence:
    declared_by: tuple[DiscoverySource, ...]
    observed_by: tuple[DiscoverySource, ...]  # within the window, fresh
    last_seen: Mapping[DiscoverySource, datetime]  # every report of the pair, any age
    request_rate: float | None
    error_rate: float | None
    latency_p95_ms: float | None
    caller_coverage: Coverage | None  # declared_only items only


@dataclass(frozen=True, slots=True)
class DriftItem:
    source: str
    target: str
    drift: Drift
    confidence: float
    evidence: Evidence
    field: str | None = None  # mismatch items: the field, the declared and observed values
    declared: str | None = None
    observed: str | None = None
    source_kind: NodeKind = NodeKind.SERVICE
    target_kind: NodeKind = NodeKind.SERVICE

    @property
    def key(self) -> tuple[str, str, int, str]:
        """The listing order: by pair, then kind, then field."""
        return (self.source, self.target, DRIFT_ORDER[self.drift], self.field or "")


def weight(seen: datetime, now: datetime, window: timedelta) -> float:
    """How much an observation made at `seen` counts: 1 now, falling linearly to
    OLDEST_WEIGHT at the window's far end (a time after `now` counts as now).

    >>> from datetime import UTC
    >>> now = datetime(2026, 1, 8, tzinfo=UTC)
    >>> week = timedelta(days=7)
    >>> weight(now, now, week), weight(now - week, now, week)
    (1.0, 0.5)
    """
    age = max((now - seen).total_seconds(), 0.0)
    return 1.0 - (1.0 - OLDEST_WEIGHT) * min(age / window.total_seconds(), 1.0)


def noisy_or(values: Iterable[float]) -> float:
    """1 - prod(1 - v), rounded to 4 places: independent pieces of evidence.

    >>> noisy_or([0.9, 0.5]), noisy_or([])
    (0.95, 0.0)
    """
    missing = 1.0
    for value in values:
        missing *= 1.0 - value
    return round(1.0 - missing, 4)


def in_window(report: DependencyReport, now: datetime, window: timedelta) -> bool:
    """A fresh observing report seen within the window (declarations never age)."""
    return (
        SOURCES[report.discovery_source].role is Role.OBSERVES
        and not report.is_stale
        and report.last_observed_at >= now - window
    )


def coverage_confidence(best: Mapping[DiscoverySource, float]) -> float:
    """How sure a covered caller's silence toward a callee is: per observing source, its
    best covering observation (confidence times recency); the sources combined as
    independent instruments; at most COVERAGE_CAP. How many edges one source saw does
    not add up: they say the caller is instrumented, not that this call would show.

    >>> coverage_confidence({DiscoverySource.JAEGER: 0.8}), coverage_confidence({})
    (0.8, 0.0)
    >>> coverage_confidence({DiscoverySource.JAEGER: 0.8, DiscoverySource.SERVICE_MESH: 0.9})
    0.95
    """
    return min(noisy_or(best.values()), COVERAGE_CAP)


def pairs_touching(snapshot: GraphSnapshot, service_id: str) -> list[Pair]:
    """Every pair `service_id` is the caller or the callee of. O(degree)."""
    pairs = [(service_id, target) for target in snapshot.downstream_all.get(service_id, ())]
    pairs += [(source, service_id) for source in snapshot.upstream_all.get(service_id, ())]
    return list(dict.fromkeys(pairs))  # a self-loop is listed on both sides


class _Judge:
    """Drift of pairs of one snapshot at one time; remembers each caller's coverage and
    what it learnt of brokers."""

    def __init__(
        self,
        snapshot: GraphSnapshot,
        now: datetime,
        window: timedelta,
        include_external: bool = False,
    ) -> None:
        self.snapshot = snapshot
        self.now = now
        self.window = window
        self.include_external = include_external
        self._coverage: dict[str, Coverage | None] = {}
        self._touching: dict[str, frozenset[str]] = {}
        self._partners: dict[str, frozenset[str]] = {}
        self._brokers: dict[str, tuple[str, ...]] = {}

    def kind(self, service_id: str) -> NodeKind:
        found = self.snapshot.services.get(service_id)
        return NodeKind.SERVICE if found is None else found.kind

    def observed(self, pair: Pair) -> list[DependencyReport]:
        return [r for r in self.snapshot.reports(pair) if in_window(r, self.now, self.window)]

    def coverage(self, service_id: str) -> Coverage | None:
        """What traffic saw of `service_id` within the window (None: nothing). O(degree)."""
        if service_id in self._coverage:
            return self._coverage[service_id]
        snapshot = self.snapshot
        best: dict[DiscoverySource, float] = {}
        last: datetime | None = None
        edges = 0
        outgoing = [(service_id, t) for t in snapshot.downstream_all.get(service_id, ())]
        incoming = [(s, service_id) for s in snapshot.upstream_all.get(service_id, ())]
        for pair, direction in [*((p, "out") for p in outgoing), *((p, "in") for p in incoming)]:
            seen = [
                r
                for r in self.observed(pair)
                if direction == "out" or r.discovery_source is DiscoverySource.SERVICE_MESH
            ]
            if not seen or (direction == "in" and pair[0] == pair[1]):
                continue  # a self-call is counted once, as a call out
            edges += 1
            for report in seen:
                value = report.confidence_score * weight(
                    report.last_observed_at, self.now, self.window
                )
                source = report.discovery_source
                best[source] = max(best.get(source, 0.0), value)
                if last is None or report.last_observed_at > last:
                    last = report.last_observed_at
        found = None
        if last is not None:
            order = tuple(s for s in OBSERVING if s in best)
            found = Coverage(order, last, edges, coverage_confidence(best))
        self._coverage[service_id] = found
        return found

    def touching(self, broker: str) -> frozenset[str]:
        """The nodes traffic shows calling `broker` or called by it, within the window."""
        if broker not in self._touching:
            snapshot = self.snapshot
            ends = {s for s in snapshot.upstream_all.get(broker, ()) if self.observed((s, broker))}
            ends |= {
                t for t in snapshot.downstream_all.get(broker, ()) if self.observed((broker, t))
            }
            ends.discard(broker)
            self._touching[broker] = frozenset(ends)
        return self._touching[broker]

    def partners(self, service_id: str) -> frozenset[str]:
        """The nodes a declared pair joins `service_id` to, either way."""
        if service_id not in self._partners:
            snapshot = self.snapshot
            found = {
                other
                for pair in pairs_touching(snapshot, service_id)
                if any(_declares(r) for r in snapshot.reports(pair))
                for other in pair
                if other != service_id
            }
            self._partners[service_id] = frozenset(found)
        return self._partners[service_id]

    def through_broker(self, source: str, target: str) -> bool:
        """Traffic shows `source` and `target` both at one broker (a declared async call
        seen as `source -> topic` and `target -> topic`)."""
        if source not in self._brokers:
            snapshot = self.snapshot
            near = {
                *snapshot.downstream_all.get(source, ()),
                *snapshot.upstream_all.get(source, ()),
            }
            self._brokers[source] = tuple(
                m for m in near if self.kind(m) is NodeKind.MESSAGING and source in self.touching(m)
            )
        return any(target in self.touching(m) for m in self._brokers[source])

    def explained(self, source: str, target: str) -> bool:
        """An observed edge to or from a broker that a declared pair explains: the other
        end's declared partners meet at the broker too."""
        if self.kind(target) is NodeKind.MESSAGING:
            end, broker = source, target
        elif self.kind(source) is NodeKind.MESSAGING:
            end, broker = target, source
        else:
            return False
        return bool(self.partners(end) & self.touching(broker))

    def judge(self, pair: Pair) -> list[DriftItem]:
        source, target = pair
        kinds = (self.kind(source), self.kind(target))
        if kinds[0] is NodeKind.VIRTUAL or (
            NodeKind.EXTERNAL in kinds and not self.include_external
        ):
            # The untraced side of traffic (nobody declares what users call); an
            # external end only when asked.
            return []
        reports = self.snapshot.reports(pair)
        declared = {r.discovery_source: r for r in reports if _declares(r)}
        observed = {r.discovery_source: r for r in reports if in_window(r, self.now, self.window)}
        if not declared and not observed:
            return []
        figures = {
            name: next(
                (
                    value
                    for s in OBSERVING
                    if s in observed and (value := getattr(observed[s], name)) is not None
                ),
                None,
            )
            for name in TRAFFIC_FIGURES
        }

        def evidence(coverage: Coverage | None = None) -> Evidence:
            return Evidence(
                declared_by=tuple(s for s in DECLARING if s in declared),
                observed_by=tuple(s for s in OBSERVING if s in observed),
                last_seen={r.discovery_source: r.last_observed_at for r in reports},
                request_rate=figures["request_rate"],
                error_rate=figures["error_rate"],
                latency_p95_ms=figures["latency_p95_ms"],
                caller_coverage=coverage,
            )

        def item(
            drift: Drift,
            confidence: float,
            found: Evidence,
            field: str | None = None,
            declared: str | None = None,
            observed: str | None = None,
        ) -> DriftItem:
            return DriftItem(
                source,
                target,
                drift,
                confidence,
                found,
                field,
                declared,
                observed,
                source_kind=kinds[0],
                target_kind=kinds[1],
            )

        if not observed:
            # Nobody observes what a database, broker or external node calls; a call
            # traffic shows through a broker is seen; a caller nobody observes: no word.
            uncovered = kinds[0] in UNCOVERABLE or self.through_broker(source, target)
            coverage = None if uncovered else self.coverage(source)
            return (
                []
                if coverage is None
                else [item(Drift.DECLARED_ONLY, coverage.confidence, evidence(coverage))]
            )
        if not declared:
            # One half of a declared call through a broker is no drift.
            if self.explained(source, target):
                return []
            confidence = noisy_or(self._weighted(observed.values()))
            return [item(Drift.OBSERVED_ONLY, confidence, evidence())]
        items = []
        for name in COMPARED_FIELDS:
            declared_value = _first_told(declared, DECLARING, name)
            observed_value = _first_told(observed, OBSERVING, name)
            if declared_value is None or observed_value is None or declared_value == observed_value:
                continue
            telling = [
                r
                for r in observed.values()
                if name in SOURCES[r.discovery_source].tells
                and str(getattr(r, name)) == observed_value
            ]
            items.append(
                item(
                    Drift.MISMATCH,
                    noisy_or(self._weighted(telling)),
                    evidence(),
                    field=name,
                    declared=declared_value,
                    observed=observed_value,
                )
            )
        return items

    def _weighted(self, reports: Iterable[DependencyReport]) -> list[float]:
        return [
            r.confidence_score * weight(r.last_observed_at, self.now, self.window) for r in reports
        ]


def _declares(report: DependencyReport) -> bool:
    return SOURCES[report.discovery_source].role is Role.DECLARES


def _first_told(
    reports: Mapping[DiscoverySource, DependencyReport],
    priority: tuple[DiscoverySource, ...],
    name: str,
) -> str | None:
    """The value of field `name` from the first source in `priority` that tells it (the
    compared fields are enumerations: their text)."""
    for source in priority:
        report = reports.get(source)
        if report is not None and name in SOURCES[source].tells:
            value = getattr(report, name)
            if value is not None:
                return str(value)
    return None


def drift_items(
    snapshot: GraphSnapshot,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
    pairs: Iterable[Pair] | None = None,
    include_external: bool = False,
) -> list[DriftItem]:
    """The drift items of `pairs` (default: every pair of the snapshot), in listing
    order (`DriftItem.key`). `now` is the time the window ends at; pairs with an
    `external` end are judged only with `include_external`.

    >>> from datetime import UTC
    >>> from slo_engine.graph.model import DiscoverySource as S
    >>> now = datetime(2026, 1, 8, tzinfo=UTC)
    >>> reports = [
    ...     DependencyReport("web", "api", S.BACKSTAGE, now),
    ...     DependencyReport("web", "db", S.BACKSTAGE, now),
    ...     DependencyReport("web", "api", S.OTEL_SERVICE_GRAPH, now, confidence_score=0.9),
    ...     DependencyReport("web", "cache", S.OTEL_SERVICE_GRAPH, now, confidence_score=0.9),
    ... ]
    >>> snapshot = GraphSnapshot.build(1, [], reports)
    >>> [(i.source, i.target, i.drift.value) for i in drift_items(snapshot, now)]
    [('web', 'cache', 'observed_only'), ('web', 'db', 'declared_only')]
    """
    if window <= timedelta(0):
        raise ValueError("the window must be positive")
    judge = _Judge(snapshot, now, window, include_external)
    chosen = snapshot.pairs if pairs is None else dict.fromkeys(pairs)
    found = [item for pair in chosen if pair in snapshot.pairs for item in judge.judge(pair)]
    found.sort(key=lambda item: item.key)
    return found


def counts(items: Iterable[DriftItem]) -> dict[Drift, int]:
    """How many items of each kind (every kind present, zero when none)."""
    found = dict.fromkeys(Drift, 0)
    for item in items:
        found[item.drift] += 1
    return found
