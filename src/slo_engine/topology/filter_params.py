"""The traversal filters' query parameters (graph/traversal_filter.py), shared by the
graph reads that walk (the subgraph query, the blast radius) and the overview, which
keeps what a walk would cross: lists comma-separated and validated by their pattern,
`discovered` a boolean, `min_request_rate` a finite number from 0 (a bad value is a 400
naming the parameter)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Query

from slo_engine.graph.model import DiscoverySource, NodeKind, ServiceCriticality
from slo_engine.graph.traversal_filter import TraversalFilter
from slo_engine.live.as_of import query_problem

# The most entries one list may hold: a filter is a person's choice, not a data set.
MAX_ENTRIES = 50
# Far above any real traffic, and finite: the parameter is compared, never stored.
MAX_REQUEST_RATE = 1e12


def _list_of(values: type[StrEnum]) -> str:
    names = "|".join(member.value for member in values)
    return f"^({names})(,({names}))*$"


_WALK = (
    " A walk does not cross what is filtered out; the overview leaves it out before "
    'grouping (docs/identity.md "Filters").'
)
KindsQuery = Annotated[
    str | None,
    Query(
        alias="kind",
        pattern=_list_of(NodeKind),
        max_length=200,
        description="Only cross nodes of these kinds (comma-separated, e.g. "
        "`service,database`)." + _WALK,
    ),
]
TeamsQuery = Annotated[
    str | None,
    Query(
        alias="team",
        pattern=r"^[^\x00,]+(,[^\x00,]+)*$",
        max_length=2000,
        description="Only cross services owned by these teams (comma-separated)." + _WALK,
    ),
]
CriticalitiesQuery = Annotated[
    str | None,
    Query(
        alias="criticality",
        pattern=_list_of(ServiceCriticality),
        max_length=100,
        description="Only cross services of these criticalities (comma-separated)." + _WALK,
    ),
]
SourcesQuery = Annotated[
    str | None,
    Query(
        alias="discovery_source",
        pattern=_list_of(DiscoverySource),
        max_length=200,
        description="Only follow edges some of these sources report (comma-separated, e.g. "
        "`manual,backstage` for declared dependencies only)." + _WALK,
    ),
]
ExcludeQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9._:*?\[\]!-]+(,[A-Za-z0-9._:*?\[\]!-]+)*$",
        max_length=4000,
        description="Never cross these services: ids or shell-style patterns "
        "(`legacy-*`, `test-?`), comma-separated, at most 50." + _WALK,
    ),
]
DiscoveredQuery = Annotated[
    bool | None,
    Query(
        description="true: only cross services known only from edges (discovered); false: "
        "only declared ones. Left out: both." + _WALK,
    ),
]
MinRequestRateQuery = Annotated[
    float,
    Query(
        ge=0,
        le=MAX_REQUEST_RATE,
        allow_inf_nan=False,
        description="Only cross services whose request rate in and out (requests per "
        "second, summed over every edge `include_stale` allows, whatever the other "
        "filters) is at least this; edges without the figure add 0, so a service with no "
        "figures is left out by any value above 0. Default 0: none left out." + _WALK,
    ),
]


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def filter_of(
    kinds: str | None,
    teams: str | None,
    criticalities: str | None,
    sources: str | None,
    exclude: str | None,
    *,
    discovered: bool | None = None,
    min_request_rate: float = 0.0,
) -> TraversalFilter:
    """The filter the parameters name (each already validated).

    >>> filter_of("database", "a, b", None, None, "legacy-*").key()
    'k=database;t=a,b;c=;s=;x=legacy-*;d=;r=0.0'
    >>> filter_of(None, None, None, None, None, discovered=True, min_request_rate=5).key()
    'k=;t=;c=;s=;x=;d=1;r=5.0'
    """
    excluded = _split(exclude)
    if len(excluded) > MAX_ENTRIES:
        raise query_problem("exclude", f"at most {MAX_ENTRIES} ids or patterns")
    return TraversalFilter(
        kinds=frozenset(NodeKind(k) for k in _split(kinds)),
        teams=frozenset(_split(teams)),
        criticalities=frozenset(ServiceCriticality(c) for c in _split(criticalities)),
        sources=frozenset(DiscoverySource(s) for s in _split(sources)),
        exclude=tuple(excluded),
        discovered=discovered,
        min_request_rate=min_request_rate,
    )


async def traversal_filter(
    kinds: KindsQuery = None,
    teams: TeamsQuery = None,
    criticalities: CriticalitiesQuery = None,
    sources: SourcesQuery = None,
    exclude: ExcludeQuery = None,
    discovered: DiscoveredQuery = None,
    min_request_rate: MinRequestRateQuery = 0.0,
) -> TraversalFilter:
    """The traversal filters' query parameters, as one dependency of the reads that take
    them (the subgraph, the blast radius, the overview)."""
    return filter_of(
        kinds,
        teams,
        criticalities,
        sources,
        exclude,
        discovered=discovered,
        min_request_rate=min_request_rate,
    )


# The filter a read's query names (`kind`, `team`, ... `min_request_rate`).
TraversalFilterDep = Annotated[TraversalFilter, Depends(traversal_filter)]
