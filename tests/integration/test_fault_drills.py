"""Fault drills: the real server (`slo-cli serve`) against a PostgreSQL cluster that the
test stops, starts and cuts sessions of, to show what the outage handling promises
(infra/db.py, infra/db_outage.py) end to end:

* a database that goes away is a 503 problem with Retry-After, never a 500, and one
  log line when it goes and one when it is back;
* a write cut by the outage is stored whole or not at all, never in part;
* the server recovers by itself, whether the database went away under it or was
  never there when it started;
* sessions terminated under a loaded server cost its clients nothing (a unit of work
  whose connection dropped before its commit was sent is retried once on a fresh one).

The cluster is the drills' own (tests/postgres_cluster.py): the shared server is never
stopped. Like every PostgreSQL suite they run when SLO_ENGINE_TEST_POSTGRES_URL is set,
and then a cluster that cannot be made is a failure, not a skip.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from slo_engine.access.keys import Scope
from slo_engine.infra.migrate import upgrade_database
from tests.conftest import POSTGRES_ENV, server_off
from tests.e2e.conftest import make_key
from tests.local_servers import served_env, start_api, wait_until
from tests.postgres_cluster import (
    WRITE_IN_PROGRESS,
    DrillCluster,
    create_cluster,
    run_sync,
    stop_api,
)

pytestmark = pytest.mark.postgres

INGEST = "/api/v1/services/dependencies"
PROBLEM_MEDIA_TYPE = "application/problem+json"
RETRY_AFTER = "5"  # infra/db.py RETRY_AFTER_SECONDS
WENT_AWAY = "database unavailable"
CAME_BACK = "database answers again"
RETRIED = "database connection lost before the commit; retrying once"


@pytest.fixture(scope="module")
def cluster() -> Iterator[DrillCluster]:
    """The drills' own PostgreSQL cluster on a free port, removed afterwards."""
    if not os.environ.get(POSTGRES_ENV):
        server_off(POSTGRES_ENV, "PostgreSQL fault drill")
    try:
        made = create_cluster()
    except Exception as error:  # no initdb, runuser or postgres user; did not start
        pytest.fail(
            f"the fault drills could not make their own PostgreSQL cluster ({POSTGRES_ENV} "
            f"is set, so this is a failure): {type(error).__name__}: {error}"
        )
    try:
        yield made
    finally:
        made.remove()


@dataclass
class Drill:
    """A fresh, migrated database on the running drill cluster, and an admin key."""

    cluster: DrillCluster
    database: str
    url: str
    key: dict[str, str]

    def server_env(self) -> dict[str, str]:
        return served_env(self.url, LOG_JSON="true")

    def stored_edges(self) -> int:
        """Rows of service_dependencies, read straight from the database."""
        return int(
            self.cluster.fetch_value(self.database, "SELECT count(*) FROM service_dependencies")
        )


