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
import itertools
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from slo_engine.graph.model import Service
from slo_engine.graph.snapshot import GraphSnapshot, Pair, PairReports, merged_view
from slo_engine.infra.cursor import encode_cursor, text_after
from slo_engine.topology.service import edge_document, encoded_edge, node_document

_JSON_OPTIONS = orjson.OPT_UTC_Z
K = TypeVar("K", str, Pair)

# Sorting the pairs from scratch works through this many sources between two awaits
# (a few ms each), so the first export of a snapshot does not hold the event loop.
_SOURCES_PER_SLICE = 2000
# Merging a few new keys into a sorted list costs a binary search each (and one copy of
# the list); past one new key per this many old ones, one sort of both is cheaper.
_BISECT_RATIO = 16


@dataclass(slots=True)
class _Order:
    """A snapshot's service ids and pairs in sorted order, each list covering the first
    `*_count` keys of its dict. Lists are never changed once made: an export may still
    be reading one."""

    removals: int  # the snapshot's `removals` when the lists were started
    service_count: int = 0
    service_ids: list[str] = field(default_factory=list)
    pair_count: int = 0
    pairs: list[Pair] = field(default_factory=list)


# Weak, so a replaced snapshot takes its order with it.
_ORDERS: weakref.WeakKeyDictionary[GraphSnapshot, _Order] = weakref.WeakKeyDictionary()


def _order(snapshot: GraphSnapshot) -> _Order:
    """The snapshot's remembered order; started again once something was removed from
    it (a retraction, a deletion): the lists are only ever extended by what was added."""
    order = _ORDERS.get(snapshot)
    if order is None or order.removals != snapshot.removals:
        order = _ORDERS[snapshot] = _Order(snapshot.removals)
    return order


def _extended(sorted_keys: list[K], count: int, keys: dict[K, Any]) -> list[K]:
    """`sorted_keys`, the first `count` keys of `keys` in sorted order, extended to all
    of them.

    While a snapshot removes no service and no pair (`_order` starts again when it
    does), a write only replaces values or adds keys (graph/snapshot.py, `apply`), and
    dicts keep insertion order: the keys added since are the last `len(keys) - count`.
    So a write costs a sort of what it added and a merge, not a sort of everything.
    """
    added = sorted(itertools.islice(reversed(keys), len(keys) - count))
    if not added:
        return sorted_keys
    if len(added) * _BISECT_RATIO >= len(sorted_keys):
        merged = sorted_keys + added
        merged.sort()  # Timsort merges the two sorted runs
        return merged
    merged = []
    start = 0
    for key in added:
        position = bisect.bisect_right(sorted_keys, key, start)
        merged.extend(sorted_keys[start:position])
        merged.append(key)
        start = position
    merged.extend(sorted_keys[start:])
    return merged


def sorted_service_ids(snapshot: GraphSnapshot) -> list[str]:
    """Every service id of the snapshot, in id order; remembered per snapshot and
    brought up to date by merging what writes added. Do not change the list."""
    order = _order(snapshot)
    services = snapshot.services
    if order.service_count != len(services):
        if order.service_count == 0:
            order.service_ids = sorted(services)
        else:
            order.service_ids = _extended(order.service_ids, order.service_count, services)
        order.service_count = len(services)
    return order.service_ids


