"""A subgraph answer too large for the fragment cache is encoded in chunks, and its bytes
are exactly those of the cached path (topology/service.py `subgraph_answer`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from slo_engine.graph.model import DependencyReport, Direction, DiscoverySource, Service
from slo_engine.graph.snapshot import GraphSnapshot, merged_view, reports_of
from slo_engine.topology import service

AT = datetime(2026, 12, 1, tzinfo=UTC)


def fan(width: int) -> GraphSnapshot:
    """root -> a-i -> b-i, and every a-i -> b-(i+1): 3 * width edges."""
    reports = []
    for i in range(width):
        reports.append(DependencyReport("root", f"a-{i}", DiscoverySource.MANUAL, AT))
        reports.append(
            DependencyReport(
                f"a-{i}",
                f"b-{i}",
                DiscoverySource.OTEL_SERVICE_GRAPH,
                AT,
                request_rate=i / 7,
                error_rate=-0.0 if i % 2 else 0.25,
            )
        )
        reports.append(
            DependencyReport(f"a-{i}", f"b-{(i + 1) % width}", DiscoverySource.MANUAL, AT)
        )
    names = {name for report in reports for name in (report.source, report.target)}
    services = [Service(name, team="t" if name == "root" else None) for name in sorted(names)]
    return GraphSnapshot.build(1, services, reports)


@pytest.mark.parametrize("direction", [Direction.DOWNSTREAM, Direction.BOTH])
def test_chunked_encoding_gives_the_cached_paths_bytes(
    direction: Direction, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = service.SubgraphShape(direction, 3, False, 100_000)
    monkeypatch.setattr(service, "LARGE_ANSWER_EDGES", 20)  # 3,000 edges: chunked
    chunked = service.subgraph_answer(fan(1000), "root", shape)
    monkeypatch.setattr(service, "LARGE_ANSWER_EDGES", 10**9)  # through the cache
    cached = service.subgraph_answer(fan(1000), "root", shape)
    assert chunked == cached
    assert b'"total_edges":3000' in chunked


def test_an_edge_encoded_from_its_stored_reports_equals_its_merged_views_document() -> None:
    """`stored_edge_document` skips the merged view for a pair with one report: the
    document must be the merged view's, for fresh, stale and several-source pairs."""
    mesh, manual = DiscoverySource.SERVICE_MESH, DiscoverySource.MANUAL
    reports = [
        DependencyReport("a", "b", mesh, AT, confidence_score=0.33333, request_rate=2.5),
        DependencyReport("a", "c", mesh, AT, is_stale=True, error_rate=-0.0),
        DependencyReport("b", "c", mesh, AT, request_rate=1.0, latency_p95_ms=12.5),
        DependencyReport("b", "c", manual, AT, timeout_ms=300, retry_config={"attempts": 2}),
        DependencyReport("c", "a", manual, AT, is_stale=True),
        DependencyReport("c", "a", mesh, AT, confidence_score=1.7),
    ]
    snapshot = GraphSnapshot.build(1, [], reports)
    compared = 0
    for pair, stored in snapshot.pairs.items():
        for include_stale in (False, True):
            merged = merged_view(stored, include_stale)
            if merged is None:
                continue
            expected = service.edge_document(merged)
            assert service.stored_edge_document(stored, include_stale) == expected, pair
            compared += 1
    assert compared == 7  # a-c has no fresh view
    assert len(reports_of(snapshot.pairs[("b", "c")])) == 2
