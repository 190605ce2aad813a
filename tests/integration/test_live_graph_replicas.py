"""The live graph across replicas: two real `slo-cli serve` processes sharing one
database, on each engine. Each process answers reads from its own live graph, kept
current beside the requests by its change feed (live/change_feed.py): PostgreSQL
notifications plus a periodic backstop read, or SQLite's `PRAGMA data_version`.

What is shown here, functionally (no timing is asserted: whatever is "eventually" is
polled for with a generous bound):

* read-your-writes across replicas with `min_revision`, and convergence without it;
* API-key revocation: at once on the replica that made it, eventually on the other;
* a change made behind the servers' backs (plain SQL, no notification) reaches both,
  incrementally (a catch-up, not a reload of the whole graph);
* conditional reads: ETag, If-None-Match and 304, the same tag on both replicas;
* `min_revision` beyond anything committed: a 400 problem naming the parameter;
* (PostgreSQL) reads open no database session and run no statement on a pooled
  connection; one change-feed connection per server worker.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from slo_engine.access.keys import Scope
from tests.conftest import _admin_dsn, _pg_execute
from tests.e2e.conftest import make_key
from tests.local_servers import run_cli, served_env, start_api, wait_until

INGEST = "/api/v1/services/dependencies"
FEED_APPLICATION = "slo-engine change feed"
# Generous bounds for what happens "eventually" (the backstop is 1 s by default).
EVENTUALLY = 20.0


# ------------------------------------------------------------------ the database


@dataclass(frozen=True)
class SharedDatabase:
    engine: str  # "sqlite" or "postgresql"
    url: str  # SQLAlchemy URL, as DATABASE_URL

    @property
    def dsn(self) -> str:
        """A plain driver DSN of the PostgreSQL database (asyncpg)."""
        return _admin_dsn(self.url)

    @property
    def path(self) -> str:
        """The file of the SQLite database."""
        database = make_url(self.url).database
        assert database
        return database


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SharedDatabase]:
    """A fresh database of each engine, migrated by `slo-cli db upgrade`: a new SQLite
    file, or a new PostgreSQL database on the test server (dropped afterwards)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        run_cli({"DATABASE_URL": url}, "db", "upgrade")
        yield SharedDatabase("sqlite", url)
        return
    # The session's database names the server (and fails, in CI, when there is none).
    server_url: str = request.getfixturevalue("postgres_url")
    name = f"slo_live_{uuid.uuid4().hex[:12]}"
    admin_dsn = _admin_dsn(server_url)
    asyncio.run(_pg_execute(admin_dsn, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        run_cli({"DATABASE_URL": url}, "db", "upgrade")
        yield SharedDatabase("postgresql", url)
    finally:
        asyncio.run(_pg_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# ------------------------------------------------------------------ the replicas


@dataclass
class Replicas:
    database: SharedDatabase
    a: str  # base URL of replica A
    b: str  # base URL of replica B
    key: dict[str, str]  # an admin key's header (logs: replica-a.log, replica-b.log)

    def write(self, url: str, *edges: tuple[str, str], **body: Any) -> int:
        """Ingest `edges` through the replica at `url`; returns the revision it wrote."""
        response = httpx.post(
            f"{url}{INGEST}",
            headers=self.key,
            json={
                "source": "manual",
                "edges": [{"source": s, "target": t} for s, t in edges],
                **body,
            },
            timeout=30,
        )
        assert response.status_code == 200, response.text
        revision = int(response.json()["revision"])
        assert response.headers["X-Graph-Revision"] == str(revision)
        return revision

    def get(self, url: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.key, **kwargs.pop("headers", {})}
        return httpx.get(f"{url}{path}", headers=headers, timeout=30, **kwargs)


@pytest.fixture
def start_replicas(
    shared_database: SharedDatabase, tmp_path: Path
) -> Iterator[Callable[..., Replicas]]:
    """Start replicas A and B (`slo-cli serve`) on the shared database, each with
    `served_env(...)` and the extra environment given; all are stopped afterwards."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> Replicas:
        key = {"X-API-Key": make_key(shared_database.url, "replicas-admin", Scope.ADMIN)}
        urls = []
        for name in ("a", "b"):
            log = tmp_path / f"replica-{name}.log"
            process, url = start_api(served_env(shared_database.url, **env), log)
            processes.append(process)
            urls.append(url)
        return Replicas(shared_database, urls[0], urls[1], key)

    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def replicas(start_replicas: Callable[..., Replicas]) -> Replicas:
    return start_replicas()


def _dependencies(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {node["service_id"] for node in response.json()["nodes"]}


def _live_graph_updates(url: str) -> dict[str, float]:
    """The replica's `slo_engine_live_graph_updates_total` by kind (catch_up, reload)."""
    response = httpx.get(f"{url}/metrics", timeout=30)
    assert response.status_code == 200, response.text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "slo_engine_live_graph_updates_total":
                counts[sample.labels["kind"]] = sample.value
    return counts


# ------------------------------------------------------------------ read-your-writes


def test_a_write_through_a_is_read_through_b(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    revision = replicas.write(a, ("checkout", "payments"))

    # A, which made the write, reads it on its next request, without asking.
    mine = replicas.get(a, "/api/v1/services/checkout/dependencies")
    assert _dependencies(mine) == {"payments"}
    assert int(mine.headers["X-Graph-Revision"]) >= revision

    # B reads it on the very first request that passes the write's revision.
    seen = replicas.get(
        b, "/api/v1/services/checkout/dependencies", params={"min_revision": revision}
    )
    assert _dependencies(seen) == {"payments"}
    assert int(seen.headers["X-Graph-Revision"]) >= revision
    assert seen.headers["X-Graph-Freshness"] == "confirmed"

    # Without min_revision, B shows the next write eventually (its change feed).
    later = replicas.write(a, ("checkout", "ledger"))
    assert later > revision

    def b_shows_ledger() -> bool:
        response = replicas.get(b, "/api/v1/services/checkout/dependencies")
        return (
            _dependencies(response) == {"payments", "ledger"}
            and int(response.headers["X-Graph-Revision"]) >= later
        )

    wait_until(b_shows_ledger, EVENTUALLY, "B to show the edge written through A")
    # The other reads answer from the same live graph.
    for path in ("/api/v1/services/ledger", "/api/v1/services/ledger/impact", "/api/v1/graph"):
        response = replicas.get(b, path)
        assert response.status_code == 200, (path, response.text)
        assert int(response.headers["X-Graph-Revision"]) >= later, path


# ------------------------------------------------------------------ key revocation


def test_a_key_revoked_through_a_is_refused_by_both(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    doomed = {"X-API-Key": make_key(replicas.database.url, "doomed", Scope.READ)}
    path = "/api/v1/services"
    # Both replicas know the key (and have it in their key caches) before it is revoked.
    for url in (a, b):
        assert httpx.get(f"{url}{path}", headers=doomed, timeout=30).status_code == 200

    revoked = httpx.delete(f"{a}/api/v1/api-keys/doomed", headers=replicas.key, timeout=30)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"]

    # A refuses it on the very next request.
    refused = httpx.get(f"{a}{path}", headers=doomed, timeout=30)
    assert refused.status_code == 401, refused.text
    # B refuses it eventually (a notification, or the backstop).
    wait_until(
        lambda: httpx.get(f"{b}{path}", headers=doomed, timeout=30).status_code == 401,
        EVENTUALLY,
        "B to refuse the key revoked through A",
    )
    # Other keys go on working on both.
    for url in (a, b):
        assert replicas.get(url, path).status_code == 200


# ------------------------------------------------------------------ a change behind their backs


def _move_team_behind_the_servers(database: SharedDatabase, service_id: str, team: str) -> int:
    """Move the service to `team` at a new graph revision, with plain SQL in one
    transaction: no notification is sent. Returns the new revision."""
    if database.engine == "sqlite":
        with closing(sqlite3.connect(database.path, timeout=30)) as connection, connection:
            connection.execute("UPDATE graph_state SET revision = revision + 1 WHERE id = 1")
            (revision,) = connection.execute(
                "SELECT revision FROM graph_state WHERE id = 1"
            ).fetchone()
            connection.execute(
                "UPDATE services SET team = ?, revision = ? WHERE service_id = ?",
                (team, revision, service_id),
            )
        return int(revision)

    async def move() -> int:
        connection = await asyncpg.connect(database.dsn, timeout=10)
        try:
            async with connection.transaction():
                revision = await connection.fetchval(
                    "UPDATE graph_state SET revision = revision + 1 WHERE id = 1 RETURNING revision"
                )
                status = await connection.execute(
                    "UPDATE services SET team = $1, revision = $2 WHERE service_id = $3",
                    team,
                    revision,
                    service_id,
                )
                assert status == "UPDATE 1", status
            return int(revision)
        finally:
            await connection.close()

    return asyncio.run(move())


def test_a_change_without_notification_reaches_both_incrementally(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    written = replicas.write(a, ("cart", "redis"), nodes=[{"service_id": "cart", "team": "shop"}])
    for url in (a, b):
        first = replicas.get(url, "/api/v1/services/cart", params={"min_revision": written})
        assert first.status_code == 200, first.text
        assert first.json()["team"] == "shop"
    before = {url: _live_graph_updates(url) for url in (a, b)}

    moved = _move_team_behind_the_servers(replicas.database, "cart", "moved")
    assert moved == written + 1

    for name, url in (("A", a), ("B", b)):

        def shows_moved(url: str = url) -> bool:
            response = replicas.get(url, "/api/v1/services/cart")
            return (
                response.status_code == 200
                and response.json()["team"] == "moved"
                and int(response.headers["X-Graph-Revision"]) >= moved
            )

        wait_until(shows_moved, EVENTUALLY, f"{name} to show the team changed by plain SQL")
        # The rest of the graph is still there.
        assert _dependencies(replicas.get(url, "/api/v1/services/cart/dependencies")) == {"redis"}

    # Caught up with the changed rows, not by reading the whole graph again.
    for url in (a, b):
        after = _live_graph_updates(url)
        assert after.get("reload", 0) == before[url].get("reload", 0), (before[url], after)
        assert after.get("catch_up", 0) > before[url].get("catch_up", 0), (before[url], after)


# ------------------------------------------------------------------ conditional reads


def test_etag_and_not_modified(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    revision = replicas.write(a, ("web", "api"), ("api", "db"))
    path = "/api/v1/services/web/dependencies"
    params = {"depth": 2}
    # B at the write's revision (a first read with min_revision has its own tag).
    assert replicas.get(b, path, params={**params, "min_revision": revision}).status_code == 200

    first = replicas.get(b, path, params=params)
    assert _dependencies(first) == {"api", "db"}
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and etag.endswith('"'), etag

    again = replicas.get(b, path, params=params, headers={"If-None-Match": etag})
    assert again.status_code == 304, again.text
    assert again.content == b""
    assert again.headers["ETag"] == etag
    assert again.headers["X-Graph-Revision"] == first.headers["X-Graph-Revision"]
    # The tag names the revision, not the replica: A, at the same revision, agrees.
    on_a = replicas.get(a, path, params=params, headers={"If-None-Match": etag})
    assert on_a.status_code == 304, on_a.text
    assert on_a.headers["ETag"] == etag
    # A conditional read is still an authenticated one.
    anonymous = httpx.get(f"{b}{path}", params=params, headers={"If-None-Match": etag}, timeout=30)
    assert anonymous.status_code == 401, anonymous.text

    # After a write, the same conditional read is a 200 with another tag: at once on A,
    # which made the write, and eventually on B.
    later = replicas.write(a, ("api", "cache"))
    assert later > revision
    fresh_a = replicas.get(a, path, params=params, headers={"If-None-Match": etag})
    assert _dependencies(fresh_a) == {"api", "db", "cache"}
    assert fresh_a.headers["ETag"] != etag

    answers: list[httpx.Response] = []

    def b_answers_anew() -> bool:
        response = replicas.get(b, path, params=params, headers={"If-None-Match": etag})
        answers.append(response)
        return response.status_code == 200

    wait_until(b_answers_anew, EVENTUALLY, "B to answer the conditional read anew")
    fresh_b = answers[-1]
    assert _dependencies(fresh_b) == {"api", "db", "cache"}
    assert fresh_b.headers["ETag"] != etag
    assert int(fresh_b.headers["X-Graph-Revision"]) >= later
    # And the new tag is current on B again.
    current = replicas.get(
        b, path, params=params, headers={"If-None-Match": fresh_b.headers["ETag"]}
    )
    assert current.status_code == 304, current.text


# ------------------------------------------------------------------ a revision not applied


def test_min_revision_beyond_anything_committed_is_a_400(
    start_replicas: Callable[..., Replicas],
) -> None:
    """Waiting cannot bring a revision nobody committed: the client passed something a
    write never answered."""
    replicas = start_replicas(MIN_REVISION_WAIT_SECONDS="0.5")
    revision = replicas.write(replicas.a, ("search", "index"))
    for url in (replicas.a, replicas.b):
        response = replicas.get(
            url, "/api/v1/services/search/dependencies", params={"min_revision": revision + 1000}
        )
        assert response.status_code == 400, response.text
        assert response.headers["Content-Type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["type"].endswith("/bad-request"), problem
        assert problem["errors"] == [{"pointer": "/query/min_revision", "detail": "not committed"}]
        # The revision it waited for is still answered, on both.
        ok = replicas.get(
            url, "/api/v1/services/search/dependencies", params={"min_revision": revision}
        )
        assert _dependencies(ok) == {"index"}


# ------------------------------------------------------------------ PostgreSQL: no database work


class _Observer:
    """One PostgreSQL connection kept open to observe the database (opening one per look
    would count as a session itself)."""

    def __init__(self, runner: asyncio.Runner, connection: Any) -> None:
        self._runner = runner
        self._connection = connection
        self.pid: int = runner.run(connection.fetchval("SELECT pg_backend_pid()"))

    def sessions(self) -> int:
        return int(
            self._runner.run(
                self._connection.fetchval(
                    "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
                )
            )
        )

    def settled_sessions(self) -> int:
        """The session count once every backend has reported its own (backends report
        their statistics lazily, within about a second of going idle)."""
        previous = self.sessions()
        deadline = time.monotonic() + EVENTUALLY
        while time.monotonic() < deadline:
            time.sleep(2)
            now = self.sessions()
            if now == previous:
                return now
            previous = now
        raise AssertionError(f"sessions of the database kept being opened: {previous}")

    def pooled_backends(self) -> set[tuple[int, Any, Any]]:
        """(pid, connected at, last statement at) of every other client backend on this
        database but the change feeds: the servers' pooled connections."""
        rows = self._runner.run(
            self._connection.fetch(
                "SELECT pid, backend_start, query_start FROM pg_stat_activity "
                "WHERE datname = current_database() AND backend_type = 'client backend' "
                "AND pid <> pg_backend_pid() AND application_name IS DISTINCT FROM $1",
                FEED_APPLICATION,
            )
        )
        return {(row["pid"], row["backend_start"], row["query_start"]) for row in rows}

    def change_feeds(self) -> int:
        return int(
            self._runner.run(
                self._connection.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = $1",
                    FEED_APPLICATION,
                )
            )
        )


@pytest.fixture
def observer(shared_database: SharedDatabase) -> Iterator[_Observer]:
    with asyncio.Runner() as runner:
        connection = runner.run(asyncpg.connect(shared_database.dsn, timeout=10))
        try:
            yield _Observer(runner, connection)
        finally:
            runner.run(connection.close())


@pytest.mark.parametrize("shared_database", ["postgresql"], indirect=True)
def test_postgresql_reads_open_no_database_session(
    start_replicas: Callable[..., Replicas], observer: _Observer, tmp_path: Path
) -> None:
    replicas = start_replicas()
    b = replicas.b
    revision = replicas.write(replicas.a, ("orders", "stock"), ("stock", "warehouse"))
    path = "/api/v1/services/orders/dependencies"
    # Warm-up: B applies the write and knows the key.
    for _ in range(5):
        assert _dependencies(
            replicas.get(b, path, params={"depth": 2, "min_revision": revision})
        ) == {"stock", "warehouse"}

    # One change-feed connection per server worker: two servers of one worker each.
    wait_until(lambda: observer.change_feeds() == 2, EVENTUALLY, "two change-feed connections")

    sessions_before = observer.settled_sessions()
    pooled_before = observer.pooled_backends()
    with httpx.Client(base_url=b, headers=replicas.key, timeout=30) as client:
        for _ in range(300):
            response = client.get(path, params={"depth": 2})
            assert response.status_code == 200, response.text
            assert int(response.headers["X-Graph-Revision"]) >= revision
    # No pooled connection ran a statement (activity is reported at once) ...
    assert observer.pooled_backends() == pooled_before
    # ... and no session was opened and closed meanwhile (counted once reported).
    assert observer.settled_sessions() == sessions_before
    assert observer.change_feeds() == 2

    # A server of two workers is two processes, each with its live graph and its feed.
    process, url = start_api(
        served_env(replicas.database.url, API_WORKERS="2"), tmp_path / "replica-c.log"
    )
    try:
        wait_until(lambda: observer.change_feeds() == 4, EVENTUALLY, "four change feeds")
        # Whichever worker answers, it answers at the write's revision.
        for _ in range(10):
            answer = replicas.get(url, path, params={"depth": 2, "min_revision": revision})
            assert _dependencies(answer) == {"stock", "warehouse"}
    finally:
        process.terminate()
        process.wait(timeout=30)
    wait_until(lambda: observer.change_feeds() == 2, EVENTUALLY, "the two workers' feeds gone")
