"""The whole-graph use cases on an in-memory snapshot: the remembered sort orders, the
JSON pages and the fragment cache, and the streamed copy's one revision."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import orjson

from slo_engine.exports import service
from slo_engine.exports.service import _extended, graph_copy, graph_page, sorted_service_ids
from slo_engine.graph.model import DependencyReport, DiscoverySource, Service
from slo_engine.graph.snapshot import GraphSnapshot

NOW = datetime(2025, 1, 1, tzinfo=UTC)
SOURCE = next(iter(DiscoverySource))


def report(source: str, target: str, **fields: Any) -> DependencyReport:
    return DependencyReport(source, target, SOURCE, NOW, **fields)


def services(*ids: str, **fields: Any) -> list[Service]:
    return [Service(service_id=i, created_at=NOW, updated_at=NOW, **fields) for i in ids]


def snapshot_of(pairs: list[tuple[str, str]]) -> GraphSnapshot:
    ids = sorted({s for pair in pairs for s in pair})
    random.Random(7).shuffle(ids)
    return GraphSnapshot.build(1, services(*ids), [report(s, t) for s, t in pairs])


def random_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = {(f"s{rng.randrange(200):03d}", f"s{rng.randrange(200):03d}") for _ in range(count)}
    return sorted(p for p in pairs if p[0] != p[1])


def test_extended_merges_the_keys_added_last() -> None:
    rng = random.Random(1)
    for old_size, added in ((0, 5), (100, 1), (100, 3), (100, 60), (1000, 40)):
        keys = dict.fromkeys(f"k{n:05d}" for n in rng.sample(range(10_000), old_size + added))
        old_keys = list(keys)[:old_size]
        assert _extended(sorted(old_keys), old_size, keys) == sorted(keys)
    same = ["a", "b", "c"]
    assert _extended(same, 3, dict.fromkeys("cab")) is same


def test_sorted_ids_follow_writes_that_add_and_replace() -> None:
    snapshot = snapshot_of(random_pairs(300, 2))
    first = sorted_service_ids(snapshot)
    assert first == sorted(snapshot.services)
    assert sorted_service_ids(snapshot) is first  # remembered
    handed_out = list(first)
    # A write replacing a service (same key) and adding others, in the middle and ends.
    snapshot.apply(2, services("s100", "a-first", "s100x", "zz-last", team="t"), [])
    snapshot.apply(3, [], [report("s100", "new-target")])  # a pair only, no service
    after = sorted_service_ids(snapshot)
    assert after == sorted(snapshot.services)
    assert first == handed_out and after is not first  # a list handed out never changes


def test_graph_copy_is_sorted_and_keeps_its_revision() -> None:
    pairs = random_pairs(400, 3)
    snapshot = snapshot_of(pairs)

    async def copy_then_write() -> service.GraphCopy:
        copy = await graph_copy(snapshot)
        snapshot.apply(
            2,
            services("s001", "a-new", team="changed"),
            [report("a-new", "s001"), report(pairs[0][0], pairs[0][1], is_stale=True)],
        )
        return copy

    copy = asyncio.run(copy_then_write())
    assert copy.revision == 1
    assert [n["service_id"] for n in copy.nodes()] == sorted({s for p in pairs for s in p})
    assert all(n["team"] is None for n in copy.nodes())
    assert [(e["source"], e["target"]) for e in copy.edges(False)] == pairs
    assert not any(e["is_stale"] for e in copy.edges(True))

    # The next copy merges the write into the remembered order.
    again = asyncio.run(graph_copy(snapshot))
    assert again.revision == 2
    assert again.pairs == sorted(snapshot.pairs)
    assert [n["service_id"] for n in again.nodes()] == sorted(snapshot.services)
    assert ("a-new", "s001") in {(e["source"], e["target"]) for e in again.edges(False)}


def test_graph_copy_taken_while_the_first_sort_runs_is_of_its_revision(
    monkeypatch: Any,
) -> None:
    """The first sort of a snapshot's pairs awaits between slices of sources; a write
    in between must not leak into the copy being made."""
    monkeypatch.setattr(service, "_SOURCES_PER_SLICE", 10)
    pairs = random_pairs(500, 4)
    snapshot = snapshot_of(pairs)

    async def write_during_the_sort() -> service.GraphCopy:
        copying = asyncio.create_task(graph_copy(snapshot))
        await asyncio.sleep(0)  # the copy is taken, the sort is under way
        snapshot.apply(2, services("s000x"), [report("s000", "s000x"), report("s150", "zzz")])
        return await copying

    copy = asyncio.run(write_during_the_sort())
    assert copy.revision == 1 and copy.pairs == pairs
    assert [(e["source"], e["target"]) for e in copy.edges(True)] == pairs
    assert asyncio.run(graph_copy(snapshot)).pairs == sorted(snapshot.pairs)


def test_pages_read_the_fragment_cache_but_do_not_fill_it() -> None:
    pairs = random_pairs(300, 5)
    snapshot = snapshot_of(pairs)
    cached = sorted(snapshot.downstream_fresh)[0]
    target = sorted(snapshot.downstream_fresh[cached])[0]
    marker = b'{"source":"cached","marker":true}'
    snapshot.rendered_edges.put(((cached, target), False), marker)

    pages: list[bytes] = []
    cursor = None
    while cursor is not None or not pages:
        pages.append(graph_page(snapshot, include_stale=False, cursor=cursor, limit=17))
        cursor = orjson.loads(pages[-1])["next_cursor"]
    assert sum(marker in page for page in pages) == 1  # an encoded fragment is reused
    assert len(snapshot.rendered_edges) == 1  # and the walk added nothing
    walked = [edge for page in pages for edge in orjson.loads(page)["edges"]]
    assert len(walked) == len(pairs)