@pytest.fixture
def drill(cluster: DrillCluster) -> Iterator[Drill]:
    # A drill that failed half-way may have left the cluster stopped.
    cluster.ensure_running()
    name = f"drill_{uuid.uuid4().hex[:10]}"
    cluster.execute("postgres", f'CREATE DATABASE "{name}"')
    url = cluster.url(name)
    upgrade_database(url)
    yield Drill(cluster, name, url, {"X-API-Key": make_key(url, "driller", Scope.ADMIN)})
    if cluster.running:
        cluster.execute("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def serving(env: dict[str, str], log_path: Path, *, until_ready: bool = True) -> Iterator[str]:
    """`slo-cli serve` on the drill database: its base URL once ready (or only alive)."""
    process, url = start_api(
        env, log_path, ready_path="/api/v1/health/ready" if until_ready else "/api/v1/health"
    )
    try:
        yield url
    finally:
        stop_api(process)


class InFlightIngest:
    """An ingest sent from a thread of its own, so that the drill can act on the
    database while the server handles it."""

    def __init__(self, url: str, key: dict[str, str], body: dict[str, Any]) -> None:
        self.done = threading.Event()
        self._response: httpx.Response | None = None
        self._error: httpx.HTTPError | None = None
        self._thread = threading.Thread(
            target=self._send, args=(url, key, body), name="in-flight-ingest", daemon=True
        )
        self._thread.start()

    def _send(self, url: str, key: dict[str, str], body: dict[str, Any]) -> None:
        try:
            self._response = httpx.post(f"{url}{INGEST}", json=body, headers=key, timeout=30)
        except httpx.HTTPError as error:  # answer() fails the drill on it
            self._error = error
        finally:
            self.done.set()

    def answer(self) -> httpx.Response:
        """Its response; no answer within 30 s, or a dropped connection, fails."""
        self._thread.join(timeout=30)
        assert self.done.is_set(), "the in-flight ingest got no answer in 30 s"
        assert self._error is None, f"the in-flight ingest got no answer: {self._error!r}"
        assert self._response is not None
        return self._response


def manual(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {"source": "manual", "edges": [{"source": s, "target": t} for s, t in pairs]}


def chain(prefix: str, length: int) -> dict[str, Any]:
    """An ingestion of `length` edges prefix-0 -> prefix-1 -> ... (no cycle)."""
    return manual(*((f"{prefix}-{i}", f"{prefix}-{i + 1}") for i in range(length)))


def freshness(response: httpx.Response) -> str:
    """What a graph read says of its revision (live/reads.py)."""
    assert response.status_code == 200, response.text
    return response.headers["X-Graph-Freshness"]


def assert_database_unavailable(response: httpx.Response) -> None:
    """The outage answer: a 503 problem of type database-unavailable with Retry-After."""
    what = f"{response.request.method} {response.request.url.path}"
    assert response.status_code == 503, (what, response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE), (what, response)
    assert response.headers.get("retry-after") == RETRY_AFTER, (what, dict(response.headers))
    problem = response.json()
    assert problem["type"].endswith("/database-unavailable"), (what, problem)
    assert problem["status"] == 503, (what, problem)


def log_records(log_path: Path) -> list[dict[str, Any]]:
    """Each JSON log line of the server, as an object."""
    records = []
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def log_events(log_path: Path) -> list[str]:
    """The `event` of each JSON log line (other lines as they are)."""
    events = []
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            events.append(line)
            continue
        events.append(str(record.get("event", line)) if isinstance(record, dict) else line)
    return events


def assert_one_outage_logged(log_path: Path) -> None:
    """One line when the database went away, one when it came back, and no traceback
    or unhandled error anywhere: an outage is not a bug."""
    events = log_events(log_path)
    went = [e for e in events if e.startswith(WENT_AWAY)]
    back = [e for e in events if e.startswith(CAME_BACK)]
    assert len(went) == 1, (went, log_path)
    assert len(back) == 1, (back, log_path)
    assert_clean_log(log_path)


def assert_clean_log(log_path: Path) -> None:
    text = log_path.read_text(errors="replace")
    bad = [line for line in text.splitlines() if "Traceback" in line or "unhandled error" in line]
    assert not bad, "\n".join(line[:2000] for line in bad[:3])


# ------------------------------------------------------------------ drill 1


def test_database_stops_during_an_ingest_and_comes_back(drill: Drill, tmp_path: Path) -> None:
    """The cluster is stopped (-m immediate) while an ingest of thousands of edges is in
    its transaction. During the outage reads answer from the last applied revision,
    marked unconfirmed, and writes are 503 problems; once the cluster is back, the same
    server process is confirmed current again, and the cut ingest is stored whole or
    not at all."""
    cluster = drill.cluster
    log_path = tmp_path / "server.log"
    in_flight_edges = 6000
    with (
        serving(drill.server_env(), log_path) as url,
        httpx.Client(base_url=url, headers=drill.key, timeout=30) as client,
    ):
        assert client.post(INGEST, json=manual(("checkout", "payments"))).status_code == 200
        before = drill.stored_edges()

        ingest = InFlightIngest(url, drill.key, chain("inflight", in_flight_edges))
        # Stop it once the ingest's transaction has written (and not yet committed).
        caught = cluster.wait_for_write(
            drill.database, "service_dependencies", 15, give_up=ingest.done.is_set
        )
        cluster.stop()
        cut = ingest.answer()
        assert caught, "the ingest ended before its write was seen: nothing was in flight"
        assert cut.status_code in (200, 503), (cut.status_code, cut.text)
        if cut.status_code == 503:
            assert_database_unavailable(cut)

        # Down: once the change feed has noticed, reads answer from the last applied
        # revision and say so; writes are 503 problems, quickly (a refused connect).
        wait_until(
            lambda: (
                freshness(client.get("/api/v1/services/checkout/dependencies")) == "unconfirmed"
            ),
            30,
            "reads marked unconfirmed",
        )
        for _ in range(3):
            read = client.get("/api/v1/services/checkout/dependencies")
            assert read.status_code == 200, read.text
            assert freshness(read) == "unconfirmed"
            assert {n["service_id"] for n in read.json()["nodes"]} >= {"payments"}
            assert freshness(client.get("/api/v1/graph")) == "unconfirmed"
            assert_database_unavailable(client.post(INGEST, json=manual(("checkout", "ledger"))))

        cluster.start()
        # Back, without restarting the server: the feed reconnects and reloads.
        wait_until(
            lambda: freshness(client.get("/api/v1/services/checkout/dependencies")) == "confirmed",
            30,
            "reads confirmed current again",
        )
        landed = drill.stored_edges() - before
        assert landed in (0, in_flight_edges), f"part of the cut ingest was stored: {landed}"
        if cut.status_code == 200:
            assert landed == in_flight_edges
        elif "nothing was changed" in cut.json()["detail"]:
            assert landed == 0, cut.json()
        # The server's graph agrees with the table (its snapshot follows the revision).
        view = client.get("/api/v1/services/inflight-0/dependencies")
        assert view.status_code == (200 if landed else 404), view.text

        later = client.post(INGEST, json=manual(("checkout", "ledger")))
        assert later.status_code == 200, later.text
        assert drill.stored_edges() == before + landed + 1
        after = client.get("/api/v1/services/checkout/dependencies")
        assert {n["service_id"] for n in after.json()["nodes"]} == {"payments", "ledger"}
        said = "stored" if cut.status_code == 200 else cut.json()["detail"]
        print(
            f"\ndrill 1: ingest of {in_flight_edges} edges cut by the stop answered "
            f"{cut.status_code} ({said}); {landed} of its edges stored; during the outage "
            "reads answered unconfirmed and writes 503"
        )
    assert_one_outage_logged(log_path)


# ------------------------------------------------------------------ drill 2


def test_server_starts_while_the_database_is_down(drill: Drill, tmp_path: Path) -> None:
    """A server started before its database (a node reboot, a rollout during a failover)
    is alive but not ready, answers 503 problems, and serves once the database is up,
    without a restart."""
    cluster = drill.cluster
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(manual(("checkout", "payments"), ("payments", "ledger"))))
    subprocess.run(
        [sys.executable, "-m", "slo_engine.cli", "ingest", str(seed)],
        env={**os.environ, "DATABASE_URL": drill.url},
        check=True,
        capture_output=True,
        timeout=60,
    )
    cluster.stop()
    log_path = tmp_path / "server.log"
    with (
        serving(drill.server_env(), log_path, until_ready=False) as url,
        httpx.Client(base_url=url, headers=drill.key, timeout=30) as client,
    ):
        assert client.get("/api/v1/health").status_code == 200
        ready = client.get("/api/v1/health/ready")
        assert ready.status_code == 503, ready.text
        assert ready.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
        assert ready.json()["type"].endswith("/not-ready"), ready.json()
        assert_database_unavailable(client.get("/api/v1/services/checkout/dependencies"))
        assert_database_unavailable(client.get("/api/v1/services"))
        assert_database_unavailable(client.post(INGEST, json=manual(("checkout", "cart"))))
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert "slo_engine_db_available 0.0" in metrics.text

        cluster.start()
        deadline = time.monotonic() + 15
        polls = 0
        while True:
            polls += 1
            read = client.get("/api/v1/services/checkout/dependencies", params={"depth": 2})
            if read.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert read.status_code == 200, read.text
        assert {n["service_id"] for n in read.json()["nodes"]} == {"payments", "ledger"}
        assert client.get("/api/v1/health/ready").status_code == 200
        assert client.post(INGEST, json=manual(("checkout", "cart"))).status_code == 200
        print(f"\ndrill 2: reads answered 200 after {polls} poll(s) once the cluster was up")
    assert_one_outage_logged(log_path)


# ------------------------------------------------------------------ drill 3

# Ends every session of the drill database but the one asking.
TERMINATE = """
SELECT count(*) FROM (
    SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
    WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND datname = $1
) AS terminated WHERE ended
"""
READERS = 14
INGESTERS = 2
INGEST_EDGES = 2000
READ_PAUSE_SECONDS = 0.03
TERMINATIONS = 5
LOAD_SECONDS = 12.0
MAX_REQUESTS_PER_CLIENT = 3000


@dataclass
class Load:
    """What the clients saw: each status, what the 503s said (nothing was changed, or
    the commit's outcome is unknown), and every answer that breaks the promise (a 500,
    a malformed 503, a dropped connection)."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    unavailable: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, response: httpx.Response) -> None:
        said = None
        if response.status_code == 503:
            try:
                assert_database_unavailable(response)
                said = str(response.json()["detail"])[:60]
            except (AssertionError, ValueError, KeyError) as error:
                self.failed(kind, error)
        with self.lock:
            self.statuses[(kind, response.status_code)] += 1
            if said is not None:
                self.unavailable[(kind, said)] += 1
            if response.status_code not in (200, 503):
                self.errors.append(
                    f"{kind} {response.request.url.path} -> {response.status_code}: "
                    f"{response.text[:300]}"
                )

    def failed(self, kind: str, error: Exception) -> None:
        with self.lock:
            self.errors.append(f"{kind}: {type(error).__name__}: {error}")


async def terminate_sessions(
    dsn: str, database: str, rounds: int, gap: float
) -> list[tuple[int, bool]]:
    """`rounds` times: wait (at most a second) for an ingest to be writing, then end
    every session of `database`; returns (sessions ended, an ingest was writing)."""
    connection = await asyncpg.connect(dsn, timeout=10)
    results = []
    try:
        for _ in range(rounds):
            await asyncio.sleep(gap)
            deadline = time.monotonic() + 1.0
            writing = False
            while time.monotonic() < deadline:
                writing = bool(await connection.fetchval(WRITE_IN_PROGRESS, "service_dependencies"))
                if writing:
                    break
                await asyncio.sleep(0.002)
            ended = int(await connection.fetchval(TERMINATE, database))
            results.append((ended, writing))
    finally:
        await connection.close()
    return results


def test_sessions_terminated_under_load(drill: Drill, tmp_path: Path) -> None:
    """While 16 clients read and ingest, every session of the server is terminated
    several times, some while an ingest of thousands of edges is writing. Clients see
    no 500 and no dropped connection: a unit of work that lost its connection before
    its commit runs again on a fresh one."""
    log_path = tmp_path / "server.log"
    fan_out = manual(*(("root", f"svc-{i}") for i in range(200)))
    fan_out["edges"] += manual(*((f"svc-{i}", f"leaf-{i % 20}") for i in range(200)))["edges"]
    reads = [
        "/api/v1/services/root/dependencies?depth=2",
        "/api/v1/services/leaf-3/dependencies?direction=upstream&depth=2",
        "/api/v1/services/svc-7",
        "/api/v1/services?limit=50",
    ]
    load = Load()
    stop = threading.Event()

    with serving(drill.server_env(), log_path) as url:
        seeded = httpx.post(f"{url}{INGEST}", json=fan_out, headers=drill.key, timeout=30)
        assert seeded.status_code == 200, seeded.text

        def reader(number: int) -> None:
            with httpx.Client(base_url=url, headers=drill.key, timeout=30) as client:
                for count in range(MAX_REQUESTS_PER_CLIENT):
                    if stop.is_set():
                        return
                    try:
                        load.record("read", client.get(reads[(number + count) % len(reads)]))
                    except httpx.HTTPError as error:
                        load.failed("read", error)
                    # A breath between reads: a saturated server would stretch each
                    # ingest over several terminations, and a unit of work is retried once.
                    time.sleep(READ_PAUSE_SECONDS)

        def ingester(number: int) -> None:
            with httpx.Client(base_url=url, headers=drill.key, timeout=30) as client:
                for count in range(MAX_REQUESTS_PER_CLIENT):
                    if stop.is_set():
                        return
                    # New edges each time, as discovery brings them: the cycle scan and
                    # its savepoint run too.
                    body = chain(f"load{number}-{count}", INGEST_EDGES)
                    try:
                        load.record("ingest", client.post(INGEST, json=body))
                    except httpx.HTTPError as error:
                        load.failed("ingest", error)

        clients = [
            threading.Thread(target=reader, args=(n,), daemon=True) for n in range(READERS)
        ] + [threading.Thread(target=ingester, args=(n,), daemon=True) for n in range(INGESTERS)]
        started = time.monotonic()
        for client_thread in clients:
            client_thread.start()
        try:
            rounds = run_sync(
                terminate_sessions(
                    drill.cluster.dsn(drill.database),
                    drill.database,
                    TERMINATIONS,
                    gap=LOAD_SECONDS / (TERMINATIONS + 1),
                )
            )
            time.sleep(max(0.0, LOAD_SECONDS - (time.monotonic() - started)))
        finally:
            stop.set()
            for client_thread in clients:
                client_thread.join(timeout=30)
        assert not any(t.is_alive() for t in clients), "a client got no answer in 30 s"
        after = httpx.get(f"{url}{reads[0]}", headers=drill.key, timeout=30)
        assert after.status_code == 200, after.text

    elapsed = time.monotonic() - started
    total = sum(load.statuses.values())
    unavailable = sum(n for (_, status), n in load.statuses.items() if status == 503)
    retried = sum(1 for e in log_events(log_path) if e.startswith(RETRIED))
    print(
        f"\ndrill 3: {total} requests in {elapsed:.1f} s by {READERS + INGESTERS} clients; "
        f"statuses {dict(sorted(load.statuses.items()))}; {unavailable} answered 503 "
        f"{dict(load.unavailable)}; "
        f"terminations (sessions ended, ingest writing) {rounds}; "
        f"{retried} units of work retried on a fresh connection"
    )
    assert not load.errors, "\n".join(load.errors[:10])
    assert set(status for _, status in load.statuses) <= {200, 503}, load.statuses
    assert sum(ended for ended, _ in rounds) >= TERMINATIONS, rounds
    assert any(writing for _, writing in rounds), "no termination hit an ingest in flight"
    # A dropped connection that its retry got past is no outage: the log says so only
    # for a unit of work that failed twice, and then, for a request's (its line carries
    # the request's correlation id), its client got the 503. Background work (catch-ups,
    # key stamps) runs outside any request and may fail twice with no client to tell.
    went_away = sum(
        1
        for record in log_records(log_path)
        if str(record.get("event", "")).startswith(WENT_AWAY) and "correlation_id" in record
    )
    assert went_away <= unavailable, (went_away, unavailable)
    assert_clean_log(log_path)


# ------------------------------------------------------------------ drill 4

# An ingest's session after its rows are written and before its commit is sent: idle in
# its transaction while the process scans for cycles, or in the cycle savepoint.
WROTE_NOT_COMMITTED = """
SELECT pid FROM pg_stat_activity
WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'idle in transaction'
  AND (query LIKE 'INSERT INTO service_dependencies%' OR query LIKE '%SAVEPOINT%'
       OR query LIKE '%circular_dependency_alerts%')
LIMIT 1
"""


async def terminate_once_written(
    dsn: str, database: str, within: float, give_up: threading.Event
) -> bool:
    """End the session of an ingest that has written its rows but not committed;
    whether one was found (and ended) within `within` s."""
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and not give_up.is_set():
            pid = await connection.fetchval(WROTE_NOT_COMMITTED, database)
            if pid is not None:
                return bool(await connection.fetchval("SELECT pg_terminate_backend($1)", pid))
            await asyncio.sleep(0.001)
        return False
    finally:
        await connection.close()


def test_session_terminated_between_its_writes_and_its_commit(drill: Drill, tmp_path: Path) -> None:
    """Drill 3 aimed at one moment: the session of an ingest is terminated after its
    rows are written and before its commit is sent (the cycle scan runs in between).
    Nothing was committed, so the unit of work runs again on a fresh connection: the
    client gets its 200 and the whole ingest is stored, once."""
    log_path = tmp_path / "server.log"
    edges = 6000
    with serving(drill.server_env(), log_path) as url:
        ingest = InFlightIngest(url, drill.key, chain("cut", edges))
        hit = run_sync(
            terminate_once_written(
                drill.cluster.dsn(drill.database), drill.database, 15, ingest.done
            )
        )
        response = ingest.answer()
        assert hit, "the ingest committed before its session could be terminated"
        stored = drill.stored_edges()
        print(
            f"\ndrill 4: ingest cut between its writes and its commit answered "
            f"{response.status_code}; {stored} of its {edges} edges stored"
        )
        assert stored in (0, edges), f"part of the ingest was stored: {stored}"
        assert response.status_code == 200, response.text
        assert stored == edges
        view = httpx.get(f"{url}/api/v1/services/cut-0/dependencies", headers=drill.key)
        assert view.status_code == 200, view.text
    assert any(e.startswith(RETRIED) for e in log_events(log_path))
    assert_clean_log(log_path)
