"""Drift answered from the in-memory snapshot: pages of items, suggestions in the
catalogs' own formats, the answer's edges for `include=drift`, and the counts the
metrics show.

The rules live in the pure core (graph/drift.py); this module chooses the pairs, keeps
the whole graph's result, pages it and encodes it. Every computation runs off the event
loop (`LiveGraph.off_loop`), where the snapshot holds still.

What is kept, and why: judging a 250,000-edge graph costs seconds of CPU, so the whole
graph's items are kept per snapshot, window and `include_external` for `KEPT_SECONDS`,
whatever revisions come meanwhile (under steady ingestion every revision would judge it
again): an answer says the revision it judged (`revision`, `X-Graph-Revision`), and a
request's `min_revision` asks for a judgement of that revision or later. One judgement
of a kind runs at a time: requests that come meanwhile wait for it (a shared task).
Only the items' keys are kept (a 250,000-edge graph nobody declared has 250,000
`observed_only` items: their evidence would cost hundreds of MB); a page judges its own
pairs again at the kept time, on the graph as it is now, and leaves out an item that
no longer drifts.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import re
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import yaml

from slo_engine.graph.drift import (
    DEFAULT_WINDOW,
    DRIFT_ORDER,
    Drift,
    DriftItem,
    counts,
    drift_items,
    pairs_touching,
)
from slo_engine.graph.model import DiscoverySource, NodeKind, Service
from slo_engine.graph.snapshot import GraphSnapshot, Pair
from slo_engine.infra.cursor import decode_cursor, encode_cursor, not_issued
from slo_engine.live.graph import LiveGraph

_JSON_OPTIONS = orjson.OPT_UTC_Z
# How long the whole graph's drift is kept before it is judged again.
KEPT_SECONDS = 60.0
DEFAULT_WINDOW_HOURS = int(DEFAULT_WINDOW.total_seconds() // 3600)
# The key an item is listed and paged by: (source, target, kind order, field or "").
ItemKey = tuple[str, str, int, str]
_KINDS_BY_ORDER = {order: kind for kind, order in DRIFT_ORDER.items()}
# What a whole-graph judgement is of: (window, include_external).
Scope = tuple[timedelta, bool]
DEFAULT_SCOPE: Scope = (DEFAULT_WINDOW, False)


@dataclass(frozen=True, slots=True)
class Judged:
    """The drift of one scope at one time: the items' keys, in order, and their counts."""

    revision: int
    computed_at: datetime
    window: timedelta
    include_external: bool
    keys: list[ItemKey]
    totals: dict[Drift, int]
    made: float = field(default_factory=time.monotonic)

    def usable(self, min_revision: int | None = None) -> bool:
        """Young enough, and of `min_revision` or later."""
        return time.monotonic() - self.made < KEPT_SECONDS and (
            min_revision is None or self.revision >= min_revision
        )


@dataclass(slots=True)
class _Kept:
    """A snapshot's whole-graph judgements: the default scope's (which the metrics read)
    and the last other one asked; and the judgements under way."""

    judged: dict[Scope, Judged] = field(default_factory=dict)
    running: dict[Scope, asyncio.Task[Judged]] = field(default_factory=dict)

    def keep(self, scope: Scope, judged: Judged) -> None:
        if scope != DEFAULT_SCOPE:
            for other in [s for s in self.judged if s not in (DEFAULT_SCOPE, scope)]:
                del self.judged[other]
        self.judged[scope] = judged


# Per snapshot, weakly: a reloaded graph is a new object.
_KEPT: weakref.WeakKeyDictionary[GraphSnapshot, _Kept] = weakref.WeakKeyDictionary()


def _judged(items: list[DriftItem], revision: int, now: datetime, scope: Scope) -> Judged:
    return Judged(revision, now, scope[0], scope[1], [item.key for item in items], counts(items))


def judge_whole_graph(snapshot: GraphSnapshot, scope: Scope, now: datetime) -> Judged:
    """The whole graph's drift judged now (call off the event loop)."""
    window, include_external = scope
    items = drift_items(snapshot, now, window, include_external=include_external)
    return _judged(items, snapshot.revision, now, scope)


