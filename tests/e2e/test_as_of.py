"""`as_of`: the graph as it was at a past time, against an independent model.

Random sequences of merge ingestions, replace-syncs (scoped and whole), edge
retractions, service deletions and staleness runs are applied through the API (and the
staleness job); after each one the test notes the time and what its own model says the
graph is. Then every noted time is read back with `as_of` and must equal the model's
graph of that moment: the same services (and teams), the same edges, the same
discovery sources, staleness and declared criticality. Both engines.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from slo_engine.infra.db import DATABASE
from slo_engine.ingestion.staleness import mark_stale_edges
from slo_engine.live.reads import LIVE_GRAPH
from tests.e2e.conftest import INGEST, edge

NODES = ["a", "b", "c", "d", "e"]
SOURCES = ["manual", "backstage", "jaeger"]
DECLARED = ("manual", "backstage")
Key = tuple[str, str, str]


class Model:
    """The graph as the operations define it, kept by the test alone."""

    def __init__(self) -> None:
        self.reports: dict[Key, dict[str, Any]] = {}  # (caller, callee, source) -> fields
        self.services: dict[str, str | None] = {}  # service id -> team

    def name(self, service: str) -> None:
        self.services.setdefault(service, None)

    def graph(self) -> tuple[dict[str, str | None], dict[tuple[str, str], Any]]:
        pairs: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
        for (caller, callee, source), fields in self.reports.items():
            pairs.setdefault((caller, callee), []).append((source, fields))
        edges = {
            pair: (
                sorted(source for source, _ in reports),
                all(fields["stale"] for _, fields in reports),
                reports[0][1]["criticality"] if len(reports) == 1 else "merged",
            )
            for pair, reports in pairs.items()
        }
        return dict(self.services), edges


def answered_graph(client: TestClient, at: str) -> tuple[dict[str, Any], dict[Any, Any]]:
    response = client.get(
        "/api/v1/graph", params={"as_of": at, "include_stale": "true", "limit": 1000}
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Graph-As-Of"] == datetime.fromisoformat(at).isoformat()
    page = response.json()
    assert page["next_cursor"] is None
    services = {n["service_id"]: n["team"] for n in page["nodes"]}
    edges = {
        (e["source"], e["target"]): (
            sorted(e["discovery_sources"]),
            e["is_stale"],
            e["attributes"]["criticality"] if len(e["discovery_sources"]) == 1 else "merged",
        )
        for e in page["edges"]
    }
    return services, edges


def random_edges(rng: random.Random, count: int) -> list[dict[str, Any]]:
    chosen = {(rng.choice(NODES), rng.choice(NODES)) for _ in range(count)}
    return [edge(s, t, criticality=rng.choice(["hard", "soft", None])) for s, t in sorted(chosen)]


def step(client: TestClient, rng: random.Random, model: Model) -> None:
    """One random operation, through the API, mirrored in the model."""
    kind = rng.choice(["merge", "merge", "replace", "retract", "delete", "stale"])
    if kind in ("merge", "replace"):
        source = rng.choice(SOURCES)
        edges = random_edges(rng, rng.randint(0, 3))
        nodes = [{"service_id": n, "team": rng.choice(["t1", "t2"])} for n in rng.sample(NODES, 1)]
        body: dict[str, Any] = {"source": source, "nodes": nodes, "edges": edges}
        scope: list[str] | None = None
        if kind == "replace":
            body["mode"] = "replace"
            if rng.random() < 0.6:
                scope = rng.sample(NODES, rng.randint(1, 2))
                body["scope"] = {"services": scope}
        response = client.post(INGEST, json=body)
        assert response.status_code == 200, response.text
        listed = {(e["source"], e["target"]) for e in edges}
        if kind == "replace":
            for key in list(model.reports):
                caller, callee, reporter = key
                in_scope = scope is None or caller in scope
                if reporter == source and in_scope and (caller, callee) not in listed:
                    del model.reports[key]
        for node in nodes:
            model.services[node["service_id"]] = node["team"]
        for e in edges:
            model.name(e["source"])
            model.name(e["target"])
            model.reports[(e["source"], e["target"], source)] = {
                "criticality": e["attributes"]["criticality"],
                "stale": False,
            }
    elif kind == "retract":
        caller, callee = rng.choice(NODES), rng.choice(NODES)
        source = rng.choice([None, *SOURCES])
        params = {} if source is None else {"discovery_source": source}
        response = client.delete(f"/api/v1/services/{caller}/dependencies/{callee}", params=params)
        sources = DECLARED if source is None else (source,)
        keys = [k for k in model.reports if k[:2] == (caller, callee) and k[2] in sources]
        assert response.status_code == (200 if keys else 404), response.text
        for key in keys:
            del model.reports[key]
    elif kind == "delete":
        service = rng.choice(NODES)
        response = client.delete(f"/api/v1/services/{service}", params={"cascade": "true"})
        assert response.status_code == (200 if service in model.services else 404), response.text
        model.services.pop(service, None)
        for key in [k for k in model.reports if service in k[:2]]:
            del model.reports[key]
    else:
        # Every observed (jaeger) report goes stale: the job's clock is hours ahead.
        app = client.app
        portal = client.portal
        assert portal is not None
        portal.call(
            mark_stale_edges,
            DATABASE.of(app),  # type: ignore[arg-type]
            LIVE_GRAPH.of(app),  # type: ignore[arg-type]
            timedelta(hours=1),
            datetime.now(UTC) + timedelta(hours=2),
        )
        for (_, _, source), fields in model.reports.items():
            if source == "jaeger":
                fields["stale"] = True


@pytest.mark.parametrize("seed", [1, 2])
def test_as_of_equals_the_model_after_every_operation(client: TestClient, seed: int) -> None:
    rng = random.Random(seed)
    model = Model()
    moments: list[tuple[str, Any]] = []
    for _ in range(24):
        step(client, rng, model)
        time.sleep(0.002)  # the next write's revision time is strictly later
        moments.append((datetime.now(UTC).isoformat(), model.graph()))
        time.sleep(0.002)
    for at, expected in moments:
        assert answered_graph(client, at) == expected, at


def test_as_of_out_of_reach_is_a_problem(client: TestClient) -> None:
    client.post(INGEST, json={"source": "manual", "edges": [edge("a", "b")]})
    cases = {
        "2000-01-01T00:00:00Z": 410,  # past the retention
        "2999-01-01T00:00:00Z": 400,  # in the future
        "2026-01-01T00:00:00": 400,  # no offset
        "yesterday": 400,
    }
    for at, status in cases.items():
        response = client.get("/api/v1/services/a/dependencies", params={"as_of": at})
        assert response.status_code == status, (at, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def test_as_of_answers_every_read_the_same_way(client: TestClient) -> None:
    client.post(INGEST, json={"source": "manual", "edges": [edge("a", "b"), edge("b", "c")]})
    time.sleep(0.01)
    before = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    assert client.delete("/api/v1/services/b/dependencies/c").status_code == 200
    # Impact walks against the calls: c's callers were a and b before the retraction.
    for root, path in (("a", "dependencies"), ("c", "impact"), ("a", "availability")):
        now = client.get(f"/api/v1/services/{root}/{path}")
        then = client.get(f"/api/v1/services/{root}/{path}", params={"as_of": before})
        assert now.status_code == then.status_code == 200, (path, then.text)
        assert now.json() != then.json(), path
        assert then.headers["X-Graph-Revision"] == "1"
    then = client.get("/api/v1/services/a/dependencies", params={"as_of": before})
    assert {(e["source"], e["target"]) for e in then.json()["edges"]} == {("a", "b"), ("b", "c")}
    listing = client.get("/api/v1/services", params={"as_of": before}).json()
    assert [s["service_id"] for s in listing["items"]] == ["a", "b", "c"]
