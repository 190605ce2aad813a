"""The graph overview (GET /api/v1/graph/overview), answered from the in-memory snapshot.

The aggregation is the pure core's (graph/overview.py); this module marks the services
on circular dependencies, keeps answers in the answer cache, and encodes the answer
(topology/overview_schemas.py documents it). Everything runs off the event loop
(`LiveGraph.off_loop`): the overview walks the whole graph.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from typing import Any

import orjson

from slo_engine.graph.overview import (
    Group,
    GroupEdge,
    Member,
    Overview,
    OverviewOptions,
    overview,
    services_in_cycles,
)
from slo_engine.graph.snapshot import GraphSnapshot
from slo_engine.live.graph import LiveGraph
from slo_engine.observability.metrics import ANSWER_CACHE_LOOKUPS
from slo_engine.topology.answer_cache import AnswerCache
from slo_engine.topology.service import node_document

# The services on a cycle, per snapshot (weakly: a reloaded graph is a new object) and
# the revision they were found at: every answer of one revision shares one search of
# the whole graph (O(V + E), ~20 ms at 5,000 services), whatever its options.
_CYCLIC: weakref.WeakKeyDictionary[GraphSnapshot, tuple[int, frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)
_CYCLIC_LOCK = threading.Lock()  # the worker threads of concurrent answers share it


def cyclic_services(snapshot: GraphSnapshot) -> frozenset[str]:
    """The services on a circular dependency of the snapshot's fresh graph (call off the
    event loop, where the snapshot holds still)."""
    with _CYCLIC_LOCK:
        kept = _CYCLIC.get(snapshot)
    if kept is not None and kept[0] == snapshot.revision:
        return kept[1]
    found = services_in_cycles(snapshot)
    with _CYCLIC_LOCK:
        _CYCLIC[snapshot] = (snapshot.revision, found)
    return found


def _group_document(group: Group) -> dict[str, Any]:
    return {
        "id": group.group_id,
        "label": group.group_id,
        "services": group.services,
        "kinds": dict(sorted(group.kinds.items())),
        "criticalities": dict(sorted(group.criticalities.items())),
        "discovered": group.discovered,
        "in_cycle": group.in_cycle,
        "internal_edges": group.internal_edges,
        "expanded": group.expanded,
        "members_shown": group.members_shown,
    }


def _member_document(member: Member) -> dict[str, Any]:
    return {
        **node_document(member.service),
        "group": member.group_id,
        "in_cycle": member.in_cycle,
        "request_rate": member.request_rate,
    }


def _edge_document(edge: GroupEdge) -> dict[str, Any]:
    return {
        "source_group": edge.source_group,
        "target_group": edge.target_group,
        "source": edge.source,
        "target": edge.target,
        "edges": edge.edges,
        "request_rate": edge.request_rate,
        "error_rate": edge.error_rate,
    }


def overview_document(revision: int, options: OverviewOptions, found: Overview) -> dict[str, Any]:
    """The answer as `GraphOverviewOut` describes it."""
    return {
        "revision": revision,
        "group_by": options.group_by.value,
        "groups": [_group_document(group) for group in found.groups],
        "nodes": [_member_document(member) for member in found.members],
        "edges": [_edge_document(edge) for edge in found.edges],
        "totals": {
            "services": found.total_services,
            "edges": found.total_edges,
            "groups": found.total_groups,
        },
        "truncated": {"groups": found.groups_truncated, "members": found.members_truncated},
    }


def overview_answer(snapshot: GraphSnapshot, options: OverviewOptions) -> bytes:
    """The answer's bytes (call off the event loop)."""
    found = overview(snapshot, options, cyclic_services(snapshot))
    return orjson.dumps(overview_document(snapshot.revision, options, found))


def _cache_key(revision: int, options: OverviewOptions) -> str:
    # Digested: `expand` may name 50 groups of free text; the key needs only to differ.
    digest = hashlib.blake2b(options.key().encode(), digest_size=16).hexdigest()
    return f"{revision}:overview:{digest}"


async def overview_of(
    live: LiveGraph,
    snapshot: GraphSnapshot,
    options: OverviewOptions,
    answers: AnswerCache | None,
) -> tuple[int, bytes]:
    """The JSON answer of GET /graph/overview and the revision it was computed at: from
    `answers` (None: a past graph's, never kept), or computed off the event loop and
    kept there. An overview is a function of the revision and the options, and the
    explorer asks the same ones again as a person expands and collapses groups."""
    revision = snapshot.revision
    key = _cache_key(revision, options)
    if answers is not None:
        kept = await answers.get(key)
        ANSWER_CACHE_LOOKUPS.labels("miss" if kept is None else "hit").inc()
        if kept is not None:
            return revision, kept
    revision, body = await live.off_loop(
        lambda: (snapshot.revision, overview_answer(snapshot, options))
    )
    if answers is not None:
        await answers.put(_cache_key(revision, options), body)
    return revision, body