async def whole_graph(
    live: LiveGraph, snapshot: GraphSnapshot, scope: Scope, min_revision: int | None = None
) -> Judged:
    """The whole graph's drift: kept (younger than KEPT_SECONDS, of `min_revision` or
    later), or the judgement under way, or a new one, shared with whoever asks meanwhile."""
    kept = _KEPT.setdefault(snapshot, _Kept())
    found = kept.judged.get(scope)
    # Twice at most: a judgement under way may have started before `min_revision`; one
    # started after this request did is of the revision it waited for, or later.
    for _ in range(2):
        if found is not None and found.usable(min_revision):
            return found
        task = kept.running.get(scope)
        if task is None:
            task = asyncio.get_running_loop().create_task(
                live.off_loop(lambda: judge_whole_graph(snapshot, scope, datetime.now(UTC)))
            )
            kept.running[scope] = task
            task.add_done_callback(lambda done: _finished(kept, scope, done))
        found = await asyncio.shield(task)
    assert found is not None
    return found


def _finished(kept: _Kept, scope: Scope, task: asyncio.Task[Judged]) -> None:
    if kept.running.get(scope) is task:
        del kept.running[scope]
    if not task.cancelled() and task.exception() is None:
        kept.keep(scope, task.result())


def kept_totals(snapshot: GraphSnapshot) -> dict[Drift, int] | None:
    """The default scope's totals judged within `KEPT_SECONDS`, else None."""
    kept = _KEPT.get(snapshot)
    found = None if kept is None else kept.judged.get(DEFAULT_SCOPE)
    return found.totals if found is not None and found.usable() else None


@dataclass(frozen=True, slots=True)
class PageRequest:
    window: timedelta
    kinds: frozenset[Drift]  # empty: every kind
    after: ItemKey | None
    limit: int
    include_external: bool = False
    min_revision: int | None = None  # of the kept whole-graph judgement

    @property
    def scope(self) -> Scope:
        return (self.window, self.include_external)


def parse_kinds(text: str | None) -> frozenset[Drift]:
    """The kinds a `drift=` list names (its pattern has checked the names).

    >>> sorted(parse_kinds("mismatch,declared_only"))
    [<Drift.DECLARED_ONLY: 'declared_only'>, <Drift.MISMATCH: 'mismatch'>]
    """
    return frozenset(Drift(name) for name in (text or "").split(",") if name)


def cursor_after(cursor: str | None) -> ItemKey | None:
    """The key a cursor says to start after (None: the first page); a 400 for a cursor
    this service did not issue."""
    if cursor is None:
        return None
    source, target, kind, name = decode_cursor(cursor, 4)
    if not all(isinstance(value, str) for value in (source, target, kind, name)):
        raise not_issued()
    if kind not in {member.value for member in Drift}:
        raise not_issued()
    return (source, target, DRIFT_ORDER[Drift(kind)], name)


def _cursor_of(key: ItemKey) -> str:
    source, target, order, name = key
    return encode_cursor([source, target, _KINDS_BY_ORDER[order].value, name])


def _page_keys(keys: list[ItemKey], request: PageRequest) -> tuple[list[ItemKey], bool]:
    """The keys of the page `request` asks for, and whether more follow."""
    start = 0 if request.after is None else bisect.bisect_right(keys, request.after)
    wanted = {DRIFT_ORDER[kind] for kind in request.kinds}
    found: list[ItemKey] = []
    for index in range(start, len(keys)):
        key = keys[index]
        if wanted and key[2] not in wanted:
            continue
        if len(found) == request.limit:
            return found, True
        found.append(key)
    return found, False


