"""Blast radius and availability ceiling, answered from the in-memory snapshot.

The rules live in the pure core (graph/impact.py, graph/availability.py); this module
reads the snapshot, names the edges' attributes for the core, and encodes the answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from slo_engine.graph.availability import (
    Ceiling,
    Target,
    availability_ceiling,
    target_from_metadata,
)
from slo_engine.graph.impact import Impact, blast_radius, cannot_work_without
from slo_engine.graph.model import CommunicationMode, Service
from slo_engine.graph.snapshot import GraphSnapshot, is_needed
from slo_engine.graph.traversal_filter import TraversalFilter
from slo_engine.live.graph import LiveGraph
from slo_engine.observability.metrics import ANSWER_CACHE_LOOKUPS
from slo_engine.topology.answer_cache import AnswerCache
from slo_engine.topology.service import service_document

_JSON_OPTIONS = orjson.OPT_UTC_Z


def _needs(snapshot: GraphSnapshot, include_stale: bool) -> Callable[[str, str], bool]:
    """`caller` cannot work without `callee`, by the merged edge's declared attributes
    (graph/snapshot.py `is_needed`)."""
    pairs = snapshot.pairs

    def needs(caller: str, callee: str) -> bool:
        return is_needed(pairs[(caller, callee)], include_stale)

    return needs


async def _remembered(
    answers: AnswerCache | None,
    revision: int,
    key: str,
    compute: Callable[[], Awaitable[tuple[int, bytes]]],
) -> tuple[int, bytes]:
    """An insight from the answer cache, or computed and kept there. An insight is a
    function of the graph's revision and the question, like a subgraph answer, and a
    depth-10 blast radius over thousands of services costs hundreds of milliseconds: the
    explorer asks the same ones again on every click back (docs/performance.md)."""
    if answers is not None:
        kept = await answers.get(key)
        ANSWER_CACHE_LOOKUPS.labels("miss" if kept is None else "hit").inc()
        if kept is not None:
            return revision, kept
    revision, body = await compute()
    if answers is not None:
        await answers.put(key, body)
    return revision, body


async def impact_of(
    cache: LiveGraph,
    snapshot: GraphSnapshot,
    failed: Service,
    *,
    depth: int,
    include_stale: bool,
    max_affected: int = 10_000,
    filters: TraversalFilter | None = None,
    answers: AnswerCache | None = None,
) -> tuple[int, bytes]:
    """The JSON answer of GET /services/{service_id}/impact (insights/schemas.py),
    computed off the event loop (`LiveGraph.off_loop`), or from `answers` (None: a past
    graph's, never kept).

    The list stops after `max_affected` services (the worst hit first); the totals
    always count everyone. With the revision it was computed at.
    """
    scope = filters.key() if filters else ""
    key = (
        f"{snapshot.revision}:impact:{depth}:{int(include_stale)}:{max_affected}:"
        f"[{scope}]{failed.service_id}"
    )
    return await _remembered(
        answers,
        snapshot.revision,
        key,
        lambda: cache.off_loop(
            lambda: (
                snapshot.revision,
                impact_answer(snapshot, failed, depth, include_stale, max_affected, filters),
            )
        ),
    )


def impact_answer(
    snapshot: GraphSnapshot,
    failed: Service,
    depth: int,
    include_stale: bool,
    max_affected: int,
    filters: TraversalFilter | None = None,
) -> bytes:
    _, upstream = snapshot.adjacency(include_stale)
    crosses = filters.crossing(snapshot, include_stale, failed.service_id) if filters else None
    found = blast_radius(
        upstream, failed.service_id, depth, _needs(snapshot, include_stale), crosses
    )

    affected: list[dict[str, Any]] = []
    by_team: Counter[tuple[str | None, Impact]] = Counter()
    by_criticality: Counter[tuple[str | None, Impact]] = Counter()
    for item in found:
        service = snapshot.services[item.service_id]
        by_team[(service.team, item.impact)] += 1
        by_criticality[(service.criticality, item.impact)] += 1
        if len(affected) == max_affected:
            continue
        path_edges = []
        steps = zip(item.path, item.path[1:], strict=False)
        for (caller, callee), effect in zip(steps, item.effects, strict=True):
            edge = snapshot.edge((caller, callee), include_stale)
            path_edges.append(
                {
                    "source": caller,
                    "target": callee,
                    "criticality": edge.criticality,
                    "communication_mode": edge.communication_mode,
                    "effect": effect,
                }
            )
        affected.append(
            {
                "service_id": service.service_id,
                "display_name": service.display_name,
                "team": service.team,
                "criticality": service.criticality,
                "discovered": service.discovered,
                "kind": service.kind,
                "impact": item.impact,
                "distance": item.distance,
                "path": item.path,
                "path_edges": path_edges,
            }
        )

    down = sum(1 for item in found if item.impact is Impact.DOWN)
    answer = {
        "service": service_document(snapshot, failed),
        "depth": depth,
        "include_stale": include_stale,
        "affected": affected,
        "truncated": len(affected) < len(found),
        "totals": {
            "affected": len(found),
            "down": down,
            "degraded": len(found) - down,
            "by_team": _totals(by_team, "team"),
            "by_criticality": _totals(by_criticality, "criticality"),
        },
    }
    return orjson.dumps(answer, option=_JSON_OPTIONS)


def _totals(counts: Counter[tuple[str | None, Impact]], name: str) -> list[dict[str, Any]]:
    """Per group: down and degraded counts, the hardest hit first (most down)."""
    rows = sorted(
        (
            (counts[(group, Impact.DOWN)], counts[(group, Impact.DEGRADED)], group)
            for group in {group for group, _ in counts}
        ),
        key=lambda row: (-row[0], -row[1], row[2] is None, row[2] or ""),
    )
    return [{name: group, "down": down, "degraded": degraded} for down, degraded, group in rows]


async def availability_of(
    cache: LiveGraph,
    snapshot: GraphSnapshot,
    root: Service,
    *,
    include_stale: bool,
    default_target: float,
    max_terms: int = 10_000,
    answers: AnswerCache | None = None,
) -> tuple[int, bytes]:
    """The JSON answer of GET /services/{service_id}/availability (insights/schemas.py),
    computed off the event loop (`LiveGraph.off_loop`), or from `answers` (None: a past
    graph's, never kept). The lists of terms, units and limiting units stop after
    `max_terms` each; the figures always count everything. With the revision it was
    computed at."""
    key = (
        f"{snapshot.revision}:availability:{int(include_stale)}:{max_terms}:"
        f"{default_target!r}:{root.service_id}"
    )
    return await _remembered(
        answers,
        snapshot.revision,
        key,
        lambda: cache.off_loop(
            lambda: (
                snapshot.revision,
                availability_answer(snapshot, root, include_stale, default_target, max_terms),
            )
        ),
    )


def availability_answer(
    snapshot: GraphSnapshot,
    root: Service,
    include_stale: bool,
    default_target: float,
    max_terms: int = 10_000,
) -> bytes:
    service_id = root.service_id
    downstream, _ = snapshot.adjacency(include_stale)
    notes: dict[str, None] = {}  # ordered and without repeats

    def target_of(name: str) -> Target:
        target, note = target_from_metadata(snapshot.services[name].metadata, default_target)
        if note is not None:
            notes[f"{name}: {note}"] = None
        return target

    def success_of(caller: str, callee: str) -> float | None:
        error_rate = snapshot.edge((caller, callee), include_stale).error_rate
        return None if error_rate is None else 1.0 - error_rate

    def sync(caller: str, callee: str) -> bool:
        mode = snapshot.edge((caller, callee), include_stale).communication_mode
        return mode is not CommunicationMode.ASYNC

    found = availability_ceiling(
        downstream,
        service_id,
        follows=_needs(snapshot, include_stale),
        target_of=target_of,
        success_of=success_of,
    )
    if_hard = availability_ceiling(
        downstream, service_id, follows=sync, target_of=target_of, success_of=success_of
    )
    for unit in found.units:
        if unit.cycle and len(unit.members) > 1:
            members = ", ".join(unit.members)
            notes[
                f"{members} depend on each other: one unit (they stand or fall together); "
                "each counts once in the product"
            ] = None
        elif unit.cycle:
            notes[
                f"{unit.members[0]} calls itself: counted once; its calls to itself do not "
                "lower its factor"
            ] = None
    undeclared = _undeclared_edges(snapshot, found, include_stale)
    if undeclared:
        notes[
            f"{undeclared} counted edge(s) have no declared criticality or mode and count "
            "as hard and sync; declare them soft or async where that is true"
        ] = None
    answer = {
        "service": service_document(snapshot, root),
        "include_stale": include_stale,
        "ceiling": found.ceiling,
        "nines": found.nines,
        "dependencies": found.dependencies,
        "default_slo_target": default_target,
        "arithmetic": found.arithmetic,
        "terms": [
            {
                "service_id": term.service_id,
                "slo_target": term.target.value,
                "target_source": term.target.source,
                "observed_success": term.observed_success,
                "factor": term.factor,
                "factor_source": term.factor_source,
                "unit": term.unit,
            }
            for term in found.terms[:max_terms]
        ],
        "units": [
            {"unit": u.unit, "members": u.members, "cycle": u.cycle, "factor": u.factor}
            for u in found.units[:max_terms]
        ],
        "limiting": [
            {
                "unit": limit.unit,
                "members": limit.members,
                "factor": limit.factor,
                "cost": limit.cost,
                "ceiling_without": limit.ceiling_without,
            }
            for limit in found.limiting[:max_terms]
        ],
        "truncated": max(len(found.terms), len(found.units), len(found.limiting)) > max_terms,
        "if_soft_were_hard": {
            "ceiling": if_hard.ceiling,
            "nines": if_hard.nines,
            "dependencies": if_hard.dependencies,
            "arithmetic": if_hard.arithmetic,
        },
        "notes": list(notes),
    }
    return orjson.dumps(answer, option=_JSON_OPTIONS)


def _undeclared_edges(snapshot: GraphSnapshot, found: Ceiling, include_stale: bool) -> int:
    """How many of the counted edges are counted only because nothing was declared."""
    counted = {term.service_id for term in found.terms}
    downstream, _ = snapshot.adjacency(include_stale)
    undeclared = 0
    for caller in counted:
        for callee in downstream.get(caller, ()):
            if callee not in counted:
                continue
            edge = snapshot.edge((caller, callee), include_stale)
            if (edge.criticality is None or edge.communication_mode is None) and (
                cannot_work_without(edge.criticality, edge.communication_mode)
            ):
                undeclared += 1
    return undeclared
