"""A subgraph answer too large for the fragment cache is encoded in chunks, and its bytes
are exactly those of the cached path (topology/service.py `subgraph_answer`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from slo_engine.graph.model import DependencyReport, Direction, DiscoverySource, Service
from slo_engine.graph.snapshot import GraphSnapshot
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
    monkeypatch.setattr(service, "FRAGMENT_CACHE_ENTRIES", 40)  # 3,000 edges: chunked
    chunked = service.subgraph_answer(fan(1000), "root", shape)
    monkeypatch.setattr(service, "FRAGMENT_CACHE_ENTRIES", 10**9)  # through the cache
    cached = service.subgraph_answer(fan(1000), "root", shape)
    assert chunked == cached
    assert b'"total_edges":3000' in chunked