def _encode_page(
    judged: Judged,
    items: Mapping[ItemKey, DriftItem],
    page: list[ItemKey],
    more: bool,
) -> bytes:
    answer = {
        "window_hours": int(judged.window.total_seconds() // 3600),
        "computed_at": judged.computed_at,
        "revision": judged.revision,
        "totals": {kind.value: judged.totals[kind] for kind in Drift},
        "items": [item_document(items[key]) for key in page if key in items],
        "next_cursor": _cursor_of(page[-1]) if more and page else None,
    }
    return orjson.dumps(answer, option=_JSON_OPTIONS)


def item_document(item: DriftItem) -> dict[str, Any]:
    evidence = item.evidence
    coverage = evidence.caller_coverage
    return {
        "source": item.source,
        "target": item.target,
        "source_kind": item.source_kind.value,
        "target_kind": item.target_kind.value,
        "drift": item.drift.value,
        "confidence": item.confidence,
        "field": item.field,
        "declared": item.declared,
        "observed": item.observed,
        "evidence": {
            "declared_by": [s.value for s in evidence.declared_by],
            "observed_by": [s.value for s in evidence.observed_by],
            "last_seen": {s.value: seen for s, seen in evidence.last_seen.items()},
            "request_rate": evidence.request_rate,
            "error_rate": evidence.error_rate,
            "latency_p95_ms": evidence.latency_p95_ms,
            "caller_coverage": None
            if coverage is None
            else {
                "observed_by": [s.value for s in coverage.observed_by],
                "last_seen": coverage.last_seen,
                "edges": coverage.edges,
            },
        },
    }


def _by_key(items: Iterable[DriftItem]) -> dict[ItemKey, DriftItem]:
    return {item.key: item for item in items}


def _judge_pairs(snapshot: GraphSnapshot, judged: Judged, pairs: Iterable[Pair]) -> list[DriftItem]:
    """The items of `pairs` judged at the time `judged` was, in its scope."""
    return drift_items(snapshot, judged.computed_at, judged.window, pairs, judged.include_external)


def graph_page(snapshot: GraphSnapshot, judged: Judged, request: PageRequest) -> bytes:
    """A page of the whole graph's kept drift (call off the event loop). The page's pairs
    are judged again at the time the kept keys were judged at."""
    page, more = _page_keys(judged.keys, request)
    items = _by_key(_judge_pairs(snapshot, judged, dict.fromkeys((k[0], k[1]) for k in page)))
    return _encode_page(judged, items, page, more)


def pairs_page(
    snapshot: GraphSnapshot, pairs: Iterable[Pair], request: PageRequest, now: datetime
) -> tuple[int, bytes]:
    """A page of the drift of `pairs` (a service's, an answer's edges), judged now, and
    the revision it was judged at."""
    items = drift_items(snapshot, now, request.window, pairs, request.include_external)
    judged = _judged(items, snapshot.revision, now, request.scope)
    page, more = _page_keys(judged.keys, request)
    return snapshot.revision, _encode_page(judged, _by_key(items), page, more)


async def drift_of_graph(
    live: LiveGraph, snapshot: GraphSnapshot, request: PageRequest
) -> tuple[int, bytes]:
    """The revision judged, and the JSON answer of GET /drift (drift/schemas.py
    `DriftOut`)."""
    judged = await whole_graph(live, snapshot, request.scope, request.min_revision)
    body = await live.off_loop(lambda: graph_page(snapshot, judged, request))
    return judged.revision, body


async def drift_of_service(
    live: LiveGraph, snapshot: GraphSnapshot, service: Service, request: PageRequest
) -> tuple[int, bytes]:
    """The revision judged, and the JSON answer of GET /services/{service_id}/drift: the
    items the service is the caller or the callee of. O(the degree of it and of its
    callers)."""
    return await live.off_loop(
        lambda: pairs_page(
            snapshot, pairs_touching(snapshot, service.service_id), request, datetime.now(UTC)
        )
    )


# --- include=drift -------------------------------------------------------------------

# The items `include=drift` lists at most; its totals count all.
INCLUDED_DRIFT_LIMIT = 1000


def answer_pairs(snapshot: GraphSnapshot, answer: bytes, root: str) -> list[Pair]:
    """The edges of a subgraph answer, or the root's own pairs for an answer without
    edges (a service)."""
    document = orjson.loads(answer)
    edges = document.get("edges") if isinstance(document, dict) else None
    if not isinstance(edges, list):
        return pairs_touching(snapshot, root)
    return [(edge["source"], edge["target"]) for edge in edges]


async def included_drift_of(
    live: LiveGraph, snapshot: GraphSnapshot, root: Service, answer: bytes
) -> bytes:
    request = PageRequest(DEFAULT_WINDOW, frozenset(), None, INCLUDED_DRIFT_LIMIT)

    def work() -> bytes:
        pairs = answer_pairs(snapshot, answer, root.service_id)
        return pairs_page(snapshot, pairs, request, datetime.now(UTC))[1]

    return await live.off_loop(work)


# --- suggestions ---------------------------------------------------------------------

# The edges suggestions name at most (in the listing order); past it the answer says so.
MAX_SUGGESTED_EDGES = 10_000
TRUNCATED_HEADER = "X-Drift-Truncated"
_RESOURCE_KINDS = {NodeKind.DATABASE, NodeKind.MESSAGING}
_NOT_ENTITIES = {NodeKind.EXTERNAL, NodeKind.VIRTUAL}
# Backstage's default rules for entity names and namespaces (at most 63 characters).
_ENTITY_NAME = re.compile(r"[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*")
_NAMESPACE = re.compile(r"[a-z0-9]+(?:-+[a-z0-9]+)*")
_LONGEST_NAME = 63
# Judging a service's pairs for its suggestions, this many at a time (bounded memory).
_CHUNK = 1000


def recorded_ref(service: Service | None) -> str | None:
    """The entity ref the Backstage source recorded for a service it read
    (`metadata.backstage.entity_ref`), or None: not read from Backstage, or metadata a
    client stored in another shape."""
    details = None if service is None else service.metadata.get("backstage")
    ref = details.get("entity_ref") if isinstance(details, dict) else None
    return ref if isinstance(ref, str) and ref.strip() else None


def entity_ref(service: Service | None, service_id: str) -> str | None:
    """The Backstage entity ref of a node: as the Backstage source recorded it; else the
    ref the Backstage source would read as this id (discovery/naming.py
    `entity_ref_to_service_id`, in reverse: `team-b.search` is `team-b/search`), a
    `resource:` for a database or a broker; None when no valid ref gives the id (an
    external or virtual node, an id with `:` or upper case, a name over 63 characters).

    >>> entity_ref(None, "team-b.search"), entity_ref(None, "cart")
    ('component:team-b/search', 'component:default/cart')
    >>> entity_ref(Service("orders-db", kind=NodeKind.DATABASE), "orders-db")
    'resource:default/orders-db'
    >>> [entity_ref(None, i) for i in ("postgresql:orders", "Cart", "x" * 64)]
    [None, None, None]
    """
    recorded = recorded_ref(service)
    if recorded is not None:
        return recorded
    kind = NodeKind.SERVICE if service is None else service.kind
    if kind in _NOT_ENTITIES:
        return None
    entity_kind = "resource" if kind in _RESOURCE_KINDS else "component"
    namespace, dot, name = service_id.partition(".")
    candidates = [(namespace, name)] if dot else []
    candidates.append(("default", service_id))
    for namespace, name in candidates:
        ref = f"{entity_kind}:{namespace}/{name}"
        if (
            len(namespace) <= _LONGEST_NAME
            and len(name) <= _LONGEST_NAME
            and _NAMESPACE.fullmatch(namespace)
            and _ENTITY_NAME.fullmatch(name)
            and _read_as(namespace, name) == service_id
        ):
            return ref
    return None


def _read_as(namespace: str, name: str) -> str:
    """The service id the Backstage source reads a valid entity name as
    (discovery/naming.py `entity_ref_to_service_id`, which tests/e2e/test_drift.py holds
    this to): the name outside `default` prefixed `namespace.`, lower case."""
    return (name if namespace == "default" else f"{namespace}.{name}").lower()


@dataclass(frozen=True, slots=True)
class Suggestions:
    revision: int
    body: bytes
    truncated: bool


def _wanted(suggestion_format: str) -> frozenset[Drift]:
    if suggestion_format == "backstage-patch":
        return frozenset({Drift.DECLARED_ONLY, Drift.OBSERVED_ONLY})
    return frozenset({Drift.OBSERVED_ONLY})


def _in_patch(snapshot: GraphSnapshot, drift: Drift, pair: Pair) -> bool:
    """Whether the Backstage patch names a drifting pair: its caller was read from
    Backstage, and an edge to remove is Backstage's own (not one only a person declared)."""
    if recorded_ref(snapshot.services.get(pair[0])) is None:
        return False
    return drift is Drift.OBSERVED_ONLY or (
        snapshot.report(pair, DiscoverySource.BACKSTAGE) is not None
    )


def _suggested_pairs(
    snapshot: GraphSnapshot, keys: Iterable[ItemKey], suggestion_format: str
) -> tuple[list[Pair], bool]:
    """The first MAX_SUGGESTED_EDGES pairs the suggestion names, and whether more drift."""
    wanted = {DRIFT_ORDER[kind] for kind in _wanted(suggestion_format)}
    patch = suggestion_format == "backstage-patch"
    pairs: list[Pair] = []
    for source, target, order, _ in keys:
        if order not in wanted or (
            patch and not _in_patch(snapshot, _KINDS_BY_ORDER[order], (source, target))
        ):
            continue
        if len(pairs) == MAX_SUGGESTED_EDGES:
            return pairs, True
        pairs.append((source, target))
    return pairs, False


def backstage_patch(items: list[DriftItem], snapshot: GraphSnapshot) -> str:
    """One YAML document per Backstage entity whose `spec.dependsOn` should change:
    `entityRef`, `dependsOn.add` (edges only traffic shows) and `dependsOn.remove`
    (edges Backstage declares that traffic no longer shows), each a list of entity refs;
    `alsoDeclaredBy` (a removed ref a person declares too, `manual`: it stays
    `declared_only` until retracted there as well); `leftOut` (targets no valid entity
    ref names, with the change they needed). Edges of callers Backstage does not hold go
    to the ingest suggestion instead."""
    services = snapshot.services
    patches: dict[str, dict[str, Any]] = {}
    for item in items:
        pair = (item.source, item.target)
        caller_ref = recorded_ref(services.get(item.source))
        if caller_ref is None or not _in_patch(snapshot, item.drift, pair):
            continue
        change = "add" if item.drift is Drift.OBSERVED_ONLY else "remove"
        patch = patches.setdefault(caller_ref, {"add": [], "remove": [], "also": {}, "out": []})
        ref = entity_ref(services.get(item.target), item.target)
        if ref is None:
            patch["out"].append({"serviceId": item.target, "change": change})
            continue
        patch[change].append(ref)
        others = [s.value for s in item.evidence.declared_by if s is not DiscoverySource.BACKSTAGE]
        if change == "remove" and others:
            patch["also"][ref] = others
    documents = []
    for caller_ref, patch in sorted(patches.items()):
        document: dict[str, Any] = {
            "entityRef": caller_ref,
            "dependsOn": {c: sorted(patch[c]) for c in ("add", "remove") if patch[c]},
        }
        if patch["also"]:
            document["alsoDeclaredBy"] = dict(sorted(patch["also"].items()))
        if patch["out"]:
            document["leftOut"] = patch["out"]
        documents.append(document)
    header = (
        "# slo-engine drift suggestions for Backstage (docs/drift.md): per entity, the\n"
        "# spec.dependsOn entries to add (seen in traffic, declared by nobody) and to\n"
        "# remove (declared, not seen although traffic sees the caller). alsoDeclaredBy:\n"
        "# removed refs a person declared too (retract them there as well). leftOut:\n"
        "# targets no valid entity ref names (declare them with the ingest suggestion).\n"
    )
    if not documents:
        return header
    return header + yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True)


