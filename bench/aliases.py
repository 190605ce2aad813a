"""Benchmark of aliases (docs/identity.md#aliases), in process, on SQLite.

1. **Ingestion through aliases.** The generated graph (bench/run.py
   `generate_microservices`) ingested in one request on a fresh database, as it is (the
   reference) and with an alias table in force: `--exact` exact aliases and `--rules`
   RE2 rules, none of which matches the graph's names (every name is looked up and
   tried against every rule, the most a table costs), alternating, `ROUNDS` times
   each; the medians compared.
2. **A merge and its undoing.** On the ingested graph, a second source reports a tenth
   of the services under other names (`svc-00042.shop`); one rule (`(.+)\\.shop` ->
   `\\1`) merges them, and deleting it undoes the merge: the time of each, and what it
   moved.

It prints figures only and never asserts timings.

    .venv/bin/python bench/aliases.py [--services 10000] [--exact 5000] [--rules 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from history import database, full_request, open_database, out, timed_ingest
from run import generate_microservices, log

from slo_engine.aliases.service import AliasSpec, add_alias, delete_alias
from slo_engine.catalog.alias_repository import API_ORIGIN, Alias, AliasRepository
from slo_engine.ingestion.schemas import ingestion_request
from slo_engine.ingestion.service import ingest

ROUNDS = 3
ACTOR = "bench-aliases"


async def ingest_with_aliases(services: int, exact: int, rules: int, with_aliases: bool) -> float:
    graph = generate_microservices(services, seed=42)
    request = full_request(graph)
    async with database("sqlite") as (url, _):
        db, live = await open_database(url)
        try:
            if with_aliases:
                specs = [
                    AliasSpec(alias=f"legacy-{i}", service_id=f"svc-{i:05d}") for i in range(exact)
                ] + [
                    AliasSpec(pattern=rf"(?P<app>[a-z]+)-{i}\.old", replacement=r"\g<app>")
                    for i in range(rules)
                ]
                async with db.session_scope() as session:
                    await AliasRepository(session).add_many(
                        [_stored(spec, index) for index, spec in enumerate(specs)]
                    )
            seconds = await timed_ingest(db, live, request)
        finally:
            await db.dispose()
    log(f"ingest {'with' if with_aliases else 'without'} aliases: {seconds:.2f} s")
    return seconds


def _stored(spec: AliasSpec, position: int) -> Alias:
    """An alias as the API would store it (the bench writes them in one go)."""
    return Alias(
        id=uuid.uuid4(),
        position=position,
        origin=API_ORIGIN,
        created_at=datetime.now(UTC),
        created_by=ACTOR,
        discovery_source=None,
        alias=spec.alias,
        service_id=spec.service_id,
        pattern=spec.pattern,
        replacement=spec.replacement,
    )


async def merge_and_undo(services: int) -> None:
    graph = generate_microservices(services, seed=42)
    renamed = set(graph.service_ids[: services // 10])
    mesh_edges = [
        {
            "source": f"{s}.shop" if s in renamed else s,
            "target": f"{t}.shop" if t in renamed else t,
        }
        for s, t in graph.edges
        if s in renamed or t in renamed
    ]
    async with database("sqlite") as (url, _):
        db, live = await open_database(url)
        try:
            await timed_ingest(db, live, full_request(graph))
            async with db.session_scope() as session:
                await ingest(
                    session,
                    live,
                    ingestion_request({"source": "service_mesh", "edges": mesh_edges}),
                    ACTOR,
                )
            rule = AliasSpec(pattern=r"(.+)\.shop", replacement=r"\1")
            started = time.perf_counter()
            async with db.session_scope() as session:
                alias, merged = await add_alias(session, live, rule, ACTOR)
            merge_s = time.perf_counter() - started
            started = time.perf_counter()
            async with db.session_scope() as session:
                undone = await delete_alias(session, live, alias.id, ACTOR)
            undo_s = time.perf_counter() - started
        finally:
            await db.dispose()
    out(
        f"merge: {len(renamed):,} services named otherwise by the mesh "
        f"({len(mesh_edges):,} edge reports): adding the rule took {merge_s:.2f} s "
        f"({merged.edges_moved:,} reports moved, {merged.services_counts['merged']:,} services "
        f"merged); deleting it took {undo_s:.2f} s ({undone.edges_moved:,} moved back)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--exact", type=int, default=5_000)
    parser.add_argument("--rules", type=int, default=50)
    args = parser.parse_args()
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(ROUNDS):
        for with_aliases in (False, True):
            times[with_aliases].append(
                await ingest_with_aliases(args.services, args.exact, args.rules, with_aliases)
            )
    plain, aliased = statistics.median(times[False]), statistics.median(times[True])
    graph = generate_microservices(args.services, seed=42)
    out(
        f"ingest of {args.services:,} services / {len(graph.edges):,} edges, one request, "
        f"SQLite, medians of {ROUNDS}: {plain:.2f} s without aliases, {aliased:.2f} s with "
        f"{args.exact:,} exact aliases and {args.rules} rules ({(aliased / plain - 1) * 100:+.1f}%)"
    )
    await merge_and_undo(args.services)


if __name__ == "__main__":
    asyncio.run(main())
