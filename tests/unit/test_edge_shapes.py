"""An edge's attributes are one list (`graph.model.EDGE_ATTRIBUTES`): every shape of an
edge names exactly those, in that order where it has an order."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from slo_engine.catalog.tables import service_dependencies
from slo_engine.graph.merge import merge_reports
from slo_engine.graph.model import (
    DECLARED_ATTRIBUTES,
    EDGE_ATTRIBUTES,
    OBSERVED_ATTRIBUTES,
    DependencyReport,
    DiscoverySource,
    MergedDependency,
)
from slo_engine.graph.stored_rows import REPORT_FIELDS_REPLACED
from slo_engine.ingestion.schemas import EdgeAttributes
from slo_engine.topology.schemas import EdgeAttributesOut, EdgeOut
from slo_engine.topology.service import edge_document, stored_edge_document


def test_no_attribute_is_both_declared_and_observed() -> None:
    assert not set(DECLARED_ATTRIBUTES) & set(OBSERVED_ATTRIBUTES)


def test_the_domain_types_and_the_table_hold_every_attribute() -> None:
    merged_fields = [field.name for field in dataclasses.fields(MergedDependency)]
    for name in EDGE_ATTRIBUTES:
        assert name in DependencyReport._fields
        assert name in merged_fields
        assert name in service_dependencies.c


def test_the_http_shapes_name_exactly_the_attributes() -> None:
    assert tuple(EdgeAttributesOut.model_fields) == EDGE_ATTRIBUTES
    # The ingest format also takes a report's own confidence among its attributes.
    assert tuple(EdgeAttributes.__annotations__) == (
        *DECLARED_ATTRIBUTES,
        "confidence_score",
        *OBSERVED_ATTRIBUTES,
    )


def test_the_encoder_writes_the_documented_shape() -> None:
    report = DependencyReport(
        "checkout",
        "payments",
        DiscoverySource.OTEL_SERVICE_GRAPH,
        datetime(2026, 1, 1, tzinfo=UTC),
        protocol="grpc",
        request_rate=12.5,
        latency_p95_ms=40.0,
    )
    merged = merge_reports([report])
    # `reported_as` is written only for an edge an alias renamed (below).
    always = tuple(name for name in EdgeOut.model_fields if name != "reported_as")
    for document in (edge_document(merged), stored_edge_document(report, include_stale=True)):
        assert tuple(document) == always
        assert tuple(document["attributes"]) == EDGE_ATTRIBUTES
        assert document["attributes"]["protocol"] == "grpc"
        assert document["attributes"]["latency_p95_ms"] == 40.0
        EdgeOut.model_validate(document)


def test_an_edge_an_alias_renamed_says_how_its_source_named_it() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    renamed = DependencyReport(
        "checkout", "payments", DiscoverySource.JAEGER, at, source_reported_as="checkoutservice"
    )
    declared = DependencyReport("checkout", "payments", DiscoverySource.MANUAL, at)
    merged = merge_reports([renamed, declared])
    expected = [{"discovery_source": "jaeger", "source": "checkoutservice", "target": "payments"}]
    for document in (edge_document(merged), stored_edge_document(renamed, include_stale=True)):
        assert tuple(document) == tuple(EdgeOut.model_fields)
        assert document["reported_as"] == expected
        EdgeOut.model_validate(document)


def test_the_upsert_rules_cover_every_field_of_a_report() -> None:
    # What a report seen again does with each field: replaced from the new report
    # (REPORT_FIELDS_REPLACED), its identity kept, fresh again, the later observation.
    identity = ("source", "target", "discovery_source")
    merged_by_rule = ("last_observed_at", "is_stale")
    assert sorted((*identity, *REPORT_FIELDS_REPLACED, *merged_by_rule)) == sorted(
        DependencyReport._fields
    )
