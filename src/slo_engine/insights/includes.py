"""The insights a subgraph or service answer can include (`include=`, topology/
includes.py): the blast radius over the full depth and the availability ceiling, their
lists cut at INCLUDED_LIST_LIMIT, with the answer's `include_stale`."""

from __future__ import annotations

from collections.abc import Mapping

from slo_engine.graph.model import Service
from slo_engine.graph.snapshot import GraphSnapshot
from slo_engine.insights.service import availability_of, impact_of
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings
from slo_engine.topology.answer_cache import AnswerCache
from slo_engine.topology.includes import INCLUDED_LIST_LIMIT, Include, IncludedAnswer
from slo_engine.topology.routes import MAX_DEPTH


async def included_impact(
    live: LiveGraph,
    snapshot: GraphSnapshot,
    failed: Service,
    include_stale: bool,
    settings: Settings,
    answers: AnswerCache | None,
    answer: bytes,
) -> bytes:
    del settings, answer  # the blast radius needs neither
    _, body = await impact_of(
        live,
        snapshot,
        failed,
        depth=MAX_DEPTH,
        include_stale=include_stale,
        max_affected=INCLUDED_LIST_LIMIT,
        answers=answers,
    )
    return body


async def included_availability(
    live: LiveGraph,
    snapshot: GraphSnapshot,
    root: Service,
    include_stale: bool,
    settings: Settings,
    answers: AnswerCache | None,
    answer: bytes,
) -> bytes:
    del answer  # the ceiling is the service's, whatever the answer holds
    _, body = await availability_of(
        live,
        snapshot,
        root,
        include_stale=include_stale,
        default_target=settings.default_slo_target,
        max_terms=INCLUDED_LIST_LIMIT,
        answers=answers,
    )
    return body


INCLUDED_INSIGHTS: Mapping[Include, IncludedAnswer] = {
    Include.IMPACT: included_impact,
    Include.AVAILABILITY: included_availability,
}
