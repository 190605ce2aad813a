"""GET /api/v1/graph/overview

The whole graph aggregated into groups for the explorer (graph/overview.py): one request
per thing a person does (group, expand, collapse, filter), answered from the live graph
off the event loop, with the graph reads' `min_revision`, `as_of` and ETag.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import StringConstraints

from slo_engine.access.dependencies import read_access
from slo_engine.graph.overview import MAX_GROUPS, MAX_MEMBERS, GroupBy, OverviewOptions
from slo_engine.infra.http_errors import problem_responses
from slo_engine.infra.storable import NO_NUL_PATTERN
from slo_engine.live.reads import NOT_MODIFIED, GraphReadDep
from slo_engine.topology import overview_service
from slo_engine.topology.answer_cache import ANSWERS, AnswerCache
from slo_engine.topology.filter_params import (
    MAX_ENTRIES,
    TraversalFilterDep,
)
from slo_engine.topology.overview_schemas import GraphOverviewOut
from slo_engine.topology.routes import IncludeStaleQuery

router = APIRouter(tags=["topology"])

GroupId = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NO_NUL_PATTERN)]


@router.get(
    "/graph/overview",
    dependencies=[Depends(read_access)],
    response_model=GraphOverviewOut,
    operation_id="getGraphOverview",
    summary="The whole graph, grouped: the explorer's overview",
    responses={**NOT_MODIFIED, **problem_responses(400, 401, 403, 410, 429, 431, 500, 503)},
)
async def get_graph_overview(
    read: GraphReadDep,
    filters: TraversalFilterDep,
    answers: Annotated[AnswerCache | None, Depends(ANSWERS)],
    group_by: Annotated[
        GroupBy,
        Query(
            description="Group services by `team`, `namespace` (the one a source recorded, "
            "else what follows the first `.` of a `name.namespace` id, else `default`), "
            "`kind`, or `system` (the Backstage `spec.system` the Backstage source "
            "recorded). Services without a team or system form `(no team)` / "
            "`(no system)`."
        ),
    ] = GroupBy.TEAM,
    expand: Annotated[
        list[GroupId] | None,
        Query(
            max_length=MAX_ENTRIES,
            description="A group id to draw as its member services, repeated for several "
            f"(`expand=checkout&expand=payments`), at most {MAX_ENTRIES}. Members share "
            "the `max_members` budget in this order, the most connected first. An id that "
            "names no group of the answer is ignored. Collapse: ask again without it.",
        ),
    ] = None,
    include_stale: IncludeStaleQuery = False,
    max_groups: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_GROUPS,
            description=f"Draw at most this many groups (1 to {MAX_GROUPS}), the largest "
            "first; past it `truncated.groups` and the edges to the rest are left out.",
        ),
    ] = MAX_GROUPS,
    max_members: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_MEMBERS,
            description=f"Draw at most this many member services of expanded groups (1 to "
            f"{MAX_MEMBERS:,}); past it `truncated.members`, the rest folded into their group.",
        ),
    ] = MAX_MEMBERS,
) -> Response:
    """Every service of the graph, filtered, then aggregated into groups: per group its
    size, kinds, criticalities, discovered services and whether it holds a cycle; per pair
    of groups the number of service edges between them, their summed request rate and
    their worst error rate (edges inside a group counted on it). Groups named in `expand`
    are drawn as their member services, with their edges drawn per service toward the
    other, still collapsed, groups. The traversal filters (`kind`, `team`,
    `criticality`, `discovery_source`, `exclude`, `discovered`, `min_request_rate`) keep
    the services and edges a walk would cross, before grouping: every count is of the
    filtered graph; a service is kept whatever the age of its edges. Bounded by
    `max_groups` and `max_members`; the totals count everything."""
    options = OverviewOptions(
        group_by=group_by,
        expand=tuple(expand or ()),
        filters=filters,
        include_stale=include_stale,
        max_groups=max_groups,
        max_members=max_members,
    )
    revision, body = await overview_service.overview_of(
        read.live,
        read.snapshot,
        options,
        # A past graph's answers are not the live one's (GraphRead.current).
        answers if read.current else None,
    )
    return Response(body, media_type="application/json", headers=read.headers(revision))
