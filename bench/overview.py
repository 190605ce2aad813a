"""A small probe of GET /api/v1/graph/overview (docs/performance.md, "The graph overview").

Ingests a generated graph (bench/run.py `generate_microservices`) into a fresh SQLite
database through the API of an in-process app, then asks the overview by team, without
and with expanded groups, with the answer cache off (QUERY_CACHE=off: every answer is
computed), and prints the time per answer (median and worst of the runs, HTTP handling
in process included) and the answer's size.

    .venv/bin/python bench/overview.py --services 5000 --runs 20
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import generate_microservices

from slo_engine.app import create_app
from slo_engine.infra.migrate import upgrade_database
from slo_engine.settings import Settings

OVERVIEW = "/api/v1/graph/overview"


def probe(client: TestClient, params: list[tuple[str, str]], runs: int) -> dict[str, Any]:
    times = []
    body = b""
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(OVERVIEW, params=params)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        body = response.content
    answer = response.json()
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "bytes": len(body),
        "gzip_bytes": len(gzip.compress(body)),
        "groups": len(answer["groups"]),
        "nodes": len(answer["nodes"]),
        "edges": len(answer["edges"]),
        "truncated": answer["truncated"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    arguments = parser.parse_args()

    graph = generate_microservices(arguments.services, arguments.seed)
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{directory}/overview.db"
        upgrade_database(url)
        settings = Settings(
            database_url=url,
            auth_enabled=False,
            query_cache="off",
            max_request_body_bytes=64 * 1024 * 1024,
            rate_limit_query="100000000/minute",
            rate_limit_ingestion="100000000/minute",
        )
        with TestClient(create_app(settings)) as client:
            edges = [
                {"source": s, "target": t, "attributes": a}
                for (s, t), a in zip(graph.edges, graph.attributes, strict=True)
            ]
            written = client.post(
                "/api/v1/services/dependencies",
                json={"source": "manual", "nodes": graph.nodes, "edges": edges},
            )
            assert written.status_code == 200, written.text
            collapsed = client.get(OVERVIEW).json()
            largest = [group["id"] for group in collapsed["groups"][:3]]
            print(f"graph: {graph.name} services/edges; largest groups: {largest}")
            cases = {
                "group_by=team": [],
                "group_by=team, 2 teams expanded": [("expand", g) for g in largest[1:3]],
                "group_by=team, `(no team)` expanded": [("expand", largest[0])],
                "group_by=namespace": [("group_by", "namespace")],
            }
            for name, params in cases.items():
                print(f"{name}: {probe(client, params, arguments.runs)}")


if __name__ == "__main__":
    main()