def ingest_document(items: list[DriftItem], snapshot: GraphSnapshot) -> dict[str, Any]:
    """A manual ingest request (the ingest format, examples/*.json) that declares every
    edge only traffic shows, with the mode traffic tells where it tells one."""
    edges = []
    for item in items:
        if item.drift is not Drift.OBSERVED_ONLY:
            continue
        attributes: dict[str, Any] = {}
        for source in item.evidence.observed_by:
            report = snapshot.report((item.source, item.target), source)
            # Jaeger's mode is the source's assumption, not an observation (graph/drift.py).
            if (
                report is not None
                and report.communication_mode is not None
                and (source is not DiscoverySource.JAEGER)
            ):
                attributes["communication_mode"] = report.communication_mode.value
                break
        edge: dict[str, Any] = {"source": item.source, "target": item.target}
        if attributes:
            edge["attributes"] = attributes
        edges.append(edge)
    return {"source": "manual", "nodes": [], "edges": edges}


def _encode_suggestions(
    items: list[DriftItem], snapshot: GraphSnapshot, suggestion_format: str
) -> bytes:
    if suggestion_format == "backstage-patch":
        return backstage_patch(items, snapshot).encode()
    return orjson.dumps(ingest_document(items, snapshot))


def graph_suggestions(
    snapshot: GraphSnapshot, judged: Judged, suggestion_format: str
) -> Suggestions:
    """The whole graph's suggestions from its kept drift (call off the event loop):
    only the pairs named are judged again."""
    pairs, truncated = _suggested_pairs(snapshot, judged.keys, suggestion_format)
    wanted = _wanted(suggestion_format)
    items = [i for i in _judge_pairs(snapshot, judged, pairs) if i.drift in wanted]
    body = _encode_suggestions(items, snapshot, suggestion_format)
    return Suggestions(judged.revision, body, truncated)


