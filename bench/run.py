"""End-to-end benchmark of slo-engine: ingest and subgraph queries through the real server.

For every (engine, size) pair this script

1. generates a synthetic microservice graph, deterministically from `--seed`: layered,
   heavy-tailed fan-in (Zipf-weighted targets: a few hubs are called by many), ~0.1% back
   edges closing cycles, average out-degree 5, about 30% of the services declared with a
   team and a criticality (the others only named by edges, i.e. discovered; services
   without any edge are always declared);
2. starts the real server (`slo-cli db upgrade`, `slo-cli serve`) on a fresh database
   (a SQLite file in a temporary directory, or a fresh PostgreSQL database that is dropped
   afterwards) and waits for `/api/v1/health/ready`;
3. ingests the graph through `POST /api/v1/services/dependencies` in as few requests as
   the body-size limit allows, and times it;
4. times `GET /api/v1/services/{id}/dependencies` sequentially with one persistent HTTP
   client for `--roots` seeded random roots: depth 3 and 10 downstream, depth 10 upstream;
   every answer is checked against networkx (nodes, depths, edges, truncation) and a wrong
   answer stops the benchmark;
5. times the same traversals in process with networkx as a reference;
6. ingests a layered "fan-out 6" graph (11 layers, each node calling all 6 nodes of the
   next: 6^10 paths from the top) under distinct ids and times depth 10 from its top;
7. reads the server's RSS after ingest and after the queries;
8. per engine, times the same small query through servers that differ only in access
   control (no key check, key check, key check plus the Redis rate limiter);
9. per engine, times repeated depth-3 and depth-10 queries through servers that differ
   only in the answer cache (off, in process, Redis).

It prints a markdown table with the targets of the issue marked met / missed, and writes
it to bench/results/latest.md (raw figures in bench/results/latest.json).

    .venv/bin/python bench/run.py [--sizes 5000,50000] [--engines sqlite,postgresql]
                                  [--roots 200] [--seed 42] [--time-limit 3600]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import ctypes
import gc
import hashlib
import itertools
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import networkx as nx
import orjson

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT / "bench" / "results"
BIN = Path(sys.executable).parent  # .venv/bin when run as .venv/bin/python
API = "/api/v1"
INGEST_PATH = f"{API}/services/dependencies"
DEFAULT_BODY_LIMIT = 16 * 1024 * 1024
MAX_NODES = 10_000  # the service's default `max_nodes`; the benchmark uses the default
AVG_OUT_DEGREE = 5
LAYERS = 10
BACK_EDGE_SHARE = 0.001
DECLARED_SHARE = 0.3
ZIPF_ALPHA = 1.0
# Hop from a service's layer to its callee's: +1 mostly, sometimes skipping layers.
HOP_WEIGHTS = ((1, 0.6), (2, 0.25), (3, 0.15))
# Relative layer sizes: few gateways at the top, a wide middle, shared services below.
LAYER_SHAPE = (0.4, 0.7, 1.0, 1.2, 1.3, 1.3, 1.2, 1.1, 1.0, 0.8)
FANOUT = 6
FANOUT_LAYERS = 11
TEAMS = tuple(f"team-{i:02d}" for i in range(40))
CRITICALITIES = ("critical", "high", "medium", "low")
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Clients asking the heaviest blast radius at once while /health is timed (issue 11).
LOOP_STALL_CLIENTS = 2
LOOP_STALL_P99_MS = 100.0
UNLIMITED = "100000000/minute"
REDIS_URL = os.environ.get("SLO_ENGINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"


class BenchError(Exception):
    """The benchmark cannot go on: a failed request, a wrong answer, a dead server."""


class BenchTimeoutError(BenchError):
    """The whole run went over `--time-limit`."""


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# The synthetic graphs
# --------------------------------------------------------------------------------------


@dataclass
class Graph:
    name: str
    nodes: list[dict[str, Any]]  # declared nodes, in the ingest format
    edges: list[tuple[str, str]]
    attributes: list[dict[str, Any]]  # one per edge
    service_ids: list[str]
    layer_of: dict[str, int] = field(default_factory=dict)

    def digraph(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        graph.add_nodes_from(self.service_ids)
        graph.add_edges_from(self.edges)
        return graph


def _layer_sizes(n: int, layers: int) -> list[int]:
    shape = [LAYER_SHAPE[round(i * (len(LAYER_SHAPE) - 1) / (layers - 1))] for i in range(layers)]
    total = sum(shape)
    sizes = [max(1, int(n * s / total)) for s in shape]
    sizes[len(sizes) // 2] += n - sum(sizes)
    return sizes


def _edge_attributes(rng: random.Random) -> dict[str, Any]:
    sync = rng.random() < 0.8
    return {
        "communication_mode": "sync" if sync else "async",
        "protocol": rng.choice(("grpc", "http")) if sync else "kafka",
        "request_rate": round(rng.lognormvariate(2.0, 1.5), 3),
        "error_rate": round(rng.random() * 0.02, 5),
        "latency_p95_ms": round(rng.lognormvariate(3.0, 0.8), 2),
    }


def generate_microservices(n: int, seed: int, layers: int = LAYERS) -> Graph:
    """A layered service graph with `n` services and `AVG_OUT_DEGREE * n` distinct edges.

    Callers are drawn uniformly from the services above the last layer; callees from a
    layer 1-3 below, with Zipf weights inside the layer (heavy-tailed fan-in). A share
    `BACK_EDGE_SHARE` of the edges goes back up to a shallower layer, closing cycles.
    """
    rng = random.Random(seed)
    order = list(range(n))
    rng.shuffle(order)  # ids do not reveal the layer
    service_ids = [f"svc-{i:05d}" for i in order]
    members: list[list[str]] = []
    start = 0
    for size in _layer_sizes(n, layers):
        members.append(service_ids[start : start + size])
        start += size
    layer_of = {sid: layer for layer, ids in enumerate(members) for sid in ids}
    cumulative: list[list[float]] = []
    for ids in members:  # rank r (random order) gets weight 1 / (r + 1)^alpha
        weights = [1.0 / (rank + 1) ** ZIPF_ALPHA for rank in range(len(ids))]
        cumulative.append(list(itertools.accumulate(weights)))
    callers = [sid for ids in members[:-1] for sid in ids]
    hops = [hop for hop, _ in HOP_WEIGHTS]
    hop_cumulative = list(itertools.accumulate(w for _, w in HOP_WEIGHTS))

    total_edges = n * AVG_OUT_DEGREE
    back_edges = max(1, round(total_edges * BACK_EDGE_SHARE))
    edges: dict[tuple[str, str], None] = {}  # insertion-ordered set: deterministic
    while len(edges) < total_edges - back_edges:
        source = callers[int(rng.random() * len(callers))]
        hop = rng.choices(hops, cum_weights=hop_cumulative)[0]
        layer = min(layer_of[source] + hop, layers - 1)
        weights = cumulative[layer]
        index = bisect.bisect_left(weights, rng.random() * weights[-1])
        edges.setdefault((source, members[layer][min(index, len(weights) - 1)]))
    deep = [sid for ids in members[1:] for sid in ids]
    while len(edges) < total_edges:
        source = rng.choice(deep)
        target = rng.choice(members[rng.randrange(layer_of[source])])
        edges.setdefault((source, target))

    named = {sid for edge in edges for sid in edge}
    nodes = []
    for sid in service_ids:
        # Services named by no edge are declared too, or they would not exist at all.
        if rng.random() < DECLARED_SHARE or sid not in named:
            nodes.append(
                {
                    "service_id": sid,
                    "display_name": f"Service {sid[4:]}",
                    "team": rng.choice(TEAMS),
                    "criticality": rng.choice(CRITICALITIES),
                    "metadata": {"layer": layer_of[sid]},
                }
            )
    edge_list = list(edges)
    attributes = [_edge_attributes(rng) for _ in edge_list]
    return Graph(
        f"{n}/{len(edge_list)}", nodes, edge_list, attributes, service_ids, layer_of=layer_of
    )


def fanout_id(layer: int, index: int) -> str:
    return f"fan6-{layer:02d}-{index}"


def generate_fanout() -> Graph:
    """One top node, then `FANOUT_LAYERS - 1` layers of `FANOUT` nodes; every node calls
    every node of the next layer: FANOUT^10 paths from the top, 61 nodes, 330 edges."""
    layers = [[fanout_id(0, 0)]] + [
        [fanout_id(layer, i) for i in range(FANOUT)] for layer in range(1, FANOUT_LAYERS)
    ]
    edges = [(s, t) for upper, lower in itertools.pairwise(layers) for s in upper for t in lower]
    service_ids = [sid for layer in layers for sid in layer]
    nodes = [{"service_id": layers[0][0], "team": "bench", "criticality": "high"}]
    attributes = [{"communication_mode": "sync", "protocol": "grpc"} for _ in edges]
    layer_of = {sid: i for i, layer in enumerate(layers) for sid in layer}
    return Graph("fan-out 6", nodes, edges, attributes, service_ids, layer_of=layer_of)


# --------------------------------------------------------------------------------------
# The reference (networkx) and the answer check
# --------------------------------------------------------------------------------------


def reference_walk(
    graph: nx.DiGraph, root: str, depth: int, upstream: bool
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Distances (root at 0) and contract edges, the way the brief asks networkx for them.

    `graph` is the reversed graph when `upstream`; edges come back in call direction.
    """
    distances = nx.single_source_shortest_path_length(graph, root, cutoff=depth)
    adjacency = graph.adj
    if upstream:
        edges = [(v, u) for u, d in distances.items() if d < depth for v in adjacency[u]]
    else:
        edges = [(u, v) for u, d in distances.items() if d < depth for v in adjacency[u]]
    return distances, edges


