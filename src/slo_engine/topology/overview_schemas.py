"""HTTP shape of the graph overview. topology/overview_service.py encodes the answer
straight to JSON; these models document it in the OpenAPI."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from slo_engine.graph.model import NodeKind
from slo_engine.graph.overview import GroupBy
from slo_engine.topology.catalog_schemas import (
    ServiceFactsOut,
)

# Online Boutique by team, `checkout` expanded: its three services drawn inside it, the
# other groups collapsed, edges counted between what is drawn.
OVERVIEW_EXAMPLE: dict[str, Any] = {
    "revision": 42,
    "group_by": "team",
    "groups": [
        {
            "id": "checkout",
            "label": "checkout",
            "services": 3,
            "kinds": {"database": 1, "service": 2},
            "criticalities": {"critical": 1, "high": 1, "none": 1},
            "discovered": 0,
            "in_cycle": True,
            "internal_edges": 2,
            "expanded": True,
            "members_shown": 3,
        },
        {
            "id": "payments",
            "label": "payments",
            "services": 2,
            "kinds": {"service": 2},
            "criticalities": {"critical": 2},
            "discovered": 0,
            "in_cycle": True,
            "internal_edges": 1,
            "expanded": False,
            "members_shown": 0,
        },
        {
            "id": "(no team)",
            "label": "(no team)",
            "services": 1,
            "kinds": {"external": 1},
            "criticalities": {"none": 1},
            "discovered": 1,
            "in_cycle": False,
            "internal_edges": 0,
            "expanded": False,
            "members_shown": 0,
        },
    ],
    "nodes": [
        {
            "service_id": "checkoutservice",
            "display_name": "Checkout",
            "team": "checkout",
            "criticality": "critical",
            "discovered": False,
            "kind": "service",
            "group": "checkout",
            "in_cycle": True,
            "request_rate": 61.5,
        },
        {
            "service_id": "cartservice",
            "display_name": None,
            "team": "checkout",
            "criticality": "high",
            "discovered": False,
            "kind": "service",
            "group": "checkout",
            "in_cycle": False,
            "request_rate": 20.0,
        },
        {
            "service_id": "redis-cart",
            "display_name": None,
            "team": "checkout",
            "criticality": None,
            "discovered": False,
            "kind": "database",
            "group": "checkout",
            "in_cycle": False,
            "request_rate": None,
        },
    ],
    "edges": [
        {
            "source_group": "checkout",
            "target_group": "checkout",
            "source": "cartservice",
            "target": "redis-cart",
            "edges": 1,
            "request_rate": None,
            "error_rate": None,
        },
        {
            "source_group": "checkout",
            "target_group": "checkout",
            "source": "checkoutservice",
            "target": "cartservice",
            "edges": 1,
            "request_rate": 20.0,
            "error_rate": 0.001,
        },
        {
            "source_group": "checkout",
            "target_group": "payments",
            "source": "checkoutservice",
            "target": None,
            "edges": 2,
            "request_rate": 38.0,
            "error_rate": 0.004,
        },
        {
            "source_group": "payments",
            "target_group": "(no team)",
            "source": None,
            "target": None,
            "edges": 1,
            "request_rate": 3.5,
            "error_rate": 0.0,
        },
        {
            "source_group": "payments",
            "target_group": "checkout",
            "source": None,
            "target": "checkoutservice",
            "edges": 1,
            "request_rate": 3.5,
            "error_rate": 0.01,
        },
    ],
    "totals": {"services": 6, "edges": 7, "groups": 3},
    "truncated": {"groups": False, "members": False},
}

_RATE_SUM = (
    "Sum of the edges' `request_rate` (requests per second) over those that have the "
    "figure; null when none has."
)


class GroupOut(BaseModel):
    id: str = Field(
        description="The group's id: the value services are grouped by (a team, a "
        "namespace, a kind, a Backstage system), or `(no team)` / `(no system)` for "
        "services without one. Pass it in `expand` to draw its members."
    )
    label: str = Field(description="What to show for the group.")
    services: int = Field(description="Services of the filtered graph in the group.")
    kinds: dict[NodeKind, int] = Field(
        description="The group's services by node kind (only kinds present)."
    )
    criticalities: dict[str, int] = Field(
        description="The group's services by criticality (`critical`, `high`, `medium`, "
        "`low`; `none` for services declared without one); only those present."
    )
    discovered: int = Field(
        description="The group's services known only because an edge names them."
    )
    in_cycle: bool = Field(
        description="Some service of the group is on a circular dependency of the fresh "
        "graph (what cycle alerts are raised for), whatever the filters."
    )
    internal_edges: int = Field(
        description="Edges of the filtered graph with both ends in the group. Those of a "
        "collapsed group are counted here only; an expanded group's are drawn too."
    )
    expanded: bool = Field(
        description="The group was asked for in `expand`: its members (up to the member "
        "budget) are in `nodes`."
    )
    members_shown: int = Field(
        description="How many of its services are in `nodes`; fewer than `services` when "
        "the member budget ran out (the rest stay folded into the group)."
    )


class OverviewNodeOut(ServiceFactsOut):
    group: str = Field(description="The id of the expanded group the service is drawn in.")
    in_cycle: bool = Field(
        description="The service is on a circular dependency of the fresh graph."
    )
    request_rate: float | None = Field(
        description="Requests per second in and out of the service, summed over its edges "
        "(of every edge `include_stale` allows, whatever the other filters); null when "
        "none of them has the figure."
    )


class OverviewEdgeOut(BaseModel):
    source_group: str = Field(description="The group of the calling end.")
    target_group: str = Field(description="The group of the called end.")
    source: str | None = Field(
        description="The calling service when it is drawn (its group expanded); null: "
        "the edge leaves the group `source_group` itself."
    )
    target: str | None = Field(
        description="The called service when it is drawn; null: the edge enters the group "
        "`target_group` itself."
    )
    edges: int = Field(description="How many service edges this edge stands for (at least 1).")
    request_rate: float | None = Field(description=_RATE_SUM)
    error_rate: float | None = Field(
        description="The largest `error_rate` (0 to 1) among the edges that have the "
        "figure; null when none has."
    )


class OverviewTotalsOut(BaseModel):
    services: int = Field(
        description="Services of the filtered graph, in every group (drawn or cut)."
    )
    edges: int = Field(description="Edges of the filtered graph, in every group.")
    groups: int = Field(description="Groups of the filtered graph, drawn or cut.")


class OverviewTruncatedOut(BaseModel):
    groups: bool = Field(
        description="More groups than `max_groups`: only the largest are in `groups`, and "
        "edges to the others are left out."
    )
    members: bool = Field(
        description="The expanded groups have more services than `max_members`: the "
        "groups named first in `expand` got theirs first, the most connected services "
        "first; the rest stay folded into their group."
    )


class GraphOverviewOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [OVERVIEW_EXAMPLE]})

    revision: int = Field(description="The graph revision the overview was computed at.")
    group_by: GroupBy = Field(description="What the services are grouped by.")
    groups: list[GroupOut] = Field(
        description="The groups, the largest first (then by id), at most `max_groups`."
    )
    nodes: list[OverviewNodeOut] = Field(
        description="The services drawn inside the expanded groups, by group in `expand` "
        "order, the most connected first."
    )
    edges: list[OverviewEdgeOut] = Field(
        description="Service edges aggregated between what is drawn: group to group, "
        "service to group, service to service; by (source_group, target_group, source, "
        "target). Edges inside a collapsed group are counted on the group "
        "(`internal_edges`), not here."
    )
    totals: OverviewTotalsOut = Field(description="The filtered graph's size.")
    truncated: OverviewTruncatedOut = Field(description="What the bounds cut.")
