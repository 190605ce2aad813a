"""Scale tier of slo-engine: 200,000 services / ~1,000,000 edges on PostgreSQL, one worker.

Run: `.venv/bin/python bench/scale.py` (`make bench-scale`); `--services` to change the
size. It starts `slo-cli serve` (API_WORKERS=1, auth on) on a fresh PostgreSQL
database, ingests the generated graph through the API, and prints, each against its
target: the ingestion time, the server's RSS after ingest and after the queries, the
depth-3 p50 over 200 random roots (one client; every answer checked against networkx),
and the time of a full cycle scan (`slo-cli jobs run cycle-scan`, a process of its own
that loads the graph from the database and scans it). Bounded: one server, one
database, both removed at the end.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/ is not a package: its modules import each other from their folder.
from run import (
    BIN,
    Server,
    check_answer,
    database,
    fmt,
    generate_microservices,
    ingest,
    ingest_bodies,
    log,
    summary,
    timed_get,
)

TARGETS = {"ingest_s": 60.0, "rss_mb": 1024.0, "depth3_p50_ratio": 1.5}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=200_000)
    parser.add_argument("--roots", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk-edges", type=int, default=40_000)
    parser.add_argument(
        "--depth3-p50-at-50k",
        type=float,
        default=None,
        help="The 50,000-service depth-3 p50 (ms) to compare with (make bench gives it).",
    )
    args = parser.parse_args()

    graph = generate_microservices(args.services, args.seed)
    log(f"graph: {len(graph.service_ids):,} services, {len(graph.edges):,} edges")
    with database("postgresql") as (database_url, workdir):
        server = Server(
            database_url,
            workdir,
            name="scale",
            env={"API_WORKERS": "1", "SCHEDULER_ENABLED": "false"},
        )
        server.start()
        try:
            key = server.create_api_key("scale")
            with httpx.Client(
                base_url=server.base_url, headers={"X-API-Key": key}, timeout=600
            ) as client:
                ingested = ingest(client, ingest_bodies(graph, args.chunk_edges, 10**9))
                after_ingest = server.memory_mb()
                digraph = graph.digraph()
                roots = random.Random(args.seed).sample(graph.service_ids, args.roots)
                times = []
                for root in roots:
                    url = f"/api/v1/services/{root}/dependencies?direction=downstream&depth=3"
                    elapsed, body = timed_get(client, url)
                    check_answer(orjson.loads(body), digraph, root, 3, upstream=False)
                    times.append(elapsed)
                depth3 = summary(times)
                after_queries = server.memory_mb()
        finally:
            server.stop()
        started = time.perf_counter()
        subprocess.run(
            [str(BIN / "slo-cli"), "jobs", "run", "cycle-scan"],
            env=server.env,
            cwd=workdir,
            check=True,
            capture_output=True,
            timeout=1800,
        )
        cycle_scan_s = time.perf_counter() - started

    rows = [
        ("ingest (s)", ingested["seconds"], f"<= {TARGETS['ingest_s']:g} s"),
        ("edges / s", ingested["edges_per_second"], "-"),
        ("RSS after ingest (MB)", after_ingest["VmRSS"], f"<= {TARGETS['rss_mb']:g}"),
        ("RSS after queries (MB)", after_queries["VmRSS"], f"<= {TARGETS['rss_mb']:g}"),
        ("peak RSS (MB)", after_queries["VmHWM"], "-"),
        ("depth-3 p50 (ms)", depth3["p50"], "<= 1.5x the 50,000 figure"),
        ("depth-3 p99 (ms)", depth3["p99"], "-"),
        ("cycle scan, own process (s)", cycle_scan_s, "-"),
    ]
    print(
        f"\nscale tier: {len(graph.service_ids):,} services, {len(graph.edges):,} edges, "
        "PostgreSQL, API_WORKERS=1"
    )
    print("| figure | value | target |\n|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {fmt(value)} | {target} |")
    if args.depth3_p50_at_50k:
        ratio = depth3["p50"] / args.depth3_p50_at_50k
        print(f"| depth-3 p50 / 50,000 p50 | {ratio:.2f}x | <= 1.5x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
