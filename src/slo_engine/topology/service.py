"""The subgraph query use case, answered from the in-memory snapshot.

The answer is encoded to JSON here (orjson over plain dicts built in one pass): for a
large answer that is several times faster than validating response models, and the
shape is documented by topology/schemas.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.repository import CatalogRepository
from slo_engine.errors import ServiceNotFoundError
from slo_engine.graph.merge import combine_confidence, reported_names
from slo_engine.graph.model import (
    EDGE_ATTRIBUTES,
    DependencyReport,
    Direction,
    DiscoverySource,
    MergedDependency,
    Service,
)
from slo_engine.graph.snapshot import GraphSnapshot, PairReports, PairState
from slo_engine.graph.traversal import subgraph
from slo_engine.graph.traversal_filter import TraversalFilter
from slo_engine.live.graph import LiveGraph
from slo_engine.observability.metrics import ANSWER_CACHE_LOOKUPS
from slo_engine.topology.answer_cache import AnswerCache, answer_key

_JSON_OPTIONS = orjson.OPT_UTC_Z
# Edges encoded per orjson call in answers too large for the fragment cache.
_ENCODE_CHUNK = 1024
# An answer with more edges than this is not encoded through the fragment cache: its
# ~450-byte fragments would fill more than half of it (EDGE_FRAGMENT_BYTES, 24 MiB).
LARGE_ANSWER_EDGES = 20_000


def service_document(snapshot: GraphSnapshot, service: Service) -> dict[str, Any]:
    """A service as `ServiceOut` describes it (topology/catalog_schemas.py), from the snapshot."""
    return {
        "service_id": service.service_id,
        "display_name": service.display_name,
        "team": service.team,
        "criticality": service.criticality,
        "metadata": service.metadata,
        "discovered": service.discovered,
        "kind": service.kind,
        "only_stale_edges": snapshot.only_stale_edges(service.service_id),
        "created_at": service.created_at,
        "updated_at": service.updated_at,
    }


def _edge_fields(
    edge: MergedDependency | DependencyReport,
    discovery_sources: tuple[DiscoverySource, ...],
    confidence_score: float,
) -> dict[str, Any]:
    """An edge as `EdgeOut` describes it (topology/schemas.py). A merged view and a
    single report name their attributes alike; only the sources and the confidence
    differ (a report has one source, and its own score before the merge)."""
    document: dict[str, Any] = {
        "source": edge.source,
        "target": edge.target,
        "attributes": {name: getattr(edge, name) for name in EDGE_ATTRIBUTES},
        "confidence_score": confidence_score,
        "discovery_sources": discovery_sources,
        "last_observed_at": edge.last_observed_at,
        "is_stale": edge.is_stale,
    }
    # Only edges some source named otherwise (aliases) say so: the rest stay as small.
    reported = (
        edge.reported_as
        if isinstance(edge, MergedDependency)
        else (() if (names := reported_names(edge)) is None else (names,))
    )
    if reported:
        document["reported_as"] = [names._asdict() for names in reported]
    return document


def edge_document(edge: MergedDependency) -> dict[str, Any]:
    return _edge_fields(edge, edge.discovery_sources, edge.confidence_score)


# A single report's merged confidence, by its score: scores are nearly always their
# source's base confidence, and the noisy-OR of one score is a fifth of an edge's encoding.
_ONE_CONFIDENCE: dict[float, float] = {}


def _confidence_of_one(score: float) -> float:
    known = _ONE_CONFIDENCE.get(score)
    if known is None:
        known = combine_confidence((score,))
        if len(_ONE_CONFIDENCE) < 4096:  # bounded: scores a client sets may all differ
            _ONE_CONFIDENCE[score] = known
    return known


def stored_edge_document(stored: PairReports, include_stale: bool) -> dict[str, Any]:
    """`edge_document` of a stored pair's merged view (a walk over `include_stale` edges
    only reaches pairs that have one). A pair with one report, nearly all of them, is
    encoded straight from the report: no merged view is built (the same values, see
    `merge_reports`), which is most of the cost of answers too large to cache."""
    if isinstance(stored, PairState):
        merged = stored.merged(include_stale)
        assert merged is not None, "a walk over fresh edges only reaches fresh pairs"
        return edge_document(merged)
    return _edge_fields(
        stored, (stored.discovery_source,), _confidence_of_one(stored.confidence_score)
    )


def node_document(service: Service) -> dict[str, Any]:
    """A node as answers list it (a subgraph node adds its `depth`)."""
    return {
        "service_id": service.service_id,
        "display_name": service.display_name,
        "team": service.team,
        "criticality": service.criticality,
        "discovered": service.discovered,
        "kind": service.kind,
    }


def encoded_edge(
    snapshot: GraphSnapshot, pair: tuple[str, str], include_stale: bool, *, remember: bool = True
) -> bytes:
    """The edge's JSON object, from the snapshot's fragment cache or encoded now (and
    remembered there unless `remember` is false: a walk over the whole graph passes
    every edge once and would push out what subgraph queries come back for)."""
    key = (pair, include_stale)
    encoded = snapshot.rendered_edges.get(key)
    if encoded is None:
        document = stored_edge_document(snapshot.pairs[pair], include_stale)
        encoded = orjson.dumps(document, option=_JSON_OPTIONS)
        if remember:
            # A right-sized copy: orjson's own result keeps its whole working buffer
            # (~4 KB of memory for a ~400-byte edge), measured at 390 MB per 100,000
            # cached edges against 38 MB for the copies.
            encoded = bytes(memoryview(encoded))
            snapshot.rendered_edges.put(key, encoded)
    return encoded


def _node_prefix(service: Service) -> bytes:
    """A node's JSON object without its closing brace, ready for `"depth": N}`."""
    document = {**node_document(service), "depth": 0}
    encoded = orjson.dumps(document, option=_JSON_OPTIONS)
    return encoded[: encoded.rindex(b"0}")]


