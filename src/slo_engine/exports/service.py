"""The whole-graph export use cases, answered from the in-memory snapshot.

Two shapes, for two kinds of client (docs/exports.md, "Why JSON pages and the rest
streams"):

* JSON in pages by service id (`graph_page`): a program walks the pages with bounded
  memory on both sides, and can resume. A page holds its services and every edge whose
  source is one of them, so the walk yields each node and each edge exactly once.
* DOT, Mermaid and Cytoscape.js as one document (`graph_copy`, then a renderer): their
  tools need the whole graph in one file, so pages would be no use; the route streams it.
"""

from __future__ import annotations

import asyncio
import bisect
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.repository import CatalogRepository
from slo_engine.errors import BadRequestError
from slo_engine.graph.model import Service
from slo_engine.graph.snapshot import GraphSnapshot, Pair, PairState
from slo_engine.infra.cursor import decode_cursor, encode_cursor
from slo_engine.topology.cache import GraphCache
from slo_engine.topology.service import edge_document

_JSON_OPTIONS = orjson.OPT_UTC_Z

# Service ids in id order, per snapshot, remembered with the revision they were sorted
# at: pages of one revision then cost a binary search instead of a sort each. Weak, so
# a replaced snapshot takes its list with it.
_SORTED_IDS: weakref.WeakKeyDictionary[GraphSnapshot, tuple[int, list[str]]] = (
    weakref.WeakKeyDictionary()
)


def _sorted_ids(snapshot: GraphSnapshot) -> list[str]:
    remembered = _SORTED_IDS.get(snapshot)
    if remembered is not None and remembered[0] == snapshot.revision:
        return remembered[1]
    ids = sorted(snapshot.services)
    _SORTED_IDS[snapshot] = (snapshot.revision, ids)
    return ids


def node_document(service: Service) -> dict[str, Any]:
    """A node of the whole graph: a subgraph node without `depth`."""
    return {
        "service_id": service.service_id,
        "display_name": service.display_name,
        "team": service.team,
        "criticality": service.criticality,
        "discovered": service.discovered,
    }


def _after(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    (after,) = decode_cursor(cursor, 1)
    if not isinstance(after, str):
        raise BadRequestError("The cursor is not one this service issued.")
    return after


async def current_snapshot(
    session: AsyncSession, cache: GraphCache, known_revision: int | None
) -> GraphSnapshot:
    return await cache.current(CatalogRepository(session), known_revision)


def graph_page(
    snapshot: GraphSnapshot, *, include_stale: bool, cursor: str | None, limit: int
) -> bytes:
    """One JSON page of the whole graph: up to `limit` services after the cursor's, in
    id order, every edge leaving them (by target id), the revision and `next_cursor`.

    Every service is listed; `include_stale=false` leaves out edges whose every report
    is stale, as subgraph queries do. Edge objects are byte-equal to the subgraph
    answer's (the same encoding, shared through the snapshot's fragment cache).
    Synchronous on purpose: the page is built from one state of the snapshot, which
    writes in this process change only between awaits.
    """
    after = _after(cursor)
    ids = _sorted_ids(snapshot)
    start = 0 if after is None else bisect.bisect_right(ids, after)
    page_ids = ids[start : start + limit]
    more = start + limit < len(ids)

    services = snapshot.services
    nodes = [orjson.dumps(node_document(services[i]), option=_JSON_OPTIONS) for i in page_ids]
    downstream, _ = snapshot.adjacency(include_stale)
    edge_cache = snapshot.rendered_edges
    edges: list[bytes] = []
    for source in page_ids:
        for target in sorted(downstream.get(source, ())):
            key = ((source, target), include_stale)
            encoded = edge_cache.get(key)
            if encoded is None:
                document = edge_document(snapshot.edge((source, target), include_stale))
                # A right-sized copy, as topology/service.py keeps (see there).
                encoded = bytes(memoryview(orjson.dumps(document, option=_JSON_OPTIONS)))
                edge_cache.put(key, encoded)
            edges.append(encoded)
    next_cursor = encode_cursor([page_ids[-1]]) if more and page_ids else None
    return b"".join(
        (
            b'{"revision":%d,"nodes":[' % snapshot.revision,
            b",".join(nodes),
            b'],"edges":[',
            b",".join(edges),
            b'],"next_cursor":',
            orjson.dumps(next_cursor),
            b"}",
        )
    )


@dataclass(frozen=True, slots=True)
class GraphCopy:
    """The whole graph at one revision, detached from the live snapshot.

    Writes in this process change the snapshot in place while an export streams, but
    they replace `Service` and `PairState` objects rather than change them, so holding
    the objects themselves (not the keys) keeps the revision this copy was taken at.
    Costs a pointer or two per service and pair.
    """

    revision: int
    services: list[Service]
    pairs: list[tuple[Pair, PairState]]

    @classmethod
    def of(cls, snapshot: GraphSnapshot) -> GraphCopy:
        """Copy now, with no await in between: the snapshot is one revision throughout."""
        return cls(
            snapshot.revision, list(snapshot.services.values()), list(snapshot.pairs.items())
        )

    def sort(self) -> None:
        """Order by service id and (source, target): equal graphs, equal exports. Touches
        only the copy, so it may run in a worker thread."""
        self.services.sort(key=lambda service: service.service_id)
        self.pairs.sort(key=lambda item: item[0])

    def nodes(self) -> Iterator[dict[str, Any]]:
        for service in self.services:
            yield node_document(service)

    def edges(self, include_stale: bool) -> Iterator[dict[str, Any]]:
        for _, state in self.pairs:
            merged = state.merged(include_stale)
            if merged is not None:  # None: every report stale, and stale not asked for
                yield edge_document(merged)


async def graph_copy(snapshot: GraphSnapshot) -> GraphCopy:
    """The whole graph, copied from the snapshot now and sorted off the event loop (a
    sort of 250,000 pairs would hold every other request for a few hundred ms)."""
    copy = GraphCopy.of(snapshot)
    await asyncio.to_thread(copy.sort)
    return copy
