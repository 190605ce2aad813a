"""Benchmark of the graph's history (change log, "as of" reads, diffs), in process.

For every engine this script

1. measures the change log's write overhead: the generated graph (bench/run.py
   `generate_microservices`, ~5 edges per service) is ingested in one request, in
   process, on fresh databases: as it is, and with `ChangeLog.record` replaced by a
   no-op coroutine (the reference, measured in the same run), three times each,
   alternating, and the medians compared;
2. applies a synthetic churn of `--days` "days" on the first database: each day changes
   1% of the edges (half retracted by a full sync of their callers, half with their criticality
   altered by a `merge` ingest that also adds as many new edges as were retracted, so
   the graph keeps its size), then rewrites `graph_revisions.committed_at` so that the
   writes of "day k" are k days before now. It reports the history's storage growth per
   day, the time to build the past graph `--days / 2` days ago (`PastGraphs`, the first
   request for it) and the depth-3 downstream `subgraph_answer` p50 over 200 random roots
   on that past snapshot against the live one (same roots);
3. times the diff between day 12 and day 10 (history/service.py `graph_diff`, what
   `GET /api/v1/graph/diff` calls).

It prints figures only and never asserts timings (targets of the issue noted beside).

    .venv/bin/python bench/history.py [--engines sqlite,postgresql] [--services 50000]
                                      [--days 30] [--quick] [--seed 42]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import PG_URL, Graph, _pg_admin, generate_microservices, log

from slo_engine.catalog.change_log import ChangeLog
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.history.service import graph_diff
from slo_engine.infra.db import Database
from slo_engine.infra.migrate import upgrade_database
from slo_engine.ingestion.schemas import IngestionRequest, ingestion_request
from slo_engine.ingestion.service import ingest
from slo_engine.live.as_of import PastGraphs
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings
from slo_engine.topology.service import Direction, SubgraphShape, subgraph_answer

SOURCE = "otel_service_graph"
ACTOR = "bench-history"
CHURN_SHARE = 0.01  # edges changed per day: half retracted, half altered
CRITICALITIES = ("hard", "soft", "degraded")
ROOTS = 200
SHAPE = SubgraphShape(Direction.DOWNSTREAM, 3, False, 10_000)
OVERHEAD_TARGET = 20.0  # % (issue)
RATIO_TARGET = 3.0  # past p50 / live p50 (issue)
DIFF_TARGET_S = 1.0  # (issue)


@contextlib.asynccontextmanager
async def database(engine: str) -> AsyncIterator[tuple[str, Path]]:
    """bench/run.py `database` for a running event loop: a fresh SQLite file or
    PostgreSQL database, removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="slo_history_"))
    try:
        if engine == "sqlite":
            yield f"sqlite+aiosqlite:///{workdir / 'bench.db'}", workdir
        elif engine == "postgresql":
            name = f"slo_history_{secrets.token_hex(4)}"
            await _pg_admin(f'CREATE DATABASE "{name}"')
            try:
                yield PG_URL.format(database=name), workdir
            finally:
                await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            raise SystemExit(f"unknown engine {engine!r}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def out(line: str) -> None:
    print(line, flush=True)


def full_request(graph: Graph) -> IngestionRequest:
    return ingestion_request(
        {
            "source": SOURCE,
            "nodes": graph.nodes,
            "edges": [
                {"source": s, "target": t, "attributes": a}
                for (s, t), a in zip(graph.edges, graph.attributes, strict=True)
            ],
        }
    )


async def open_database(url: str) -> tuple[Database, LiveGraph]:
    await asyncio.to_thread(upgrade_database, url)
    db = Database.from_settings(Settings(database_url=url))
    live = LiveGraph(db)
    await live.reload()
    return db, live


async def timed_ingest(db: Database, live: LiveGraph, request: IngestionRequest) -> float:
    started = time.perf_counter()
    async with db.session_scope() as session:
        await ingest(session, live, request, ACTOR)
    return time.perf_counter() - started


async def retract_batch(
    db: Database,
    live: LiveGraph,
    retracted: Sequence[tuple[str, str]],
    current: Sequence[tuple[str, str]],
    attributes: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """One write retracting the source's reports of `retracted`: a full sync
    (`mode: replace`) of their callers that lists every edge of theirs but those."""
    callers = {source for source, _ in retracted}
    gone = set(retracted)
    kept = [
        {"source": s, "target": t, "attributes": attributes[(s, t)]}
        for s, t in current
        if s in callers and (s, t) not in gone
    ]
    request = ingestion_request(
        {
            "source": SOURCE,
            "mode": "replace",
            "scope": {"services": sorted(callers)},
            "edges": kept,
        }
    )
    async with db.session_scope() as session:
        await ingest(session, live, request, ACTOR)


async def storage_bytes(db: Database, url: str) -> int:
    if db.dialect == "postgresql":
        async with db.session_scope(read_only=True) as session:
            result = await session.execute(text("SELECT pg_total_relation_size('graph_changes')"))
            return int(result.scalar_one())
    path = Path(url.split("///", 1)[1])
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


async def revision_now(db: Database) -> int:
    async with db.session_scope(read_only=True) as session:
        return await CatalogRepository(session).current_revision()


def p50_ms(snapshot: Any, roots: Sequence[str]) -> float:
    times = []
    for root in roots:
        started = time.perf_counter()
        subgraph_answer(snapshot, root, SHAPE)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# Each variant of the write-overhead figure is timed this many times, alternating, and
# the medians compared: one timing each moved the percentage by tens of points.
OVERHEAD_ROUNDS = 3


async def timed_variant(engine: str, graph: Graph, with_log: bool) -> float:
    """One ingest of the whole graph on a fresh database, with the change log or with
    `ChangeLog.record` a no-op."""
    request = full_request(graph)
    async with database(engine) as (url, _):
        db, live = await open_database(url)
        original = ChangeLog.record
        if not with_log:

            async def no_op(self: ChangeLog, changes: Sequence[Any]) -> None:
                return None

            ChangeLog.record = no_op  # type: ignore[method-assign]
        try:
            seconds = await timed_ingest(db, live, request)
        finally:
            ChangeLog.record = original  # type: ignore[method-assign]
            await db.dispose()
    log(f"{engine}: ingest {'with' if with_log else 'without'} change log: {seconds:.2f} s")
    return seconds


async def overhead(engine: str, graph: Graph) -> tuple[list[float], list[float]]:
    """Ingest times with the change log and without it, `OVERHEAD_ROUNDS` of each,
    alternating (so a slow spell of the machine falls on both)."""
    with_log: list[float] = []
    without_log: list[float] = []
    for _ in range(OVERHEAD_ROUNDS):
        with_log.append(await timed_variant(engine, graph, with_log=True))
        without_log.append(await timed_variant(engine, graph, with_log=False))
    return with_log, without_log


async def churn_and_read(engine: str, graph: Graph, days: int, seed: int) -> None:
    rng = random.Random(seed + 1)
    attributes = dict(zip(graph.edges, graph.attributes, strict=True))
    current = list(graph.edges)
    present = set(current)
    async with database(engine) as (url, _):
        db, live = await open_database(url)
        try:
            load_seconds = await timed_ingest(db, live, full_request(graph))
            log(f"{engine}: loaded the graph for the churn in {load_seconds:.1f} s")
            first_revision = await revision_now(db)
            size_before = await storage_bytes(db, url)
            # Revisions written on each day (the ingest and the retraction): oldest first.
            day_revisions: list[tuple[int, int]] = []
            per_day = max(2, round(len(current) * CHURN_SHARE))
            churn_started = time.perf_counter()
            for _ in range(days):
                picked = rng.sample(range(len(current)), per_day)
                retracted = [current[i] for i in picked[: per_day // 2]]
                altered = [current[i] for i in picked[per_day // 2 :]]
                added: list[tuple[str, str]] = []
                while len(added) < len(retracted):
                    pair = (rng.choice(graph.service_ids), rng.choice(graph.service_ids))
                    if pair[0] != pair[1] and pair not in present:
                        present.add(pair)
                        added.append(pair)
                        attributes[pair] = {"communication_mode": "sync", "protocol": "grpc"}
                for pair in altered:
                    attributes[pair] = {
                        **attributes[pair],
                        "criticality": rng.choice(CRITICALITIES),
                    }
                edges = [
                    {"source": s, "target": t, "attributes": attributes[(s, t)]}
                    for s, t in altered + added
                ]
                async with db.session_scope() as session:
                    await ingest(
                        session, live, ingestion_request({"source": SOURCE, "edges": edges}), ACTOR
                    )
                low = await revision_now(db)
                await retract_batch(db, live, retracted, current, attributes)
                high = await revision_now(db)
                day_revisions.append((low, high))
                gone = set(retracted)
                present -= gone
                current = [e for e in current if e not in gone] + added
            churn_seconds = time.perf_counter() - churn_started
            size_after = await storage_bytes(db, url)
            log(f"{engine}: {days} days of churn written in {churn_seconds:.1f} s")

            # A benchmark only: the churn ran in seconds, so the revisions' times are
            # rewritten to spread it over the past days. The last day written is "day 1"
            # (1 day ago), the first "day <days>"; the initial load is before day <days>.
            now = datetime.now(UTC)
            async with db.session_scope() as session:
                await session.execute(
                    text("UPDATE graph_revisions SET committed_at = :at WHERE revision <= :r"),
                    {"at": now - timedelta(days=days, hours=1), "r": first_revision},
                )
                for index, (low, high) in enumerate(day_revisions):
                    await session.execute(
                        text(
                            "UPDATE graph_revisions SET committed_at = :at "
                            "WHERE revision BETWEEN :low AND :high"
                        ),
                        {"at": now - timedelta(days=days - index), "low": low, "high": high},
                    )

            per_day_mb = (size_after - size_before) / days / 1e6
            what = "pg_total_relation_size('graph_changes')" if engine == "postgresql" else "file"
            out(
                f"{engine}: history storage: {per_day_mb:.2f} MB per day ({what}: "
                f"{size_before / 1e6:.1f} MB after the load, {size_after / 1e6:.1f} MB after "
                f"{days} days; {per_day} edges changed + {per_day // 2} added per day)"
            )

            ago = max(1, days // 2)
            past = PastGraphs(db, kept=2, retention_days=days + 30)
            started = time.perf_counter()
            revision = await past.revision_at(datetime.now(UTC) - timedelta(days=ago))
            snapshot = await past.snapshot(revision, live.snapshot)
            build = time.perf_counter() - started
            out(
                f"{engine}: past graph {ago} days ago (revision {revision}, "
                f"{len(snapshot.services)} services, {len(snapshot.pairs)} edge pairs): "
                f"first request {build:.2f} s"
            )

            live_snapshot = live.snapshot
            candidates = sorted(set(snapshot.services) & set(live_snapshot.services))
            roots = random.Random(seed + 2).sample(candidates, min(ROOTS, len(candidates)))
            past_p50 = p50_ms(snapshot, roots)
            live_p50 = p50_ms(live_snapshot, roots)
            ratio = past_p50 / live_p50 if live_p50 else float("nan")
            out(
                f"{engine}: depth-3 downstream subgraph p50 over {len(roots)} roots: past "
                f"{past_p50:.3f} ms, live {live_p50:.3f} ms, ratio {ratio:.2f}x "
                f"(target <= {RATIO_TARGET:.0f}x: {'met' if ratio <= RATIO_TARGET else 'missed'})"
            )

            old_day, new_day = (12, 10) if days >= 12 else (min(3, days), 1)
            # Day k is k days ago: the revision in force then (that day's last write).
            old_rev = day_revisions[days - old_day][1]
            new_rev = day_revisions[days - new_day][1]
            # What the HTTP route calls: the read of the change log and the comparison.
            started = time.perf_counter()
            await graph_diff(
                db,
                str(old_rev),
                str(new_rev),
                now=datetime.now(UTC),
                retention=timedelta(days=days + 30),
            )
            seconds = time.perf_counter() - started
            out(
                f"{engine}: diff day {old_day} -> day {new_day} (revisions {old_rev} -> "
                f"{new_rev}, history.service.graph_diff): {seconds:.3f} s (target <= "
                f"{DIFF_TARGET_S:.0f} s: {'met' if seconds <= DIFF_TARGET_S else 'missed'})"
            )
        finally:
            with contextlib.suppress(Exception):
                await live.stop_refreshing()
            await db.dispose()


async def run_engine(engine: str, services: int, days: int, seed: int) -> None:
    graph = generate_microservices(services, seed)
    out(f"## {engine}: {len(graph.service_ids)} services, {len(graph.edges)} edges, {days} days")
    with_log, without_log = await overhead(engine, graph)
    with_median, without_median = statistics.median(with_log), statistics.median(without_log)
    percent = (with_median / without_median - 1) * 100
    rounds = ", ".join(f"{w:.2f}/{n:.2f}" for w, n in zip(with_log, without_log, strict=True))
    out(
        f"{engine}: ingest in one request, median of {OVERHEAD_ROUNDS}: with change log "
        f"{with_median:.2f} s, without (ChangeLog.record a no-op) {without_median:.2f} s, "
        f"overhead {percent:.1f}% (target <= {OVERHEAD_TARGET:.0f}%: "
        f"{'met' if percent <= OVERHEAD_TARGET else 'missed'}; rounds with/without: {rounds})"
    )
    await churn_and_read(engine, graph, days, seed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--services", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="10,000 services, 5 days")
    args = parser.parse_args()
    services, days = (10_000, 5) if args.quick else (args.services, args.days)
    started = time.perf_counter()
    for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
        asyncio.run(run_engine(engine, services, days, args.seed))
    out(f"total: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