# A walk that may reach more services than this (a depth past 3 with room for them in
# `max_nodes`) is computed off the event loop, like the insights (topology/cache.py):
# an upstream depth-10 answer of 10,000 services is ~0.3 s of Python. Smaller ones stay
# on the loop, where a thread handoff would cost more than the walk.
HEAVY_DEPTH = 3
HEAVY_NODES = 2000


NO_FILTER = TraversalFilter()


@dataclass(frozen=True, slots=True)
class SubgraphShape:
    """What a subgraph query asks for besides its root."""

    direction: Direction
    depth: int
    include_stale: bool
    max_nodes: int
    filters: TraversalFilter = NO_FILTER

    @property
    def heavy(self) -> bool:
        """The walk may reach thousands of services: computed off the event loop, and
        its fragments not remembered (`subgraph_answer`)."""
        return self.depth > HEAVY_DEPTH and self.max_nodes > HEAVY_NODES

    def key(self, revision: int, service_id: str) -> str:
        return answer_key(
            revision,
            service_id,
            self.direction,
            self.depth,
            self.include_stale,
            self.max_nodes,
            self.filters.key() if self.filters else "",
        )


async def current_snapshot(session: AsyncSession, live: LiveGraph) -> GraphSnapshot:
    """The snapshot at the database's current revision, as `session` reads it (one-off
    processes: the CLI; the API reads its live graph, which needs no database)."""
    return await live.current(CatalogRepository(session))


def service_in(snapshot: GraphSnapshot, service_id: str) -> Service:
    """The service asked about, or a 404."""
    found = snapshot.services.get(service_id)
    if found is None:
        raise ServiceNotFoundError(f"No service has service_id '{service_id}'.")
    return found


async def cached_subgraph(
    answers: AnswerCache | None, revision: int, service_id: str, shape: SubgraphShape
) -> bytes | None:
    """The answer cached for this revision, if the answer cache (QUERY_CACHE) has it."""
    if answers is None:
        return None
    cached = await answers.get(shape.key(revision, service_id))
    ANSWER_CACHE_LOOKUPS.labels("miss" if cached is None else "hit").inc()
    return cached