def expected_answer(
    graph: nx.DiGraph, root: str, depth: int, upstream: bool, max_nodes: int
) -> tuple[dict[str, int], set[tuple[str, str]], bool]:
    """The contract's answer: nodes 1..depth away, edges, truncation to `max_nodes`."""
    distances, edges = reference_walk(graph, root, depth, upstream)
    depths = {node: d for node, d in distances.items() if node != root}
    truncated = len(depths) > max_nodes
    if truncated:
        kept = sorted(depths.items(), key=lambda item: (item[1], item[0]))[:max_nodes]
        depths = dict(kept)
        inside = {root, *depths}
        edges = [(s, t) for s, t in edges if s in inside and t in inside]
    return depths, set(edges), truncated


def check_answer(
    answer: dict[str, Any],
    graph: nx.DiGraph,
    root: str,
    depth: int,
    upstream: bool,
    max_nodes: int = MAX_NODES,
) -> None:
    """Raise BenchError unless `answer` is exactly the contract's answer."""
    depths, edges, truncated = expected_answer(graph, root, depth, upstream, max_nodes)
    where = f"root {root}, depth {depth}, {'upstream' if upstream else 'downstream'}"
    if answer["service"]["service_id"] != root:
        raise BenchError(f"{where}: answer is about {answer['service']['service_id']}")
    got_depths = {node["service_id"]: node["depth"] for node in answer["nodes"]}
    if len(got_depths) != len(answer["nodes"]):
        raise BenchError(f"{where}: a node is listed twice")
    if got_depths != depths:
        missing = sorted(set(depths) - set(got_depths))[:5]
        extra = sorted(set(got_depths) - set(depths))[:5]
        wrong = sorted(
            (n, got_depths[n], depths[n])
            for n in set(depths) & set(got_depths)
            if got_depths[n] != depths[n]
        )[:5]
        raise BenchError(
            f"{where}: node set differs from networkx: {len(got_depths)} nodes vs "
            f"{len(depths)}; missing {missing}, extra {extra}, wrong depth {wrong}"
        )
    got_edges = [(e["source"], e["target"]) for e in answer["edges"]]
    if len(set(got_edges)) != len(got_edges):
        raise BenchError(f"{where}: an edge is listed twice")
    if set(got_edges) != edges:
        missing_edges = sorted(edges - set(got_edges))[:5]
        extra_edges = sorted(set(got_edges) - edges)[:5]
        raise BenchError(
            f"{where}: edge set differs from networkx: {len(got_edges)} vs {len(edges)}; "
            f"missing {missing_edges}, extra {extra_edges}"
        )
    stats = answer["statistics"]
    if (stats["total_nodes"], stats["total_edges"], stats["truncated"]) != (
        len(depths),
        len(edges),
        truncated,
    ):
        raise BenchError(f"{where}: statistics {stats} do not match the answer")
    if stats["max_depth_reached"] != max(depths.values(), default=0):
        raise BenchError(f"{where}: max_depth_reached {stats['max_depth_reached']} is wrong")
    for edge in answer["edges"][:1]:
        if edge["discovery_sources"] != ["otel_service_graph"] or edge["is_stale"]:
            raise BenchError(f"{where}: unexpected edge {edge}")


