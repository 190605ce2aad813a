"""`include=drift` (topology/includes.py): the drift of a subgraph answer's own edges,
or of a service's edges in a service answer, so the explorer marks them without a
second request."""

from __future__ import annotations

from collections.abc import Mapping

from slo_engine.drift.service import included_drift_of
from slo_engine.graph.model import Service
from slo_engine.graph.snapshot import GraphSnapshot
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings
from slo_engine.topology.answer_cache import AnswerCache
from slo_engine.topology.includes import Include, IncludedAnswer


async def included_drift(
    live: LiveGraph,
    snapshot: GraphSnapshot,
    root: Service,
    include_stale: bool,
    settings: Settings,
    answers: AnswerCache | None,
    answer: bytes,
) -> bytes:
    # Drift has its own rule for stale reports (they never count as traffic), and moves
    # with the clock, so it is not kept with the revision's answers.
    del include_stale, settings, answers
    return await included_drift_of(live, snapshot, root, answer)


INCLUDED_DRIFT: Mapping[Include, IncludedAnswer] = {Include.DRIFT: included_drift}
