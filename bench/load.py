"""Load benchmark of slo-engine: the server under concurrency, against its own floor.

bench/run.py times one request at a time; this script asks what many clients at once
get (issue 12). For every (engine, size) pair it generates bench/run.py's synthetic graph,
starts the server the way an operator would (`slo-cli serve` with API_WORKERS=2,
authentication on with a key made by `slo-cli api-keys create`, rate limits raised out of
the way, the scheduler off), ingests the graph over HTTP and then measures, with wrk
(bench/wrk/rotate.lua) as the load generator:

1. saturation: 64 connections for `--duration` s of depth-3 downstream queries rotating
   over `--roots` seeded random roots, then /health of the same server the same way:
   depth-3 throughput as a share of /health's (target >= 40%);
2. one client: one connection, depth-3 against /health, p50 and p99 (target: depth-3 p50
   <= 2x /health p50);
3. 200 clients paced to about one request a second each for `--paced-duration` s:
   p50 / p99 and errors (targets p99 <= 25 ms, no errors);
5. full upstream walks: depth 10, max_nodes=100000, over `--deep-roots` roots, one at a
   time, each answer checked against networkx; p99 against the same walks in process
   (target <= 5x);
6. the RSS of each worker process after those phases (target <= 250 MB each) and, on
   PostgreSQL, the sessions opened to the database during phases 1-3 (target 0);
4. PostgreSQL only, last (it changes the graph): a second replica on the same database
   takes the 200 paced clients while a thread ingests `--ingest-edges` fresh edges into
   the first every `--ingest-every` s: query p99 and max (targets 50 ms and 250 ms),
   ingestion p99 (the harness's own timing).

The table (figure, value, reference, ratio, target, verdict) is printed and written to
bench/results/load-latest.md (raw figures in load-latest.json) with the command line and
the machine. Everything listens on 127.0.0.1 only; every server is stopped at the end,
also on an error, Ctrl-C, SIGTERM or `--time-limit`.

    .venv/bin/python bench/load.py [--engines sqlite,postgresql] [--sizes 50000]
                                   [--duration 20] [--quick] [--time-limit 1800]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import networkx as nx
import orjson

# bench/ is sys.path[0] when this file is run as a script: bench/run.py's pieces are
# imported, not copied, so both benchmarks build the same graphs and servers.
from run import (
    API,
    DEFAULT_BODY_LIMIT,
    PG_ADMIN_DSN,
    RESULTS,
    BenchError,
    BenchTimeoutError,
    Graph,
    Server,
    _edge_attributes,
    check_answer,
    database,
    fmt,
    generate_microservices,
    ingest,
    ingest_bodies,
    log,
    reference_walk,
    source_fingerprint,
    summary,
    time_reference,
    timed_get,
)

LUA_SCRIPT = Path(__file__).resolve().parent / "wrk" / "rotate.lua"
HEALTH_PATH = f"{API}/health"
# Readiness answers in a row, each on a new connection, that must show the last revision.
CAUGHT_UP_ANSWERS = 20
LIMIT = "1000000/minute"
SERVER_ENV = {
    "API_WORKERS": "2",
    "AUTH_ENABLED": "true",
    "RATE_LIMIT_QUERY": LIMIT,
    "RATE_LIMIT_INGESTION": LIMIT,
    "RATE_LIMIT_AUTH_FAILURES": LIMIT,
    "SCHEDULER_ENABLED": "false",
    # Nothing is measured while a server stops; without this every stop waits 5 s.
    "SHUTDOWN_DRAIN_SECONDS": "0",
}
DEEP_MAX_NODES = 100_000
SATURATION_CONNECTIONS = 64
PACED_CLIENTS = 200
PACE_MS = 1000

SATURATION_SHARE_MIN = 0.40
SINGLE_P50_RATIO_MAX = 2.0
PACED_P99_MS = 25.0
MIXED_P99_MS = 50.0
MIXED_MAX_MS = 250.0
DEEP_RATIO_MAX = 5.0
WORKER_RSS_MB = 250.0

QUICK = {
    "sizes": "2000",
    "duration": 5.0,
    "single_duration": 5.0,
    "paced_duration": 5.0,
    "warmup": 2.0,
    "time_limit": 600,
}


# --------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------


@dataclass
class WrkRun:
    requests: int
    seconds: float
    errors: dict[str, int]
    max_ms: float
    latency: dict[str, float] | None  # summary() of the exact latencies, when asked for
    synthetic_removed: int  # samples wrk had added to the histogram and this took out

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())

    @property
    def ok_per_second(self) -> float:
        """Successful answers a second: an error answered fast must not count."""
        return (self.requests - self.errors["status"]) / self.seconds

    def describe(self) -> str:
        text = (
            f"{self.requests:,} requests in {self.seconds:.1f} s "
            f"({self.requests / self.seconds:,.0f}/s), errors {self.errors}"
        )
        if self.latency:
            lat = self.latency
            text += (
                f", latency p50 {fmt(lat['p50'])} / p90 {fmt(lat['p90'])} / "
                f"p99 {fmt(lat['p99'])} / max {fmt(lat['max'])} ms"
            )
        else:
            text += f", latency max {fmt(self.max_ms)} ms"
        if self.synthetic_removed:
            text += f" ({self.synthetic_removed:,} synthetic samples of wrk's taken out)"
        return text


def undo_wrk_correction(histogram: dict[int, int], expected_us: int) -> dict[int, int]:
    """The latencies wrk measured, from the histogram it hands to done().

    Before done(), wrk 4.1 "corrects" for coordinated omission: for every sample of n >=
    2 * expected microseconds (expected = run time / requests per connection) it adds
    one sample at n - expected, n - 2 * expected, ... while above expected. With one
    connection that invents samples for every slow answer; this takes them out again.
    Walking down from the largest value, each bucket's own count is known before the
    samples it spawned below it are subtracted.
    """
    measured: dict[int, int] = {}
    spawned: dict[int, int] = {}
    for value in sorted(histogram, reverse=True):
        count = histogram[value] - spawned.pop(value, 0)
        if count < 0:
            raise BenchError(f"wrk's histogram cannot be undone at {value} us")
        if count == 0:
            continue
        measured[value] = count
        if expected_us > 0 and value >= 2 * expected_us:
            below = value - expected_us
            while below > expected_us:
                spawned[below] = spawned.get(below, 0) + count
                below -= expected_us
    if any(spawned.values()):
        raise BenchError("wrk's histogram holds samples it could not have added")
    return measured


def histogram_summary(histogram: dict[int, int]) -> dict[str, float]:
    values_ms = [us / 1000 for us, count in sorted(histogram.items()) for _ in range(count)]
    figures = summary(values_ms)
    figures["p90"] = values_ms[max(0, math.ceil(0.9 * len(values_ms)) - 1)]
    return figures


def run_wrk(
    base_url: str,
    key: str,
    paths_file: Path,
    *,
    connections: int,
    threads: int,
    seconds: float,
    timeout_s: float,
    pace_ms: int = 0,
    exact: bool = False,
) -> WrkRun:
    """One wrk run; `exact`: also the exact latency percentiles (from its histogram)."""
    histogram_file = paths_file.with_name(f"histogram-{time.monotonic_ns()}.txt")
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={max(1, round(timeout_s))}s",
        f"--script={LUA_SCRIPT}",
        f"--header=Authorization: Bearer {key}",
        base_url,
        "--",
        str(paths_file),
        str(pace_ms),
        str(connections // threads),
    ]
    env = {**os.environ}
    if exact:
        env["SLO_WRK_HISTOGRAM"] = str(histogram_file)
    # No parent-death hook as for the servers: wrk stops itself after --duration.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = process.communicate(timeout=seconds + timeout_s + 120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    stdout = out.decode(errors="replace")
    line = next((x for x in stdout.splitlines() if x.startswith("slo-wrk ")), None)
    if process.returncode != 0 or line is None:
        raise BenchError(
            f"wrk failed ({process.returncode}): {shlex.join(command[:-4])} ...\n"
            f"{stdout[-2000:]}\n{err.decode(errors='replace')[-2000:]}"
        )
    report = orjson.loads(line.removeprefix("slo-wrk "))
    seconds_run = report["duration_us"] / 1e6
    latency = None
    removed = 0
    if exact and report["requests"] > 0:
        if not report["histogram_written"]:
            raise BenchError("wrk's latency histogram was too wide to read back")
        histogram = {}
        for row in histogram_file.read_text().splitlines():
            value, count = row.split()
            histogram[int(value)] = int(count)
        histogram_file.unlink()
        per_connection = report["requests"] // connections
        expected = report["duration_us"] // per_connection if per_connection else 0
        measured = undo_wrk_correction(histogram, expected)
        recorded = report["requests"] - report["errors"]["timeout"]
        if sum(measured.values()) != recorded:
            raise BenchError(
                f"wrk's histogram holds {sum(measured.values())} latencies once its "
                f"correction is undone, for {recorded} answers"
            )
        removed = sum(histogram.values()) - recorded
        latency = histogram_summary(measured)
    return WrkRun(
        requests=report["requests"],
        seconds=seconds_run,
        errors=report["errors"],
        max_ms=report["latency_max_us"] / 1000,
        latency=latency,
        synthetic_removed=removed,
    )


def wrk_version() -> str:
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (done.stdout.splitlines() or ["wrk (unknown version)"])[0].split(" Copyright")[0]


# --------------------------------------------------------------------------------------
# The server's processes and the database
# --------------------------------------------------------------------------------------


def worker_memory_mb(server: Server) -> list[dict[str, Any]]:
    """VmRSS / VmHWM of each uvicorn worker (children of `slo-cli serve`), or of the
    serve process itself when it runs the app alone (API_WORKERS=1)."""
    assert server.process is not None
    parent = server.process.pid
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: fields follow the last ).
        if int(stat.rsplit(")", 1)[1].split()[1]) != parent:
            continue
        if b"resource_tracker" not in cmdline:  # multiprocessing's helper, not a worker
            pids.append(int(entry.name))
    figures = []
    for pid in sorted(pids) or [parent]:
        memory = {"pid": pid}
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                memory[name] = int(value.split()[0]) / 1024
        figures.append(memory)
    return figures


async def _pg_fetchval(query: str, *args: Any) -> Any:
    # From the postgres database: a session on the benchmark's own would count itself.
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


def pg_sessions(database_name: str) -> int:
    """pg_stat_database.sessions once it stops moving: a backend reports its own session
    with its statistics, up to about a second after its first transaction."""
    query = "SELECT sessions FROM pg_stat_database WHERE datname = $1"
    value = asyncio.run(_pg_fetchval(query, database_name))
    deadline = time.monotonic() + 15
    while True:
        time.sleep(1.5)
        again = asyncio.run(_pg_fetchval(query, database_name))
        if again == value or time.monotonic() > deadline:
            return int(again)
        value = again


# --------------------------------------------------------------------------------------
# The workloads
# --------------------------------------------------------------------------------------


def caught_up(server: Server, revision: int, key: str, timeout_s: float = 300.0) -> None:
    """Return once `CAUGHT_UP_ANSWERS` readiness answers in a row, each on a new
    connection (so any worker may take it), report at least `revision`."""
    deadline = time.monotonic() + timeout_s
    in_a_row = 0
    while in_a_row < CAUGHT_UP_ANSWERS:
        if time.monotonic() > deadline:
            raise BenchError(f"the workers did not all reach revision {revision} in {timeout_s} s")
        response = httpx.get(
            f"{server.base_url}{API}/health/ready",
            headers={"Authorization": f"Bearer {key}", "Connection": "close"},
            timeout=30,
        )
        checks = response.json().get("checks", {}) if response.is_success else {}
        state = checks.get("live_graph", "")
        applied = int(state.split()[1].rstrip(",")) if state.startswith("revision ") else -1
        if applied >= revision:
            in_a_row += 1
        else:
            in_a_row = 0
            time.sleep(0.5)
    log(f"  every worker has applied revision {revision}")


def depth3_path(root: str) -> str:
    return f"{API}/services/{root}/dependencies?direction=downstream&depth=3"


def write_paths(path: Path, paths: list[str]) -> Path:
    path.write_text("\n".join(paths) + "\n")
    return path


def fresh_edges(graph: Graph, rng: random.Random, batches: int, per_batch: int) -> list[Graph]:
    """Batches of edges the graph does not have, between its services, with newly drawn
    attributes. They point down the generator's layers, as its own edges mostly do: random
    directions would close thousands of cycles and time cycle alerts instead."""
    existing = set(graph.edges)
    last = max(graph.layer_of.values())
    members: list[list[str]] = [[] for _ in range(last + 1)]
    for sid in graph.service_ids:
        members[graph.layer_of[sid]].append(sid)
    callers = [sid for sid in graph.service_ids if graph.layer_of[sid] < last]
    result = []
    for number in range(batches):
        edges: list[tuple[str, str]] = []
        while len(edges) < per_batch:
            source = rng.choice(callers)
            layer = min(graph.layer_of[source] + rng.choice((1, 1, 2, 3)), last)
            edge = (source, rng.choice(members[layer]))
            if edge not in existing:
                existing.add(edge)
                edges.append(edge)
        attributes = [_edge_attributes(rng) for _ in edges]
        result.append(Graph(f"fresh {number}", [], edges, attributes, graph.service_ids))
    return result


class Ingester(threading.Thread):
    """Starts one prepared ingestion every `every` s for `seconds` s (a fixed schedule: a
    slow ingestion delays only itself), keeping the harness's own timing of each."""

    def __init__(
        self,
        client: httpx.Client,
        batches: list[list[tuple[bytes, int]]],
        every: float,
        seconds: float,
    ):
        super().__init__(name="ingester", daemon=True)
        self.client = client
        self.batches = batches
        self.every = every
        self.seconds = seconds
        self.stopped = threading.Event()
        self.times_ms: list[float] = []
        self.failure: str | None = None

    def run(self) -> None:
        next_at = started = time.monotonic()
        for bodies in self.batches:
            if next_at - started >= self.seconds:
                return
            if self.stopped.wait(max(0.0, next_at - time.monotonic())):
                return
            next_at += self.every
            try:
                self.times_ms.append(ingest(self.client, bodies)["seconds"] * 1000)
            except (BenchError, httpx.HTTPError) as error:
                self.failure = f"{type(error).__name__}: {error}"
                return
        if not self.stopped.is_set():
            self.failure = "ran out of prepared ingestion batches"