def _chunks(pairs: list[Pair]) -> Iterator[list[Pair]]:
    for start in range(0, len(pairs), _CHUNK):
        yield pairs[start : start + _CHUNK]


def service_suggestions(
    snapshot: GraphSnapshot,
    service_id: str,
    window: timedelta,
    suggestion_format: str,
    now: datetime,
    include_external: bool = False,
) -> Suggestions:
    """The suggestions for the edges a service calls or is called by, judged now (call
    off the event loop), its pairs a chunk at a time: no more items are built than named."""
    wanted = _wanted(suggestion_format)
    patch = suggestion_format == "backstage-patch"
    items: list[DriftItem] = []
    truncated = False
    for chunk in _chunks(sorted(pairs_touching(snapshot, service_id))):
        for item in drift_items(snapshot, now, window, chunk, include_external):
            if item.drift not in wanted or (
                patch and not _in_patch(snapshot, item.drift, (item.source, item.target))
            ):
                continue
            if len(items) == MAX_SUGGESTED_EDGES:
                truncated = True
                break
            items.append(item)
        if truncated:
            break
    body = _encode_suggestions(items, snapshot, suggestion_format)
    return Suggestions(snapshot.revision, body, truncated)


async def suggestions_of(
    live: LiveGraph,
    snapshot: GraphSnapshot,
    request: PageRequest,
    suggestion_format: str,
    service: Service | None = None,
) -> Suggestions:
    """The suggestions of the whole graph (from its kept drift), or of one service's
    edges (judged now), in `request`'s window and scope."""
    if service is None:
        judged = await whole_graph(live, snapshot, request.scope, request.min_revision)
        return await live.off_loop(lambda: graph_suggestions(snapshot, judged, suggestion_format))
    service_id = service.service_id
    return await live.off_loop(
        lambda: service_suggestions(
            snapshot,
            service_id,
            request.window,
            suggestion_format,
            datetime.now(UTC),
            request.include_external,
        )
    )