# --------------------------------------------------------------------------------------
# Statistics and formatting
# --------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(times_ms: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(times_ms, 50),
        "p99": percentile(times_ms, 99),
        "max": max(times_ms),
        "mean": sum(times_ms) / len(times_ms),
        "n": len(times_ms),
    }


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


# --------------------------------------------------------------------------------------
# The server under test
# --------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the benchmark dies (even by SIGKILL)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """`slo-cli serve` on a free port of 127.0.0.1, against `database_url`."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *,
        name: str = "server",
        env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            # The benchmark measures the graph, not the limiter: limits it never reaches.
            "RATE_LIMIT_INGESTION": UNLIMITED,
            "RATE_LIMIT_QUERY": UNLIMITED,
            **(env or {}),
        }

    def _cli(self, *args: str, timeout: float) -> str:
        """Run `slo-cli ARGS` against this server's database; its stdout."""
        done = subprocess.run(
            [str(BIN / "slo-cli"), *args],
            env=self.env,
            cwd=self.workdir,  # no stray .env from the checkout
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"slo-cli {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def create_api_key(self, name: str) -> str:
        """An admin key made with `slo-cli api-keys create`, as an operator would."""
        created = self._cli(
            "api-keys", "create", "--name", name, "--scope", "admin", "--json", timeout=60
        )
        return str(orjson.loads(created)["key"])

    def start(self) -> None:
        self._cli("db", "upgrade", timeout=180)
        with self.log_path.open("wb") as server_log:
            self.process = subprocess.Popen(
                [str(BIN / "slo-cli"), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                cwd=self.workdir,  # no stray .env from the checkout
                stdout=server_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads here
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"the server exited ({self.process.returncode}):\n{self.tail()}")
            try:
                if httpx.get(f"{self.base_url}{API}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise BenchError(f"the server was not ready within 60 s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def memory_mb(self) -> dict[str, float]:
        """VmRSS and VmHWM (peak RSS) of the server process, in MB."""
        assert self.process is not None
        figures = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                figures[key] = int(value.split()[0]) / 1024
        return figures

    def alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise BenchError(f"the server died:\n{self.tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            log("the server did not stop on SIGINT within 20 s; killing it")
            # Its whole process group (its own session): uvicorn's workers too.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


async def _pg_admin(statement: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def database(engine: str) -> Iterator[tuple[str, Path]]:
    """A fresh database (URL) and a scratch directory, both removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="slo_bench_"))
    try:
        if engine == "sqlite":
            yield f"sqlite+aiosqlite:///{workdir / 'bench.db'}", workdir
        elif engine == "postgresql":
            name = f"slo_bench_{secrets.token_hex(4)}"
            asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
            try:
                yield PG_URL.format(database=name), workdir
            finally:
                asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                log(f"dropped database {name}")
        else:
            raise BenchError(f"unknown engine {engine!r}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------------------
# The measurements
# --------------------------------------------------------------------------------------


def ingest_bodies(graph: Graph, chunk_edges: int, limit: int) -> list[tuple[bytes, int]]:
    """Pre-encoded request bodies (with their edge count): the declared nodes go in the
    first; each holds at most `chunk_edges` edges and at most `limit` bytes."""
    edges = [
        {"source": s, "target": t, "attributes": a}
        for (s, t), a in zip(graph.edges, graph.attributes, strict=True)
    ]
    bodies = []
    start = 0
    while start < len(edges) or not bodies:
        size = chunk_edges
        while True:
            part = edges[start : start + size]
            document = {
                "source": "otel_service_graph",
                "nodes": [] if bodies else graph.nodes,
                "edges": part,
            }
            body = orjson.dumps(document)
            if len(body) <= limit:
                break
            if size == 1:
                raise BenchError("one edge does not fit in the body-size limit")
            size = max(1, size // 2)
        bodies.append((body, len(part)))
        start += len(part)
    return bodies


def ingest(client: httpx.Client, bodies: list[tuple[bytes, int]]) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    requests = []
    cycles = 0
    edges_upserted = 0
    revision = 0
    started = time.perf_counter()
    for body, edge_count in bodies:
        t0 = time.perf_counter()
        response = client.post(INGEST_PATH, content=body, headers=headers)
        elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            raise BenchError(f"ingest failed: {response.status_code} {response.text[:2000]}")
        result = response.json()
        if result["edges_upserted"] != edge_count:
            raise BenchError(f"sent {edge_count} edges, {result['edges_upserted']} upserted")
        edges_upserted += result["edges_upserted"]
        revision = max(revision, result["revision"])
        cycles += len(result["circular_dependencies_detected"])
        requests.append(
            {
                "edges": edge_count,
                "bytes": len(body),
                "seconds": elapsed,
                "cycles": len(result["circular_dependencies_detected"]),
                "warnings": len(result["warnings"]),
            }
        )
        log(
            f"  ingest request {len(requests)}/{len(bodies)}: {edge_count} edges, "
            f"{len(body) / 1e6:.1f} MB, {elapsed:.2f} s"
        )
    total = time.perf_counter() - started
    return {
        "seconds": total,
        "revision": revision,
        "edges": edges_upserted,
        "edges_per_second": edges_upserted / total,
        "requests": requests,
        "cycles_detected": cycles,
    }


def timed_get(client: httpx.Client, url: str) -> tuple[float, bytes]:
    """One GET, timed in ms with the benchmark's own garbage collector held off."""
    gc.disable()  # no pause of the benchmark's own big heap inside the timed window
    try:
        t0 = time.perf_counter()
        response = client.get(url)
        body = response.content
        elapsed = (time.perf_counter() - t0) * 1000
    finally:
        gc.enable()
    if response.status_code != 200:
        raise BenchError(f"GET {url}: {response.status_code} {response.text[:2000]}")
    return elapsed, body


def time_queries(
    client: httpx.Client,
    roots: list[str],
    depth: int,
    direction: str,
    check: Callable[[dict[str, Any], str], None],
) -> dict[str, Any]:
    """Sequential timed GETs, each answer checked (outside the timed window)."""
    times = []
    samples = []
    for root in roots:
        url = f"{API}/services/{root}/dependencies?depth={depth}&direction={direction}"
        elapsed, body = timed_get(client, url)
        answer = orjson.loads(body)
        check(answer, root)
        times.append(elapsed)
        stats = answer["statistics"]
        samples.append(
            {
                "root": root,
                "ms": elapsed,
                "nodes": stats["total_nodes"],
                "edges": stats["total_edges"],
                "bytes": len(body),
                "truncated": stats["truncated"],
            }
        )
    nodes = [s["nodes"] for s in samples]
    return {
        **summary(times),
        "nodes_p50": percentile(nodes, 50),
        "nodes_max": max(nodes),
        "edges_p50": percentile([s["edges"] for s in samples], 50),
        "edges_max": max(s["edges"] for s in samples),
        "bytes_max": max(s["bytes"] for s in samples),
        "truncated": sum(s["truncated"] for s in samples),
        "slowest": sorted(samples, key=lambda s: -s["ms"])[:3],
        "times_ms": [round(t, 3) for t in times],
    }


def sync_graph(graph: Graph) -> nx.DiGraph:
    """The edges a caller cannot work without: the benchmark declares no criticality,
    so every sync edge counts (docs/insights.md), each with its error rate."""
    needed = nx.DiGraph()
    needed.add_nodes_from(graph.service_ids)
    for (source, target), attributes in zip(graph.edges, graph.attributes, strict=True):
        if attributes["communication_mode"] == "sync":
            needed.add_edge(source, target, error_rate=attributes["error_rate"])
    return needed


def check_impact(answer: dict[str, Any], needed_up: nx.DiGraph, root: str) -> None:
    """Down is exact: whoever reaches the root within 10 hops of needed edges."""
    hops = nx.single_source_shortest_path_length(needed_up, root, cutoff=10)
    down = {a["service_id"]: a["distance"] for a in answer["affected"] if a["impact"] == "down"}
    expected = {node: d for node, d in hops.items() if node != root}
    if answer["totals"]["down"] != len(expected):
        raise BenchError(
            f"impact of {root}: {answer['totals']['down']} down, networkx says {len(expected)}"
        )
    # A truncated list holds the closest down services (the list is worst hit first).
    if any(expected.get(node) != distance for node, distance in down.items()) or (
        not answer["truncated"] and len(down) != len(expected)
    ):
        raise BenchError(f"impact of {root}: the listed down services differ from networkx")


def check_availability(answer: dict[str, Any], needed: nx.DiGraph, root: str) -> None:
    """The counted services and the product are exact (default target 0.999 each)."""
    counted = {root} | nx.descendants(needed, root)
    if {t["service_id"] for t in answer["terms"]} != counted:
        raise BenchError(f"availability of {root}: counted services differ from networkx")
    product = 1.0
    for node in counted:
        worst = min(
            (
                1.0 - needed.edges[s, node]["error_rate"]
                for s in needed.predecessors(node)
                if s in counted
            ),
            default=1.0,
        )
        product *= min(0.999, worst)
    if not math.isclose(answer["ceiling"], product, rel_tol=1e-9, abs_tol=1e-300):
        raise BenchError(f"availability of {root}: {answer['ceiling']} != {product}")


def time_insight(
    client: httpx.Client,
    roots: list[str],
    path: str,
    check: Callable[[dict[str, Any], str], None],
    size_of: Callable[[dict[str, Any]], int],
) -> dict[str, Any]:
    """Sequential timed GETs of /services/{root}/{path}, each answer checked."""
    times = []
    sizes = []
    largest, largest_root = 0, roots[0]
    for root in roots:
        elapsed, body = timed_get(client, f"{API}/services/{root}/{path}")
        answer = orjson.loads(body)
        check(answer, root)
        times.append(elapsed)
        sizes.append(size_of(answer))
        if len(body) > largest:
            largest, largest_root = len(body), root
    return {
        **summary(times),
        "size_p50": percentile(sizes, 50),
        "size_max": max(sizes),
        "bytes_max": largest,
        "largest_root": largest_root,
    }


def health_latencies(client: httpx.Client, seconds: float) -> list[float]:
    """Sequential GETs of /health (the server's own floor) for `seconds`, in ms."""
    times = []
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        t0 = time.perf_counter()
        if client.get(f"{API}/health").status_code != 200:
            raise BenchError("health did not answer 200")
        times.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.005)
    return times


def time_loop_stall(
    base_url: str, key: str, heavy_path: str, clients: int, seconds: float
) -> dict[str, Any]:
    """What the heaviest insight answers cost everyone else: /health latency alone (the
    reference), then while `clients` threads each ask `heavy_path` again and again
    (issue 11: two such clients once held the event loop ~0.4 s per answer)."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, timeout=120) as probe:
        idle = health_latencies(probe, seconds / 2)
        stop = threading.Event()
        heavy_times: list[float] = []
        failures: list[str] = []

        def ask_again() -> None:
            with httpx.Client(base_url=base_url, timeout=120, headers=headers) as client:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    response = client.get(heavy_path)
                    if response.status_code != 200:
                        failures.append(f"GET {heavy_path}: {response.status_code}")
                        stop.set()
                        return
                    heavy_times.append((time.perf_counter() - t0) * 1000)

        threads = [threading.Thread(target=ask_again, daemon=True) for _ in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # both heavy requests under way
        busy = health_latencies(probe, seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    if failures:
        raise BenchError(f"the heavy clients failed: {failures[0]}")
    return {
        "path": heavy_path,
        "clients": clients,
        "idle": summary(idle),
        "busy": summary(busy),
        "heavy": summary(heavy_times) if heavy_times else None,
    }


def time_reference(graph: nx.DiGraph, roots: list[str], depth: int, upstream: bool) -> dict:
    times = []
    gc.disable()
    try:
        for root in roots:
            t0 = time.perf_counter()
            reference_walk(graph, root, depth, upstream)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        gc.enable()
    return summary(times)


def run_one(engine: str, size: int, args: argparse.Namespace, limit: int) -> dict[str, Any]:
    seed = args.seed + size
    log(f"== {engine}, {size} services: generating the graph (seed {seed})")
    t0 = time.perf_counter()
    graph = generate_microservices(size, seed)
    forward = graph.digraph()
    backward = forward.reverse(copy=True)
    fanout = generate_fanout()
    fanout_graph = fanout.digraph()
    bodies = ingest_bodies(graph, args.chunk_edges, limit)
    fanout_bodies = ingest_bodies(fanout, args.chunk_edges, limit)
    cyclic = [c for c in nx.strongly_connected_components(forward) if len(c) > 1]
    log(
        f"  {len(graph.service_ids)} services, {len(graph.edges)} edges, "
        f"{len(graph.nodes)} declared, {len(bodies)} requests, "
        f"{len(cyclic)} cyclic components (largest {max(map(len, cyclic), default=0)}), "
        f"max fan-in {max(d for _, d in forward.in_degree())}, "
        f"built in {time.perf_counter() - t0:.1f} s"
    )
    roots = random.Random(seed + 1).sample(graph.service_ids, args.roots)
    gc.collect()
    gc.freeze()  # the graphs live to the end: keep them out of every collection

    log("  networkx reference")
    reference = {
        "down3": time_reference(forward, roots, 3, upstream=False),
        "down10": time_reference(forward, roots, 10, upstream=False),
        "up10": time_reference(backward, roots, 10, upstream=True),
    }

    result: dict[str, Any] = {
        "loadavg": [os.getloadavg()[0]],
        "engine": engine,
        "services": len(graph.service_ids),
        "edges": len(graph.edges),
        "declared": len(graph.nodes),
        "cyclic_components": len(cyclic),
        "reference": reference,
    }
    with database(engine) as (database_url, workdir):
        server = Server(database_url, workdir)
        result["source"] = source_fingerprint()  # the code this server imports
        try:
            log(f"  starting the server on port {server.port}")
            server.start()
            result["rss_start_mb"] = server.memory_mb()
            key = api_key = server.create_api_key("bench")
            with httpx.Client(
                base_url=server.base_url,
                timeout=args.request_timeout,
                headers={"Authorization": f"Bearer {key}"},
            ) as client:
                log("  ingesting")
                result["ingest"] = ingest(client, bodies)
                server.alive()
                result["rss_after_ingest_mb"] = server.memory_mb()
                log(
                    f"  ingested in {result['ingest']['seconds']:.2f} s "
                    f"({result['ingest']['edges_per_second']:.0f} edges/s), "
                    f"RSS {result['rss_after_ingest_mb']['VmRSS']:.0f} MB"
                )

                def down(answer: dict[str, Any], root: str, depth: int) -> None:
                    check_answer(answer, forward, root, depth, upstream=False)

                def up(answer: dict[str, Any], root: str, depth: int) -> None:
                    check_answer(answer, backward, root, depth, upstream=True)

                t0 = time.perf_counter()
                warm = client.get(f"{API}/services/{roots[0]}/dependencies?depth=3")
                result["warmup_ms"] = (time.perf_counter() - t0) * 1000
                if warm.status_code != 200:
                    raise BenchError(f"warm-up query: {warm.status_code} {warm.text[:2000]}")
                down(warm.json(), roots[0], 3)
                log(f"  warm-up query {result['warmup_ms']:.1f} ms")

                queries = {}
                for key, depth, direction, check in (
                    ("down3", 3, "downstream", down),
                    ("down10", 10, "downstream", down),
                    ("up10", 10, "upstream", up),
                ):
                    log(f"  timing depth {depth} {direction} over {len(roots)} roots")
                    queries[key] = time_queries(
                        client,
                        roots,
                        depth,
                        direction,
                        lambda answer, root, c=check, d=depth: c(answer, root, d),
                    )
                    q = queries[key]
                    log(
                        f"    p50 {q['p50']:.2f} ms, p99 {q['p99']:.2f} ms, max {q['max']:.1f} ms; "
                        f"nodes p50 {q['nodes_p50']} max {q['nodes_max']}, "
                        f"{q['truncated']} truncated"
                    )
                result["queries"] = queries

                log(f"  timing blast radius and availability ceiling over {len(roots)} roots")
                needed = sync_graph(graph)
                needed_up = needed.reverse(copy=True)
                result["insights"] = {
                    "impact": time_insight(
                        client,
                        roots,
                        "impact?depth=10",
                        lambda answer, root: check_impact(answer, needed_up, root),
                        lambda answer: answer["totals"]["affected"],
                    ),
                    "availability": time_insight(
                        client,
                        roots,
                        "availability",
                        lambda answer, root: check_availability(answer, needed, root),
                        lambda answer: len(answer["terms"]),
                    ),
                }
                for name, figures in result["insights"].items():
                    log(
                        f"    {name}: p50 {figures['p50']:.2f} ms, p99 {figures['p99']:.2f} ms; "
                        f"size p50 {figures['size_p50']} max {figures['size_max']}, "
                        f"largest answer {figures['bytes_max'] / 1e6:.2f} MB"
                    )
                heaviest = result["insights"]["impact"]["largest_root"]
                log(f"  /health while {LOOP_STALL_CLIENTS} clients ask for {heaviest}'s impact")
                stall = time_loop_stall(
                    server.base_url,
                    api_key,
                    f"{API}/services/{heaviest}/impact?depth=10",
                    LOOP_STALL_CLIENTS,
                    args.loop_stall_seconds,
                )
                result["loop_stall"] = stall
                log(
                    f"    /health p50 / p99 alone {_pair(stall['idle'])} ms, with them "
                    f"{_pair(stall['busy'])} ms (max {stall['busy']['max']:.1f})"
                )

                log("  fan-out 6: ingesting and timing depth 10 from the top")
                result["fanout_ingest"] = ingest(client, fanout_bodies)
                top = fanout_id(0, 0)

                def fan_check(answer: dict[str, Any], root: str) -> None:
                    check_answer(answer, fanout_graph, root, 10, upstream=False)
                    if len(answer["nodes"]) != 60 or len(answer["edges"]) != 330:
                        raise BenchError("fan-out 6 answer is not 60 nodes and 330 edges")

                client.get(f"{API}/services/{top}/dependencies?depth=10")  # warm-up
                result["fanout"] = time_queries(
                    client, [top] * args.fanout_reps, 10, "downstream", fan_check
                )
                log(
                    f"    p50 {result['fanout']['p50']:.2f} ms, "
                    f"p99 {result['fanout']['p99']:.2f} ms"
                )
                server.alive()
                result["rss_after_queries_mb"] = server.memory_mb()
        except BaseException:
            log(f"server log tail:\n{server.tail()}")
            raise
        finally:
            server.stop()
    gc.unfreeze()
    if source_fingerprint() != result["source"]:
        result["source"] += " (changed while it ran)"
    result["loadavg"].append(os.getloadavg()[0])
    return result


def _redis_reachable() -> bool:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@contextmanager
def variant_servers(
    engine: str, variants: dict[str, dict[str, str]], timeout: float
) -> Iterator[dict[str, httpx.Client]]:
    """One server per variant (its extra environment), all on one fresh database, and an
    authenticated client for each; everything stopped and dropped afterwards."""
    with database(engine) as (database_url, workdir):
        servers = {
            name: Server(database_url, workdir, name=name, env=env)
            for name, env in variants.items()
        }
        clients: dict[str, httpx.Client] = {}
        try:
            for server in servers.values():
                server.start()
            key = next(iter(servers.values())).create_api_key("bench-variants")
            for name, server in servers.items():
                clients[name] = httpx.Client(
                    base_url=server.base_url,
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=timeout,
                )
            yield clients
        except BaseException:
            for server in servers.values():
                log(f"{server.log_path.name} tail:\n{server.tail()}")
            raise
        finally:
            for client in clients.values():
                client.close()
            for server in servers.values():
                server.stop()


def all_applied(clients: dict[str, httpx.Client], revision: int, timeout_s: float = 120) -> None:
    """Return once every server's live graph has applied `revision`: the variant servers
    share one database and only one of them took the ingestion; the others follow it
    through their change feed, and a query before that answers 404 for a new root."""
    deadline = time.monotonic() + timeout_s
    for name, client in clients.items():
        while True:
            response = client.get(f"{API}/health/ready")
            state = (
                response.json().get("checks", {}).get("live_graph", "")
                if response.is_success
                else ""
            )
            applied = int(state.split()[1].rstrip(",")) if state.startswith("revision ") else -1
            if applied >= revision:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"the {name} server did not apply revision {revision} in time")
            time.sleep(0.1)


def run_auth_overhead(engine: str, args: argparse.Namespace, limit: int) -> dict[str, Any]:
    """The same small query through servers that differ only in access control.

    Servers share one database: `open` (AUTH_ENABLED=false, in-process limiter),
    `key` (API key checked on every request, in-process limiter) and, when Redis answers,
    `key+redis` (the same with the Redis limiter). Requests go round-robin, one at a
    time, so drift in the machine's load hits every server alike.
    """
    seed = args.seed + 7
    graph = generate_microservices(2_000, seed)
    roots = random.Random(seed).sample(graph.service_ids, 200)
    variants = {"open": {"AUTH_ENABLED": "false"}, "key": {}}
    if _redis_reachable():
        variants["key+redis"] = {"REDIS_URL": REDIS_URL}
    log(f"== {engine}: access-control overhead ({', '.join(variants)})")
    result: dict[str, Any] = {"engine": engine, "variants": {}}
    with variant_servers(engine, variants, args.request_timeout) as clients:
        stored = ingest(clients["key"], ingest_bodies(graph, args.chunk_edges, limit))
        all_applied(clients, stored["revision"])
        times: dict[str, list[float]] = {name: [] for name in clients}
        for i in range(args.auth_requests + 50):
            root = roots[i % len(roots)]
            url = f"{API}/services/{root}/dependencies?depth=1"
            for name, client in clients.items():
                t0 = time.perf_counter()
                response = client.get(url)
                elapsed = (time.perf_counter() - t0) * 1000
                if response.status_code != 200:
                    raise BenchError(f"{name} GET {url}: {response.status_code}")
                if i >= 50:  # the first rounds warm the pools and caches
                    times[name].append(elapsed)
        for name, measured in times.items():
            result["variants"][name] = summary(measured)
        base = result["variants"]["open"]["p50"]
        for name, figures in result["variants"].items():
            figures["overhead_p50_ms"] = figures["p50"] - base
            log(
                f"  {name}: p50 {figures['p50']:.3f} ms, p99 {figures['p99']:.3f} ms, "
                f"p50 overhead {figures['overhead_p50_ms']:+.3f} ms"
            )
    return result


def run_cache_benefit(engine: str, args: argparse.Namespace, limit: int) -> dict[str, Any]:
    """Repeated queries through servers that differ only in QUERY_CACHE (off, memory,
    redis): a first pass over the roots fills the caches, the second is timed."""
    seed = args.seed + 11
    graph = generate_microservices(5_000, seed)
    roots = random.Random(seed).sample(graph.service_ids, args.cache_roots)
    variants = {"off": {"QUERY_CACHE": "off"}, "memory": {"QUERY_CACHE": "memory"}}
    if _redis_reachable():
        variants["redis"] = {"QUERY_CACHE": "redis", "REDIS_URL": REDIS_URL}
    log(f"== {engine}: query cache ({', '.join(variants)})")
    result: dict[str, Any] = {"engine": engine, "variants": {}}
    with variant_servers(engine, variants, args.request_timeout) as clients:
        stored = ingest(clients["off"], ingest_bodies(graph, args.chunk_edges, limit))
        all_applied(clients, stored["revision"])
        for depth in (3, 10):
            for name, client in clients.items():
                for root in roots:  # fill
                    client.get(f"{API}/services/{root}/dependencies?depth={depth}")
                times = []
                for root in roots:
                    t0 = time.perf_counter()
                    response = client.get(f"{API}/services/{root}/dependencies?depth={depth}")
                    response.read()
                    times.append((time.perf_counter() - t0) * 1000)
                    if response.status_code != 200:
                        raise BenchError(f"{name}: {response.status_code}")
                figures = summary(times)
                result["variants"].setdefault(name, {})[f"depth{depth}"] = figures
                log(
                    f"  {name} depth {depth} (repeat): p50 {figures['p50']:.2f} ms, "
                    f"p99 {figures['p99']:.2f} ms"
                )
    return result


def cache_report(cache_results: list[dict[str, Any]]) -> list[str]:
    if not cache_results:
        return []
    lines = [
        "",
        "## Query cache (QUERY_CACHE): repeated queries",
        "",
        "5,000-service graph; each server answers the same roots twice, the second pass "
        "timed (ms, p50 / p99). `off` recomputes from the in-memory snapshot every time.",
        "",
        "| engine | variant | depth 3 repeat p50 / p99 | depth 10 repeat p50 / p99 |",
        "|---|---|---|---|",
    ]
    for r in cache_results:
        for name, figures in r["variants"].items():
            lines.append(
                f"| {r['engine']} | {name} | {_pair(figures['depth3'])} "
                f"| {_pair(figures['depth10'])} |"
            )
    return lines


def insights_report(results: list[dict[str, Any]]) -> list[str]:
    """Blast radius and availability ceiling against the subgraph walk of the same run."""
    measured = [r for r in results if "insights" in r]
    if not measured:
        return []
    lines = [
        "",
        "## Insights (same roots; every answer checked against networkx)",
        "",
        "Reference: the upstream depth-10 subgraph query of the same run, the walk the "
        "blast radius extends. Sizes: affected services (impact) and counted services "
        "(availability).",
        "",
        "| engine | services | impact depth-10 p50 / p99 | ratio to upstream depth-10 p50 "
        "| affected p50 / max | availability p50 / p99 | counted p50 / max "
        "| largest answer MB (impact / availability) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in measured:
        impact, ceiling = r["insights"]["impact"], r["insights"]["availability"]
        lines.append(
            f"| {r['engine']} | {r['services']:,} | {_pair(impact)} "
            f"| {impact['p50'] / r['queries']['up10']['p50']:.2f}x "
            f"| {impact['size_p50']} / {impact['size_max']} | {_pair(ceiling)} "
            f"| {ceiling['size_p50']} / {ceiling['size_max']} "
            f"| {impact['bytes_max'] / 1e6:.2f} / {ceiling['bytes_max'] / 1e6:.2f} |"
        )
    return lines


def loop_stall_report(results: list[dict[str, Any]]) -> list[str]:
    """/health while the heaviest blast radius is asked for, against /health alone."""
    measured = [r for r in results if "loop_stall" in r]
    if not measured:
        return []
    lines = [
        "",
        f"## Heavy answers and everyone else ({LOOP_STALL_CLIENTS} clients asking the "
        "largest blast radius of the run again and again)",
        "",
        "Reference: /health of the same server alone. Target: /health p99 with the heavy "
        f"clients <= {LOOP_STALL_P99_MS:g} ms (before issue 11 each such answer held the "
        "event loop for its whole computation: p50 ~0.3-1 s).",
        "",
        "| engine | services | heavy answer p50 / p99 | /health alone p50 / p99 "
        "| /health with them p50 / p99 / max | target |",
        "|---|---|---|---|---|---|",
    ]
    for r in measured:
        stall = r["loop_stall"]
        busy = stall["busy"]
        heavy = _pair(stall["heavy"]) if stall["heavy"] else "-"
        verdict = "met" if busy["p99"] <= LOOP_STALL_P99_MS else "MISSED"
        lines.append(
            f"| {r['engine']} | {r['services']:,} | {heavy} | {_pair(stall['idle'])} "
            f"| {_pair(busy)} / {fmt(busy['max'])} | **{verdict}** |"
        )
    return lines


def auth_report(auth_results: list[dict[str, Any]]) -> list[str]:
    if not auth_results:
        return []
    lines = [
        "",
        "## Access-control overhead (target: API key check < 0.5 ms per request at the median)",
        "",
        "Depth-1 queries on a 2,000-service graph, round-robin over servers sharing one "
        "database: `open` has AUTH_ENABLED=false, `key` checks the API key on every request, "
        "`key+redis` also takes its rate-limit token from Redis.",
        "",
        "| engine | variant | p50 ms | p99 ms | p50 overhead vs open | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for r in auth_results:
        for name, figures in r["variants"].items():
            overhead = figures["overhead_p50_ms"]
            verdict = "" if name == "open" else ("met" if overhead < 0.5 else "MISSED")
            if name == "key+redis":
                verdict = "(includes Redis)"
            lines.append(
                f"| {r['engine']} | {name} | {figures['p50']:.3f} | {figures['p99']:.3f} "
                f"| {overhead:+.3f} ms | {verdict} |"
            )
    return lines


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------

TARGETS: list[tuple[str, Callable[[dict[str, Any]], float | None], float, str]] = [
    ("depth-3 p50 (HTTP)", lambda r: r["queries"]["down3"]["p50"], 10, "ms"),
    ("depth-3 p99 (HTTP)", lambda r: r["queries"]["down3"]["p99"], 50, "ms"),
    ("depth-10 p99 (HTTP)", lambda r: r["queries"]["down10"]["p99"], 300, "ms"),
    ("full ingest", lambda r: r["ingest"]["seconds"], 15, "s"),
    ("fan-out-6 depth-10 p99", lambda r: r["fanout"]["p99"], 50, "ms"),
]


def _pair(summary_: dict[str, Any]) -> str:
    return f"{fmt(summary_['p50'])} / {fmt(summary_['p99'])}"


def source_fingerprint() -> str:
    """A short hash of the service's source, to tie figures to the code measured."""
    digest = hashlib.sha256()
    for path in sorted((PROJECT / "src" / "slo_engine").rglob("*.py")):
        digest.update(path.relative_to(PROJECT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def report(
    results: list[dict[str, Any]],
    auth_results: list[dict[str, Any]],
    cache_results: list[dict[str, Any]],
    args: argparse.Namespace,
    failure: str | None,
    source: str,
) -> str:
    lines = [
        "# slo-engine benchmark",
        "",
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, `{' '.join(sys.argv)}`, "
        f"source {source}, "
        f"seed {args.seed}, {args.roots} roots, {os.cpu_count()} CPUs. "
        "Latencies in ms (p50 / p99, nearest rank), sequential requests through one "
        "persistent HTTP client; every answer checked against networkx.",
        "",
        "| engine | services / edges | ingest s | edges/s | depth-3 p50 / p99 "
        "| depth-10 p50 / p99 | upstream depth-10 p50 / p99 | networkx depth-3 / depth-10 p50 "
        "| ratio depth-3 / depth-10 (service p50 / networkx p50) | fan-out-6 depth-10 p50 / p99 "
        "| server RSS MB after ingest / after queries (peak) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        q, ref = r["queries"], r["reference"]
        lines.append(
            f"| {r['engine']} | {r['services']:,} / {r['edges']:,} "
            f"| {r['ingest']['seconds']:.2f} | {r['ingest']['edges_per_second']:,.0f} "
            f"| {_pair(q['down3'])} | {_pair(q['down10'])} | {_pair(q['up10'])} "
            f"| {fmt(ref['down3']['p50'])} / {fmt(ref['down10']['p50'])} "
            f"| {q['down3']['p50'] / ref['down3']['p50']:.0f}x / "
            f"{q['down10']['p50'] / ref['down10']['p50']:.1f}x "
            f"| {_pair(r['fanout'])} "
            f"| {r['rss_after_ingest_mb']['VmRSS']:.0f} / "
            f"{r['rss_after_queries_mb']['VmRSS']:.0f} "
            f"({r['rss_after_queries_mb']['VmHWM']:.0f}) |"
        )
    lines += [
        "",
        "## Targets (from the issue: 50,000 services / 250,000 edges on PostgreSQL)",
        "",
    ]
    official = [r for r in results if r["engine"] == "postgresql" and r["services"] == 50_000]
    others = [r for r in results if r not in official]
    columns = official + others
    if not official:
        lines += ["PostgreSQL at 50,000 / 250,000 was not measured in this run.", ""]
    if columns:
        header = " | ".join(
            f"{r['engine']} {r['services']:,}" + (" (target run)" if r in official else "")
            for r in columns
        )
        lines += [
            f"| target | {header} |",
            "|---|" + "---|" * len(columns),
        ]
        for name, value_of, bound, unit in TARGETS:
            cells = []
            for r in columns:
                value = value_of(r)
                verdict = "met" if value is not None and value <= bound else "MISSED"
                cells.append(f"{fmt(value)} {unit}: **{verdict}**")
            lines.append(f"| {name} <= {bound:g} {unit} | " + " | ".join(cells) + " |")
    lines += ["", "## Details", ""]
    for r in results:
        q = r["queries"]
        lines.append(
            f"- **{r['engine']} {r['services']:,}**: {r['declared']:,} declared services, "
            f"{r['cyclic_components']} cyclic components, "
            f"{r['ingest']['cycles_detected']} cycle alerts reported by ingest; "
            f"ingest requests (s): "
            + ", ".join(
                f"{x['seconds']:.2f} ({x['edges']:,} edges, {x['bytes'] / 1e6:.1f} MB)"
                for x in r["ingest"]["requests"]
            )
            + f"; warm-up query {r['warmup_ms']:.1f} ms; "
            f"server RSS at start {r['rss_start_mb']['VmRSS']:.0f} MB; "
            f"source {r['source']}; "
            f"1-min load average at start / end {r['loadavg'][0]:.2f} / {r['loadavg'][1]:.2f}"
        )
        for key, label in (
            ("down3", "depth 3"),
            ("down10", "depth 10"),
            ("up10", "upstream depth 10"),
        ):
            s = q[key]
            slow = ", ".join(
                f"{x['root']} {x['ms']:.1f} ms ({x['nodes']} nodes, {x['edges']} edges, "
                f"{x['bytes'] / 1e6:.2f} MB)"
                for x in s["slowest"]
            )
            lines.append(
                f"  - {label}: max {s['max']:.1f} ms; answer nodes p50 {s['nodes_p50']} "
                f"max {s['nodes_max']}, edges p50 {s['edges_p50']} max {s['edges_max']}, "
                f"{s['truncated']} of {s['n']} truncated at max_nodes={MAX_NODES}; "
                f"slowest: {slow}"
            )
        ref = r["reference"]
        lines.append(
            f"  - networkx p50 / p99: depth 3 {_pair(ref['down3'])}, depth 10 "
            f"{_pair(ref['down10'])}, upstream depth 10 {_pair(ref['up10'])}"
        )
    lines += insights_report(results)
    lines += loop_stall_report(results)
    lines += auth_report(auth_results)
    lines += cache_report(cache_results)
    if failure:
        lines += ["", f"**The run failed**: {failure}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,50000", help="Numbers of services.")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--roots", type=int, default=200, help="Random roots per query kind.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk-edges", type=int, default=40_000, help="Edges per request.")
    parser.add_argument("--fanout-reps", type=int, default=50)
    parser.add_argument(
        "--loop-stall-seconds",
        type=float,
        default=10.0,
        help="How long /health is timed while heavy insight answers are asked for.",
    )
    parser.add_argument(
        "--auth-requests", type=int, default=1000, help="Timed requests per access variant."
    )
    parser.add_argument(
        "--cache-roots", type=int, default=100, help="Roots per query-cache variant (0: skip)."
    )
    parser.add_argument("--request-timeout", type=float, default=300.0)
    parser.add_argument("--time-limit", type=int, default=3600, help="Seconds for everything.")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    limit = int(os.environ.get("MAX_REQUEST_BODY_BYTES", DEFAULT_BODY_LIMIT))

    def on_alarm(signum: int, frame: object) -> None:
        raise BenchTimeoutError(f"the run went over --time-limit {args.time_limit} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.time_limit)
    results: list[dict[str, Any]] = []
    auth_results: list[dict[str, Any]] = []
    cache_results: list[dict[str, Any]] = []
    failure = None
    source = source_fingerprint()
    try:
        for engine in engines:
            for size in sizes:
                results.append(run_one(engine, size, args, limit))
            if args.auth_requests > 0:
                auth_results.append(run_auth_overhead(engine, args, limit))
            if args.cache_roots > 0:
                cache_results.append(run_cache_benefit(engine, args, limit))
    except (BenchError, KeyboardInterrupt, httpx.HTTPError, OSError) as error:
        failure = f"{type(error).__name__}: {error}"
        log(f"FAILED: {failure}")
    finally:
        signal.alarm(0)
    sources = {r["source"] for r in results}
    if len(sources) > 1 or any(source not in x for x in sources):
        source = "changed during the run: see each row's source in the details"
    text = report(results, auth_results, cache_results, args, failure, source)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    args.output.with_suffix(".json").write_bytes(
        orjson.dumps(
            {
                "args": vars(args),
                "source": source,
                "results": results,
                "auth_overhead": auth_results,
                "query_cache": cache_results,
                "failure": failure,
            },
            default=str,
            option=orjson.OPT_INDENT_2,
        )
    )
    log(f"written {args.output}")
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