# --------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------


@dataclass
class Row:
    run: str
    figure: str
    value: float | None
    unit: str
    reference: float | None = None
    reference_label: str = ""
    target: str = ""
    met: bool | None = None  # None: for information

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.reference:
            return None
        return self.value / self.reference

    def cells(self) -> list[str]:
        reference = "-"
        if self.reference is not None:
            reference = f"{self.reference_label} {fmt(self.reference)} {self.unit}".strip()
        elif self.reference_label:
            reference = self.reference_label
        ratio = self.ratio
        verdict = "" if self.met is None else ("met" if self.met else "MISSED")
        value = f"{self.value:,}" if isinstance(self.value, int) else fmt(self.value)
        return [
            self.run,
            self.figure,
            f"{value} {self.unit}".strip(),
            reference,
            "-" if ratio is None else f"{fmt(ratio)}x",
            self.target or "-",
            f"**{verdict}**" if verdict else "",
        ]


def markdown_table(rows: list[Row]) -> list[str]:
    lines = [
        "| run | figure | value | reference | ratio | target | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return lines


# --------------------------------------------------------------------------------------
# One engine and size
# --------------------------------------------------------------------------------------


class LoadRun:
    """One engine and size: its graph, its servers, its rows of the table."""

    def __init__(self, engine: str, size: int, args: argparse.Namespace, limit: int) -> None:
        self.engine = engine
        self.args = args
        self.limit = limit
        self.label = f"{engine} {size:,}"
        self.seed = args.seed + size
        log(f"== {self.label}: generating the graph (seed {self.seed})")
        self.graph = generate_microservices(size, self.seed)
        self.forward = self.graph.digraph()
        self.backward = self.forward.reverse(copy=True)
        ids = self.graph.service_ids
        self.roots = random.Random(self.seed + 1).sample(ids, min(args.roots, size))
        self.deep_roots = random.Random(self.seed + 2).sample(ids, min(args.deep_roots, size))
        self.server_env = {**SERVER_ENV, **args.server_env}
        self.key = ""
        self.revision = 0  # the graph revision of the last ingestion before measuring
        self.rows: list[Row] = []
        self.phases: dict[str, str] = {}
        depth3_nodes = [
            float(len(reference_walk(self.forward, root, 3, upstream=False)[0]) - 1)
            for root in self.roots
        ]
        self.details: dict[str, Any] = {
            "engine": engine,
            "services": len(ids),
            "edges": len(self.graph.edges),
            "roots": len(self.roots),
            "depth3_nodes": summary(depth3_nodes),
            "loadavg": [os.getloadavg()[0]],
            "phases": self.phases,
        }

    def row(self, figure: str, value: float | None, unit: str, **more: Any) -> None:
        self.rows.append(Row(self.label, figure, value, unit, **more))

    def load(
        self,
        server: Server,
        paths: Path,
        connections: int,
        threads: int,
        seconds: float,
        *,
        pace_ms: int = 0,
        exact: bool = False,
        name: str = "",
    ) -> WrkRun:
        """wrk against `server`; `exact`: with latency percentiles; `name`: reported."""
        result = run_wrk(
            server.base_url,
            self.key,
            paths,
            connections=connections,
            threads=threads,
            seconds=seconds,
            timeout_s=self.args.wrk_timeout,
            pace_ms=pace_ms,
            exact=exact,
        )
        if name:
            self.phases[name] = result.describe()
            log(f"     {name}: {result.describe()}")
        return result

    def measure(self) -> None:
        args = self.args
        bodies = ingest_bodies(self.graph, args.chunk_edges, self.limit)
        with database(self.engine) as (database_url, workdir), ExitStack() as stack:
            started: list[Server] = []

            def server(name: str) -> Server:
                started.append(Server(database_url, workdir, name=name, env=self.server_env))
                stack.callback(started[-1].stop)
                log(f"  starting {name} on port {started[-1].port}")
                started[-1].start()
                return started[-1]

            try:
                replica_a = server("replica-a")
                self.key = replica_a.create_api_key("bench")
                client = stack.enter_context(
                    httpx.Client(
                        base_url=replica_a.base_url,
                        headers={"Authorization": f"Bearer {self.key}"},
                        timeout=args.request_timeout,
                    )
                )
                log(f"  ingesting {len(self.graph.edges):,} edges in {len(bodies)} requests")
                ingested = ingest(client, bodies)
                self.details["ingest_s"] = ingested["seconds"]
                # Every worker, not only the one that wrote last, at the last revision
                # before anything is measured: a worker still loading or catching up
                # would time its catch-up, not the steady state (and answer 404 for
                # roots it has not seen yet).
                self.revision = ingested["revision"]
                caught_up(replica_a, self.revision, self.key)
                for root in self.roots[:5]:  # wrk reads no answer: a few are checked here
                    _, body = timed_get(client, depth3_path(root))
                    check_answer(orjson.loads(body), self.forward, root, 3, upstream=False)
                depth3 = write_paths(workdir / "depth3.txt", [depth3_path(r) for r in self.roots])
                health = write_paths(workdir / "health.txt", [HEALTH_PATH])

                log(f"  warm-up: {args.warmup:g} s of depth-3 queries")
                self.load(replica_a, depth3, SATURATION_CONNECTIONS, 2, args.warmup)
                database_name = database_url.rsplit("/", 1)[1]
                if self.engine == "postgresql":
                    self.details["sessions_before"] = pg_sessions(database_name)
                self.saturation(replica_a, depth3, health)
                one_client = self.one_client(replica_a, depth3, health)
                paced = self.paced(replica_a, depth3, one_client)
                if self.engine == "postgresql":
                    self.new_sessions(database_name)
                self.deep(client)
                self.memory(replica_a)
                if self.engine == "postgresql":
                    replica_b = server("replica-b")  # before any thread: see Server.start
                    self.mixed(replica_b, client, depth3, paced)
            except BaseException:
                for each in started:
                    log(f"{each.log_path.name} tail:\n{each.tail()}")
                raise
        self.details["loadavg"].append(os.getloadavg()[0])

    def saturation(self, server: Server, depth3: Path, health: Path) -> None:
        seconds = self.args.duration
        log(f"  1. saturation: {SATURATION_CONNECTIONS} connections, {seconds:g} s each")
        queries = self.load(server, depth3, SATURATION_CONNECTIONS, 2, seconds, name="depth 3")
        floor = self.load(server, health, SATURATION_CONNECTIONS, 2, seconds, name="/health")
        self.row(
            f"1. saturation ({SATURATION_CONNECTIONS} conn.): depth-3 answers/s",
            queries.ok_per_second,
            "/s",
            reference=floor.ok_per_second,
            reference_label="/health",
            target=f">= {SATURATION_SHARE_MIN:g}x /health",
            met=queries.ok_per_second >= SATURATION_SHARE_MIN * floor.ok_per_second,
        )
        errors = queries.error_total + floor.error_total
        self.row(
            "1. saturation: errors (depth 3 + /health)", errors, "", target="0", met=not errors
        )

    def one_client(self, server: Server, depth3: Path, health: Path) -> dict[str, float]:
        seconds = self.args.single_duration
        log(f"  2. one client: {seconds:g} s each")
        queries = self.load(server, depth3, 1, 1, seconds, exact=True, name="one client, depth 3")
        floor = self.load(server, health, 1, 1, seconds, exact=True, name="one client, /health")
        assert queries.latency is not None and floor.latency is not None
        self.row(
            "2. one client: depth-3 p50",
            queries.latency["p50"],
            "ms",
            reference=floor.latency["p50"],
            reference_label="/health p50",
            target=f"<= {SINGLE_P50_RATIO_MAX:g}x /health",
            met=queries.latency["p50"] <= SINGLE_P50_RATIO_MAX * floor.latency["p50"],
        )
        self.row(
            "2. one client: depth-3 p99",
            queries.latency["p99"],
            "ms",
            reference=floor.latency["p99"],
            reference_label="/health p99",
        )
        return queries.latency

    def paced(self, server: Server, depth3: Path, one_client: dict[str, float]) -> WrkRun:
        seconds = self.args.paced_duration
        log(f"  3. {PACED_CLIENTS} clients at ~1 request/s each, {seconds:g} s")
        paced = self.load(
            server,
            depth3,
            PACED_CLIENTS,
            2,
            seconds,
            pace_ms=PACE_MS,
            exact=True,
            name="paced clients",
        )
        assert paced.latency is not None
        figure = f"3. {PACED_CLIENTS} clients @ 1/s:"
        self.row(
            f"{figure} depth-3 p50",
            paced.latency["p50"],
            "ms",
            reference=one_client["p50"],
            reference_label="one client",
        )
        self.row(
            f"{figure} depth-3 p99",
            paced.latency["p99"],
            "ms",
            reference=one_client["p99"],
            reference_label="one client",
            target=f"<= {PACED_P99_MS:g} ms",
            met=paced.latency["p99"] <= PACED_P99_MS,
        )
        self.row(
            f"{figure} errors (non-2xx + socket)",
            paced.error_total,
            "",
            target="0",
            met=not paced.error_total,
        )
        self.row(
            f"{figure} requests/s achieved",
            paced.requests / paced.seconds,
            "/s",
            reference=float(PACED_CLIENTS * 1000 // PACE_MS),
            reference_label="intended",
        )
        return paced

    def new_sessions(self, database_name: str) -> None:
        before = self.details["sessions_before"]
        after = self.details["sessions_after"] = pg_sessions(database_name)
        self.row(
            "6. new PostgreSQL sessions during phases 1-3",
            after - before,
            "",
            reference_label=f"{before} before",
            target="0",
            met=after == before,
        )

    def deep(self, client: httpx.Client) -> None:
        log(f"  5. upstream depth 10, max_nodes={DEEP_MAX_NODES}, {len(self.deep_roots)} roots")
        times = []
        nodes = []
        for root in self.deep_roots:
            elapsed, body = timed_get(
                client,
                f"{API}/services/{root}/dependencies?direction=upstream&depth=10"
                f"&max_nodes={DEEP_MAX_NODES}",
            )
            answer = orjson.loads(body)  # checked outside the timed window
            check_answer(answer, self.backward, root, 10, upstream=True, max_nodes=DEEP_MAX_NODES)
            times.append(elapsed)
            nodes.append(float(answer["statistics"]["total_nodes"]))
        served = summary(times)
        walked = time_reference(self.backward, self.deep_roots, 10, upstream=True)
        self.details["deep"] = {**served, "nodes": summary(nodes), "in_process": walked}
        log(
            f"     p50 {fmt(served['p50'])} ms, p99 {fmt(served['p99'])} ms; in process "
            f"p50 {fmt(walked['p50'])} ms, p99 {fmt(walked['p99'])} ms"
        )
        figure = f"5. upstream depth-10 (max_nodes {DEEP_MAX_NODES}, {len(times)} roots)"
        self.row(
            f"{figure} p50",
            served["p50"],
            "ms",
            reference=walked["p50"],
            reference_label="in-process BFS",
        )
        self.row(
            f"{figure} p99",
            served["p99"],
            "ms",
            reference=walked["p99"],
            reference_label="in-process BFS",
            target=f"<= {DEEP_RATIO_MAX:g}x in process",
            met=served["p99"] <= DEEP_RATIO_MAX * walked["p99"],
        )

    def memory(self, server: Server) -> None:
        server.alive()
        workers = self.details["workers"] = worker_memory_mb(server)
        for number, worker in enumerate(workers, 1):
            self.row(
                f"6. RSS of worker {number} after phases 1-3 and 5",
                worker["VmRSS"],
                "MB",
                reference_label=f"peak {fmt(worker['VmHWM'])} MB",
                target=f"<= {WORKER_RSS_MB:g} MB",
                met=worker["VmRSS"] <= WORKER_RSS_MB,
            )

    def mixed(self, replica_b: Server, client_a: httpx.Client, depth3: Path, paced: WrkRun) -> None:
        """The paced clients on replica B while replica A (`client_a`) ingests."""
        args = self.args
        seconds = args.mixed_duration or max(args.paced_duration, 2 * args.ingest_every)
        caught_up(replica_b, self.revision, self.key)
        log(f"  warm-up of replica B: {args.warmup:g} s of depth-3 queries")
        self.load(replica_b, depth3, SATURATION_CONNECTIONS, 2, args.warmup)
        batches = fresh_edges(
            self.graph,
            random.Random(self.seed + 3),
            math.ceil(seconds / args.ingest_every) + 2,
            args.ingest_edges,
        )
        bodies = [ingest_bodies(batch, args.ingest_edges, self.limit) for batch in batches]
        log(
            f"  4. mixed: {PACED_CLIENTS} paced clients on replica B for {seconds:g} s, "
            f"{args.ingest_edges:,} fresh edges into replica A every {args.ingest_every:g} s"
        )
        with httpx.Client(
            base_url=client_a.base_url, headers=client_a.headers, timeout=args.request_timeout
        ) as ingest_client:
            ingester = Ingester(ingest_client, bodies, args.ingest_every, seconds)
            ingester.start()
            try:
                mixed = self.load(
                    replica_b,
                    depth3,
                    PACED_CLIENTS,
                    2,
                    seconds,
                    pace_ms=PACE_MS,
                    exact=True,
                    name="mixed, queries on replica B",
                )
            finally:
                ingester.stopped.set()
                ingester.join(timeout=args.request_timeout)
        if ingester.failure:
            raise BenchError(f"ingestion into replica A failed: {ingester.failure}")
        if not ingester.times_ms:
            raise BenchError("no ingestion finished during the mixed phase")
        replica_b.alive()
        self.details["ingest_ms"] = [round(t, 1) for t in ingester.times_ms]
        log(f"     ingestions: {', '.join(f'{t:.0f}' for t in ingester.times_ms)} ms")
        assert mixed.latency is not None and paced.latency is not None
        self.row(
            "4. mixed: query p99 on replica B",
            mixed.latency["p99"],
            "ms",
            reference=paced.latency["p99"],
            reference_label="no writes (3.)",
            target=f"<= {MIXED_P99_MS:g} ms",
            met=mixed.latency["p99"] <= MIXED_P99_MS,
        )
        self.row(
            "4. mixed: query max on replica B",
            mixed.max_ms,
            "ms",
            reference=paced.max_ms,
            reference_label="no writes (3.)",
            target=f"<= {MIXED_MAX_MS:g} ms",
            met=mixed.max_ms <= MIXED_MAX_MS,
        )
        self.row(
            "4. mixed: query errors (non-2xx + socket)",
            mixed.error_total,
            "",
            target="0",
            met=not mixed.error_total,
        )
        ingested = summary(ingester.times_ms)
        self.row(
            f"4. mixed: ingestion p99 ({len(ingester.times_ms)} x {args.ingest_edges:,} edges "
            "into replica A)",
            ingested["p99"],
            "ms",
            reference_label=f"p50 {fmt(ingested['p50'])} ms",
        )


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------


def machine(with_postgresql: bool) -> str:
    cpus = len(os.sched_getaffinity(0))
    text = (
        f"{cpus} CPUs (nproc), Python {platform.python_version()}, {wrk_version()}, "
        f"Linux {platform.release()}"
    )
    if with_postgresql:
        with suppress(OSError, asyncpg.PostgresError):
            text += ", PostgreSQL " + str(asyncio.run(_pg_fetchval("SHOW server_version")))
    return text


def report(
    rows: list[Row],
    details: list[dict[str, Any]],
    args: argparse.Namespace,
    failure: str | None,
    machine_text: str,
    source: str,
) -> str:
    server_env = ", ".join(f"{k}={v}" for k, v in {**SERVER_ENV, **args.server_env}.items())
    lines = [
        "# slo-engine load benchmark",
        "",
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}: `{shlex.join(sys.argv)}`",
        "",
        f"Machine: {machine_text}. Source {source}. Seed {args.seed}.",
        "",
        f"Each server: `slo-cli serve` with {server_env}, everything else at its default "
        "(the answer cache included), an admin key from `slo-cli api-keys create`. Load: "
        "wrk (bench/wrk/rotate.lua), depth-3 downstream queries rotating over the run's "
        "seeded random roots. Latency percentiles are nearest-rank over every answer wrk "
        "timed, with wrk's coordinated-omission correction undone; throughput counts 2xx "
        "answers only. The errors rows are the harness's own check: a fast error would "
        "flatter the figure next to it. Phase 5's p99 over 50 roots is its slowest answer.",
        "",
    ]
    lines += markdown_table(rows)
    lines += ["", "## Details", ""]
    for d in details:
        lines.append(
            f"- **{d['engine']} {d['services']:,}** ({d['edges']:,} edges): ingested in "
            f"{d.get('ingest_s', float('nan')):.2f} s; {d['roots']} depth-3 roots, answer "
            f"nodes p50 {d['depth3_nodes']['p50']:.0f} max {d['depth3_nodes']['max']:.0f}; "
            f"1-min load average at start / end {d['loadavg'][0]:.2f} / "
            f"{d['loadavg'][-1]:.2f}"
        )
        for name, text in d.get("phases", {}).items():
            lines.append(f"  - {name}: {text}")
        if "deep" in d:
            deep, ref = d["deep"], d["deep"]["in_process"]
            lines.append(
                f"  - upstream depth 10: {deep['n']} roots, p50 / p99 / max "
                f"{fmt(deep['p50'])} / {fmt(deep['p99'])} / {fmt(deep['max'])} ms, answer "
                f"nodes p50 {deep['nodes']['p50']:.0f} max {deep['nodes']['max']:.0f}; "
                f"in process p50 / p99 {fmt(ref['p50'])} / {fmt(ref['p99'])} ms"
            )
        for worker in d.get("workers", []):
            lines.append(
                f"  - worker pid {worker['pid']}: RSS {worker['VmRSS']:.0f} MB, "
                f"peak {worker['VmHWM']:.0f} MB"
            )
        if "sessions_before" in d:
            lines.append(
                f"  - pg_stat_database.sessions before / after phases 1-3: "
                f"{d['sessions_before']} / {d.get('sessions_after', '-')}"
            )
        if "ingest_ms" in d:
            lines.append(f"  - mixed-phase ingestions (ms): {d['ingest_ms']}")
    if failure:
        lines += ["", f"**The run failed**: {failure}"]
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="50000", help="Numbers of services (e.g. 250000).")
    parser.add_argument("--duration", type=float, default=20.0, help="Each saturation run, s.")
    parser.add_argument("--single-duration", type=float, default=10.0, help="One-client runs, s.")
    parser.add_argument("--paced-duration", type=float, default=30.0, help="Paced clients, s.")
    parser.add_argument(
        "--mixed-duration",
        type=float,
        default=None,
        help="Mixed phase, s (default: the paced duration, at least two ingestion periods).",
    )
    parser.add_argument("--warmup", type=float, default=5.0, help="Warm-up load per server, s.")
    parser.add_argument("--roots", type=int, default=200, help="Depth-3 roots rotated over.")
    parser.add_argument("--deep-roots", type=int, default=50, help="Upstream depth-10 roots.")
    parser.add_argument("--ingest-edges", type=int, default=5000)
    parser.add_argument("--ingest-every", type=float, default=5.0, help="Seconds.")
    parser.add_argument("--chunk-edges", type=int, default=40_000, help="Edges per request.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--wrk-timeout", type=float, default=10.0, help="Per request, s.")
    parser.add_argument("--request-timeout", type=float, default=300.0)
    parser.add_argument("--time-limit", type=int, default=1800, help="Seconds for everything.")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Extra server environment (repeatable), e.g. QUERY_CACHE=off.",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "load-latest.md")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Development and smoke runs: 2,000 services, 5 s phases (flags still override).",
    )
    known, _ = parser.parse_known_args()
    if known.quick:
        parser.set_defaults(**QUICK)
    args = parser.parse_args()
    env = {}
    for item in args.server_env:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--server-env wants NAME=VALUE, not {item!r}")
        env[name] = value
    args.server_env = env
    return args


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        log("wrk is not installed: apt-get install -y wrk (or make bench-load)")
        return 2
    sizes = [int(s) for s in args.sizes.split(",") if s]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    limit = int(os.environ.get("MAX_REQUEST_BODY_BYTES", DEFAULT_BODY_LIMIT))

    def on_alarm(signum: int, frame: object) -> None:
        raise BenchTimeoutError(f"the run went over --time-limit {args.time_limit} s")

    def on_term(signum: int, frame: object) -> None:
        raise BenchError("terminated (SIGTERM)")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(args.time_limit)
    rows: list[Row] = []
    details: list[dict[str, Any]] = []
    failure = None
    machine_text = machine("postgresql" in engines)
    source = source_fingerprint()
    try:
        for engine in engines:
            for size in sizes:
                run = LoadRun(engine, size, args, limit)
                details.append(run.details)
                try:
                    run.measure()
                finally:
                    # Phase order in the table, whatever order they ran in.
                    rows += sorted(run.rows, key=lambda row: row.figure.split(".")[0])
    except (BenchError, KeyboardInterrupt, httpx.HTTPError, OSError, nx.NetworkXError) as error:
        failure = f"{type(error).__name__}: {error}"
        log(f"FAILED: {failure}")
    finally:
        signal.alarm(0)
    if source_fingerprint() != source:
        source += " (src/ changed while it ran)"
    text = report(rows, details, args, failure, machine_text, source)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    args.output.with_suffix(".json").write_bytes(
        orjson.dumps(
            {
                "argv": sys.argv,
                "args": vars(args),
                "machine": machine_text,
                "source": source,
                "rows": [{**vars(row), "ratio": row.ratio} for row in rows],
                "details": details,
                "failure": failure,
            },
            default=str,
            option=orjson.OPT_INDENT_2,
        )
    )
    log(f"written {args.output}")
    return 1 if failure else 0  # as bench/run.py: a missed target is a finding, not a failure


if __name__ == "__main__":
    sys.exit(main())
