"""The requests of the typed methods, built once for the sync and the async client."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from slo_engine_client import models as m
from slo_engine_client._operations import Call, body_json, call, include_param

Time = datetime | str

# What each export format is sent as (`format=`; the answer's media type follows it).
TEXT_FORMATS = frozenset({m.ExportFormat.DOT, m.ExportFormat.MERMAID, m.ExportFormat.CYTOSCAPE})


def liveness() -> Call:
    return call("getLiveness")


Include = str | Iterable[str] | None


def service(
    service_id: str,
    include: Include,
    include_stale: bool | None,
    min_revision: int | None,
    as_of: Time | None,
) -> Call:
    return call(
        "getService",
        {"service_id": service_id},
        {
            "include": include_param(include),
            "include_stale": include_stale,
            "min_revision": min_revision,
            "as_of": as_of,
        },
    )


def dependencies(
    service_id: str,
    direction: m.Direction | str | None,
    depth: int | None,
    include_stale: bool | None,
    max_nodes: int | None,
    min_revision: int | None,
    as_of: Time | None,
    export_format: m.ExportFormat | str | None = None,
    include: Include = None,
) -> Call:
    return call(
        "getDependencies",
        {"service_id": service_id},
        {
            "include": include_param(include),
            "direction": direction,
            "depth": depth,
            "include_stale": include_stale,
            "max_nodes": max_nodes,
            "format": export_format,
            "min_revision": min_revision,
            "as_of": as_of,
        },
    )


def impact(
    service_id: str,
    depth: int | None,
    include_stale: bool | None,
    max_affected: int | None,
    min_revision: int | None,
    as_of: Time | None,
) -> Call:
    return call(
        "getImpact",
        {"service_id": service_id},
        {
            "depth": depth,
            "include_stale": include_stale,
            "max_affected": max_affected,
            "min_revision": min_revision,
            "as_of": as_of,
        },
    )


def availability(
    service_id: str,
    include_stale: bool | None,
    max_terms: int | None,
    min_revision: int | None,
    as_of: Time | None,
) -> Call:
    return call(
        "getAvailability",
        {"service_id": service_id},
        {
            "include_stale": include_stale,
            "max_terms": max_terms,
            "min_revision": min_revision,
            "as_of": as_of,
        },
    )


def graph(
    include_stale: bool | None,
    cursor: str | None,
    limit: int | None,
    min_revision: int | None,
    as_of: Time | None,
    export_format: m.ExportFormat | str | None = None,
) -> Call:
    return call(
        "getGraph",
        query={
            "format": export_format,
            "include_stale": include_stale,
            "cursor": cursor,
            "limit": limit,
            "min_revision": min_revision,
            "as_of": as_of,
        },
    )


def services(
    team: str | None,
    criticality: m.ServiceCriticality | str | None,
    discovered: bool | None,
    search: str | None,
    cursor: str | None,
    limit: int | None,
    as_of: Time | None,
) -> Call:
    return call(
        "listServices",
        query={
            "team": team,
            "criticality": criticality,
            "discovered": discovered,
            "search": search,
            "cursor": cursor,
            "limit": limit,
            "as_of": as_of,
        },
    )


def cycles(status: m.AlertStatus | str | None, cursor: str | None, limit: int | None) -> Call:
    return call("listCycleAlerts", query={"status": status, "cursor": cursor, "limit": limit})


def cycle(alert_id: str) -> Call:
    return call("getCycleAlert", {"alert_id": alert_id})


def update_cycle(alert_id: str, status: str, actor: str | None, note: str | None) -> Call:
    update = m.AlertUpdate.model_validate({"status": status, "actor": actor, "note": note})
    return call("updateCycleAlert", {"alert_id": alert_id}, body=body_json(update))


def changes(
    since_revision: int | None,
    since: Time | None,
    until: Time | None,
    service_id: str | None,
    change_types: Sequence[m.ChangeType | str] | m.ChangeType | str | None,
    cursor: str | None,
    limit: int | None,
) -> Call:
    return call(
        "listChanges",
        query={
            "since_revision": since_revision,
            "since": since,
            "until": until,
            "service": service_id,
            "type": [change_types] if isinstance(change_types, str) else change_types,
            "cursor": cursor,
            "limit": limit,
        },
    )


def diff(from_: int | Time, to: int | Time | None, diff_format: m.DiffFormat) -> Call:
    return call("getGraphDiff", query={"from": from_, "to": to, "format": diff_format})


def ingest(request: m.IngestionRequest | Mapping[str, Any]) -> Call:
    return call("ingestGraph", body=body_json(request))


def retract(
    source_id: str, target_id: str, discovery_source: m.DiscoverySource | str | None
) -> Call:
    return call(
        "retractDependency",
        {"source_id": source_id, "target_id": target_id},
        {"discovery_source": discovery_source},
    )


def delete_service(service_id: str, cascade: bool) -> Call:
    return call("deleteService", {"service_id": service_id}, {"cascade": cascade})