async def subgraph_of(
    cache: LiveGraph,
    snapshot: GraphSnapshot,
    service_id: str,
    shape: SubgraphShape,
    answers: AnswerCache | None = None,
) -> tuple[int, bytes]:
    """The JSON answer of GET /services/{service_id}/dependencies (see design.md), from
    `snapshot`, and the revision it was computed at (the live snapshot moves between
    awaits, never during a computation); remembered in the answer cache under it."""
    service_in(snapshot, service_id)  # 404 before any work

    def compute() -> tuple[int, bytes]:
        return snapshot.revision, subgraph_answer(snapshot, service_id, shape)

    if shape.heavy:
        revision, answer = await cache.off_loop(compute)
    else:
        revision, answer = compute()
    if answers is not None:
        await answers.put(shape.key(revision, service_id), answer)
    return revision, answer


async def query_subgraph(
    session: AsyncSession,
    cache: LiveGraph,
    service_id: str,
    *,
    direction: Direction,
    depth: int,
    include_stale: bool,
    max_nodes: int,
) -> bytes:
    """The subgraph answer on the caller's session (the CLI; the API answers from its
    live graph: topology/routes.py)."""
    shape = SubgraphShape(direction, depth, include_stale, max_nodes)
    snapshot = await current_snapshot(session, cache)
    _, answer = await subgraph_of(cache, snapshot, service_id, shape)
    return answer


def subgraph_answer(snapshot: GraphSnapshot, service_id: str, shape: SubgraphShape) -> bytes:
    """The answer's bytes. Each node and edge is encoded once and kept in the snapshot
    (bounded, see `FragmentCache`) until a write changes it, so an answer costs little
    more than joining byte strings. A heavy answer's fragments are used but not kept:
    its thousands of rarely asked-for edges would push out the ones everyday answers
    share, and kept among its short-lived objects they pinned ~50 MB of a worker's heap
    after the load benchmark's depth-10 answers (in process, tracemalloc and RSS)."""
    root = snapshot.services[service_id]
    include_stale = shape.include_stale
    downstream, upstream = snapshot.adjacency(include_stale)
    crosses = shape.filters.crossing(snapshot, include_stale, service_id) if shape.filters else None
    found = subgraph(
        downstream, upstream, service_id, shape.direction, shape.depth, shape.max_nodes, crosses
    )

    remember = not shape.heavy
    node_cache = snapshot.rendered_nodes
    services = snapshot.services
    nodes: list[bytes] = []
    for node_id, node_depth in found.depths.items():
        prefix = node_cache.get(node_id)
        if prefix is None:
            prefix = _node_prefix(services[node_id])
            if remember:
                node_cache.put(node_id, prefix)
        nodes.append(b"%b%d}" % (prefix, node_depth))

    if len(found.edges) > LARGE_ANSWER_EDGES:
        # An answer this large would push most of the cache out to fill it, and encode
        # nearly every edge anyway: one orjson call per chunk of edges instead (the same
        # bytes: orjson writes a list as its items joined by commas). Chunks, not one
        # list: 100,000 documents alive at once cost more in the collector's young
        # passes than they save. A 110,000-edge upstream answer took 1.0 s through the
        # cache, in process.
        pairs = found.edges if isinstance(found.edges, list) else list(found.edges)
        stored = snapshot.pairs
        edges = [
            orjson.dumps(
                [
                    stored_edge_document(stored[pair], include_stale)
                    for pair in pairs[start : start + _ENCODE_CHUNK]
                ],
                option=_JSON_OPTIONS,
            )[1:-1]
            for start in range(0, len(pairs), _ENCODE_CHUNK)
        ]
    else:
        edges = [
            encoded_edge(snapshot, pair, include_stale, remember=remember) for pair in found.edges
        ]

    statistics = {
        "total_nodes": len(nodes),
        "total_edges": len(found.edges),
        "max_depth_reached": found.max_depth_reached,
        "truncated": found.truncated,
        "unlisted_neighbours": found.unlisted,
    }
    return b"".join(
        (
            b'{"service":',
            orjson.dumps(service_document(snapshot, root), option=_JSON_OPTIONS),
            b',"nodes":[',
            b",".join(nodes),
            b'],"edges":[',
            b",".join(edges),
            b'],"statistics":',
            orjson.dumps(statistics),
            b"}",
        )
    )
