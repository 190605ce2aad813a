"""`include=impact,availability`: a subgraph or service answer that carries its service's
blast radius and availability ceiling too, so a client that shows all three (the
explorer, on each click) asks once instead of three times.

The insights are computed by the insights feature, a layer above this one; it hands its
functions in at start (`INCLUDES`, installed by app.py), so this package names what may
be included without importing who computes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Annotated

from fastapi import Query
from pydantic import WithJsonSchema

from slo_engine.graph.model import Service
from slo_engine.graph.snapshot import GraphSnapshot
from slo_engine.infra.components import AppComponent
from slo_engine.live.as_of import query_problem
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings
from slo_engine.topology.answer_cache import AnswerCache


class Include(StrEnum):
    IMPACT = "impact"
    AVAILABILITY = "availability"
    # The drift of the answer's own edges (the drift feature, docs/drift.md).
    DRIFT = "drift"


# The lists of an included insight stop after this many entries (affected services;
# terms, units and limiting units); their totals and figures always count everything.
# The insight's own endpoint answers longer lists.
INCLUDED_LIST_LIMIT = 200

# The JSON answer of one insight for a service: (live graph, snapshot, service,
# include_stale, settings, the answer cache or None for a past graph, the answer it is
# included in) -> the bytes of the insight's own endpoint's answer. The answer itself is
# for the insights of its edges (drift); the others need only its service.
IncludedAnswer = Callable[
    [LiveGraph, GraphSnapshot, Service, bool, Settings, AnswerCache | None, bytes],
    Awaitable[bytes],
]
INCLUDES: AppComponent[Mapping[Include, IncludedAnswer]] = AppComponent("includes")

_NAMES = "|".join(member.value for member in Include)
INCLUDE_DESCRIPTION = (
    "Also answer the service's `impact` (blast radius, as getImpact with the full depth) "
    "and/or `availability` (ceiling, as getAvailability), comma-separated, with this "
    f"answer's `include_stale`; their lists hold at most {INCLUDED_LIST_LIMIT} entries "
    "(totals count all). `drift`: the drift items of this answer's edges (of the "
    "service's own edges for a service), as getServiceDrift answers them over the "
    "default window, at most 1000 (totals count all). JSON answers only."
)
IncludeQuery = Annotated[
    str | None,
    Query(
        pattern=f"^({_NAMES})(,({_NAMES}))*$",
        max_length=100,
        description=INCLUDE_DESCRIPTION,
        examples=["impact,availability"],
    ),
]


def parse_include(text: str | None) -> tuple[Include, ...]:
    """The insights `text` names, each once, in a fixed order (the pattern has checked
    the names).

    >>> parse_include("availability,impact,impact")
    (<Include.IMPACT: 'impact'>, <Include.AVAILABILITY: 'availability'>)
    >>> parse_include(None)
    ()
    """
    named = set((text or "").split(","))
    return tuple(member for member in Include if member.value in named)


def refuse_include_for_format() -> Exception:
    return query_problem(
        "include", "the included insights are answered in JSON only; drop `format` or `include`"
    )


async def with_included(
    body: bytes,
    includes: tuple[Include, ...],
    answers: Mapping[Include, IncludedAnswer],
    arguments: tuple[LiveGraph, GraphSnapshot, Service, bool, Settings, AnswerCache | None],
) -> bytes:
    """`body` (a JSON object) with a member per included insight, its answer as the
    insight's endpoint gives it. The bytes are spliced, not decoded: a large subgraph
    answer is copied once."""
    if not includes:
        return body
    # At once: each insight is computed off the event loop, so two use two cores.
    insights = await asyncio.gather(*(answers[include](*arguments, body) for include in includes))
    parts = [body[: body.rindex(b"}")]]
    for include, insight in zip(includes, insights, strict=True):
        parts.append(b',"' + include.value.encode() + b'":' + insight)
    parts.append(b"}")
    return b"".join(parts)


def insight_schema(name: str, description: str) -> WithJsonSchema:
    """The OpenAPI schema of an included insight: the insight endpoint's own component
    (declared by the insights feature), or null when not asked for."""
    return WithJsonSchema(
        {
            "anyOf": [{"$ref": f"#/components/schemas/{name}"}, {"type": "null"}],
            "description": description,
        }
    )