# --- metrics -------------------------------------------------------------------------


class ScrapeCounts:
    """The drift counts `/metrics` shows for one live graph (observability/metrics.py
    `DRIFT_ITEMS`): the default scope's totals judged within `KEPT_SECONDS` (whatever
    the revision since); when there are none, the last ones known while a judgement of
    the current graph starts off the event loop. A scrape never judges the graph
    itself, and it shares the judgement with the API's whole-graph answers."""

    def __init__(self, live: LiveGraph) -> None:
        self._live = live
        self._last: dict[Drift, int] | None = None
        self._running: asyncio.Task[None] | None = None

    def __call__(self) -> dict[str, int] | None:
        snapshot = self._live.peek()
        if snapshot is None:
            return self._counts()
        totals = kept_totals(snapshot)
        if totals is not None:
            self._last = totals
            return self._counts()
        if self._running is None or self._running.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # collected outside the server's loop: nothing to start
                return self._counts()
            self._running = loop.create_task(self._judge(snapshot))
        return self._counts()

    async def _judge(self, snapshot: GraphSnapshot) -> None:
        judged = await whole_graph(self._live, snapshot, DEFAULT_SCOPE)
        self._last = judged.totals

    async def close(self) -> None:
        """Stop the judgements under way (the app stops)."""
        snapshot = self._live.peek()
        kept = None if snapshot is None else _KEPT.get(snapshot)
        running: list[asyncio.Task[Any]] = [] if kept is None else list(kept.running.values())
        if self._running is not None:
            running.append(self._running)
        for task in running:
            if not task.done():
                task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _counts(self) -> dict[str, int] | None:
        if self._last is None:
            return None
        return {kind.value: count for kind, count in self._last.items()}