async def _sorted_pairs(snapshot: GraphSnapshot, pairs: dict[Pair, PairReports]) -> list[Pair]:
    """The keys of `pairs` (a copy of the snapshot's pairs, taken now) in (source,
    target) order.

    The first time per snapshot they are sorted source by source from the adjacency
    lists (sorting the 250,000 tuples in one call holds the event loop, and any thread,
    for ~300 ms): a slice of sources at a time, with an await between, keeping only the
    pairs in the copy (writes in between add pairs to the live adjacency). Later copies
    merge in what writes added since.
    """
    order = _order(snapshot)
    removals = order.removals
    if order.pair_count == len(pairs):
        return order.pairs
    if 0 < order.pair_count < len(pairs):
        keys = _extended(order.pairs, order.pair_count, pairs)
    else:
        downstream = snapshot.downstream_all  # every pair, never unlinked
        sources = sorted(downstream)
        keys = []
        for first in range(0, len(sources), _SOURCES_PER_SLICE):
            for source in sources[first : first + _SOURCES_PER_SLICE]:
                keys.extend(
                    pair
                    for pair in [(source, target) for target in sorted(downstream[source])]
                    if pair in pairs
                )
            await asyncio.sleep(0)
        if len(keys) != len(pairs):  # the adjacency lists disagree with the pairs
            keys = sorted(pairs)
    order = _order(snapshot)
    # Another export may have got further meanwhile; and keys sorted before a removal
    # must not be remembered after it.
    if order.removals == removals and order.pair_count < len(keys):
        order.pairs, order.pair_count = keys, len(keys)
    return keys


def graph_page(
    snapshot: GraphSnapshot, *, include_stale: bool, cursor: str | None, limit: int
) -> bytes:
    """One JSON page of the whole graph: up to `limit` services after the cursor's, in
    id order, every edge leaving them (by target id), the revision and `next_cursor`.

    Every service is listed; `include_stale=false` leaves out edges whose every report
    is stale, as subgraph queries do. Edge objects are byte-equal to the subgraph
    answer's (the same encoding). Fragments already in the snapshot's fragment cache are
    reused, but a page does not add to it: a walk passes every edge once, and would push
    out the fragments that subgraph queries come back for (the cache is bounded).
    Synchronous on purpose: the page is built from one state of the snapshot, which
    writes in this process change only between awaits.
    """
    after = text_after(cursor)
    ids = sorted_service_ids(snapshot)
    start = 0 if after is None else bisect.bisect_right(ids, after)
    page_ids = ids[start : start + limit]
    more = start + limit < len(ids)

    services = snapshot.services
    nodes = [orjson.dumps(node_document(services[i]), option=_JSON_OPTIONS) for i in page_ids]
    downstream, _ = snapshot.adjacency(include_stale)
    edges = [
        encoded_edge(snapshot, (source, target), include_stale, remember=False)
        for source in page_ids
        for target in sorted(downstream.get(source, ()))
    ]
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
    """The whole graph at one revision, detached from the live snapshot, in id order.

    Writes in this process change the snapshot in place while an export streams, but
    they replace `Service`, report and `PairState` objects rather than change them, and only
    add keys: shallow copies of the two dicts, taken with no await in between, keep the
    revision this copy was taken at (~10 ms and ~10 MB for 250,000 pairs).
    """

    revision: int
    service_ids: list[str]
    services: dict[str, Service]
    pairs: list[Pair]
    states: dict[Pair, PairReports]

    def nodes(self) -> Iterator[dict[str, Any]]:
        services = self.services
        for service_id in self.service_ids:
            yield node_document(services[service_id])

    def edges(self, include_stale: bool) -> Iterator[dict[str, Any]]:
        states = self.states
        for pair in self.pairs:
            merged = merged_view(states[pair], include_stale)
            if merged is not None:  # None: every report stale, and stale not asked for
                yield edge_document(merged)


async def graph_copy(snapshot: GraphSnapshot) -> GraphCopy:
    """The whole graph as it is now, ordered by service id and (source, target) so equal
    graphs give equal exports.

    Everything the copy shows is captured before the first await; the order comes from
    sorted keys remembered per snapshot (see `_sorted_pairs` for the first time).
    """
    revision = snapshot.revision
    services = dict(snapshot.services)
    states = dict(snapshot.pairs)
    service_ids = sorted_service_ids(snapshot)
    pairs = await _sorted_pairs(snapshot, states)
    return GraphCopy(revision, service_ids, services, pairs, states)
