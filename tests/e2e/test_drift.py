"""Drift end to end, on every engine: Online Boutique declared in real Backstage
descriptors read by the Backstage source, traffic reported by the OpenTelemetry service
graph through the API, the drift answered over HTTP and by slo-cli, and the Backstage
patch it suggests applied to the descriptors and read again: no drift left."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from slo_engine.app import create_app
from slo_engine.discovery.naming import entity_ref_to_service_id
from slo_engine.drift import cli as drift_cli
from slo_engine.ingestion.schemas import ingestion_request
from slo_engine.jobs.runner import JOBS
from slo_engine.live.reads import LIVE_GRAPH
from tests.e2e.conftest import BOUTIQUE, INGEST, edge, ingest, run, service_answer, settings_for
from tests.local_servers import wait_until

DESCRIPTORS = Path(__file__).resolve().parents[1] / "fixtures" / "online-boutique-backstage"
# The call tracing misses, and the one it sees that nobody declared.
MISSED = ("frontend", "adservice")
UNDECLARED = ("paymentservice", "currencyservice")
# The namespaced entity (team-b/search) and the Resource (search-index) the fixtures add:
# search's own call is seen, its call to the index missed; the frontend's call to search
# and the checkout's call to a team-c service no catalog holds are seen, undeclared.
SEARCH_SEEN = ("team-b.search", "productcatalogservice")
SEARCH_MISSED = ("team-b.search", "search-index")
TO_SEARCH = ("frontend", "team-b.search")
TO_FRAUD = ("checkoutservice", "team-c.fraud")
DRIFTING = {
    (*MISSED, "declared_only"),
    (*SEARCH_MISSED, "declared_only"),
    (*UNDECLARED, "observed_only"),
    (*TO_SEARCH, "observed_only"),
    (*TO_FRAUD, "observed_only"),
}


def boutique_edges() -> list[tuple[str, str]]:
    return [(e["source"], e["target"]) for e in json.loads(BOUTIQUE.read_text())["edges"]]


def seen_in_traffic() -> list[tuple[str, str]]:
    """What tracing sees of the fixtures' catalog: all but the two missed calls, and
    three calls nobody declared."""
    declared = [pair for pair in boutique_edges() if pair != MISSED]
    return [*declared, SEARCH_SEEN, UNDECLARED, TO_SEARCH, TO_FRAUD]


def run_backstage(client: TestClient) -> str:
    portal = client.portal
    assert portal is not None
    summary: str = portal.call(JOBS.of(client.app).run_now, "discover-backstage")  # type: ignore[arg-type]
    return summary


def traffic(client: TestClient, pairs: list[tuple[str, str]], **extra: Any) -> None:
    """The OpenTelemetry service graph reports these calls (sync, with figures)."""
    ingest(
        client,
        [
            edge(s, t, communication_mode="sync", request_rate=2.5, error_rate=0.01)
            for s, t in pairs
        ],
        source="otel_service_graph",
        **extra,
    )


def live_revision(client: TestClient) -> int:
    revision: int = LIVE_GRAPH.of(client.app).snapshot.revision  # type: ignore[arg-type]
    return revision


def drift(client: TestClient, path: str = "/api/v1/drift", **params: Any) -> dict[str, Any]:
    """A drift answer of the graph as written so far (`min_revision`: the whole graph's
    drift is otherwise kept for a minute across revisions)."""
    params.setdefault("min_revision", live_revision(client))
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert response.headers["x-graph-revision"] == str(answer["revision"])
    return answer


def kinds(answer: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(i["source"], i["target"], i["drift"]) for i in answer["items"]}


def apply_patch(catalog: Path, patch: str) -> None:
    """Apply the suggested Backstage patch to the descriptor files as a person would:
    find each entity's descriptor, add the refs to `spec.dependsOn`, remove the entries
    that name the same entity as a ref to remove (however the descriptor spells it)."""
    by_ref: dict[str, Path] = {}
    for file in catalog.glob("*.yaml"):
        document = yaml.safe_load(file.read_text())
        name = document["metadata"]["name"]
        namespace = document["metadata"].get("namespace", "default")
        by_ref[f"{document['kind'].lower()}:{namespace}/{name}"] = file
    documents = list(yaml.safe_load_all(patch))
    assert documents, "the patch names at least one entity"
    for change in documents:
        file = by_ref[change["entityRef"]]
        descriptor = yaml.safe_load(file.read_text())
        depends_on: list[str] = descriptor["spec"].setdefault("dependsOn", [])
        removed = {entity_ref_to_service_id(ref) for ref in change["dependsOn"].get("remove", [])}
        depends_on[:] = [ref for ref in depends_on if entity_ref_to_service_id(ref) not in removed]
        depends_on.extend(change["dependsOn"].get("add", []))
        assert "leftOut" not in change, change
        file.write_text(yaml.safe_dump(descriptor, sort_keys=False))


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    copy = tmp_path / "catalog"
    shutil.copytree(DESCRIPTORS, copy, ignore=shutil.ignore_patterns("*.md"))
    return copy


@pytest.fixture
def declared(database_url: str, admin_key: str, catalog: Path) -> Any:
    """Online Boutique declared by the Backstage source; a client with an admin key."""
    settings = settings_for(
        database_url, backstage_catalog_path=str(catalog), scheduler_enabled=False
    )
    with TestClient(
        create_app(settings),
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {admin_key}"},
    ) as client:
        assert run_backstage(client) == "14 services, 18 edges"
        yield client


def test_declared_in_backstage_traffic_misses_one_and_adds_one_then_the_patch_closes_it(
    declared: TestClient, catalog: Path
) -> None:
    client = declared
    # Before traffic: nobody observes any caller, so nothing can be said.
    assert drift(client)["items"] == []

    traffic(client, seen_in_traffic())
    answer = drift(client)
    assert kinds(answer) == DRIFTING
    assert answer["totals"] == {"declared_only": 2, "observed_only": 3, "mismatch": 0}
    by_pair = {(i["source"], i["target"]): i for i in answer["items"]}
    missed = by_pair[MISSED]
    assert missed["evidence"]["declared_by"] == ["backstage"]
    assert missed["evidence"]["observed_by"] == []
    assert missed["evidence"]["caller_coverage"]["observed_by"] == ["otel_service_graph"]
    # The frontend's own calls out (the loadgenerator's call into it is no evidence).
    assert missed["evidence"]["caller_coverage"]["edges"] == 7
    # One source, seen just now: its confidence, not seven edges' combined.
    assert missed["confidence"] == pytest.approx(0.9, abs=0.001)
    assert by_pair[SEARCH_MISSED]["target_kind"] == "database"
    undeclared = by_pair[UNDECLARED]
    assert undeclared["evidence"]["observed_by"] == ["otel_service_graph"]
    assert undeclared["evidence"]["request_rate"] == 2.5
    assert undeclared["confidence"] == pytest.approx(0.9, abs=0.001)  # seen just now

    patch_response = client.get("/api/v1/drift/suggestions", params={"format": "backstage-patch"})
    assert patch_response.status_code == 200, patch_response.text
    assert patch_response.headers["content-type"].startswith("application/yaml")
    assert patch_response.headers["x-drift-truncated"] == "false"
    documents = list(yaml.safe_load_all(patch_response.text))
    assert documents == [
        {
            "entityRef": "component:default/checkoutservice",
            # Never read from Backstage: the ref its id is read back as.
            "dependsOn": {"add": ["component:team-c/fraud"]},
        },
        {
            "entityRef": "component:default/frontend",
            "dependsOn": {
                "add": ["component:team-b/search"],
                "remove": ["component:default/adservice"],
            },
        },
        {
            "entityRef": "component:default/paymentservice",
            "dependsOn": {"add": ["component:default/currencyservice"]},
        },
        {
            "entityRef": "component:team-b/search",
            "dependsOn": {"remove": ["resource:default/search-index"]},
        },
    ]

    apply_patch(catalog, patch_response.text)
    assert run_backstage(client) == "15 services, 19 edges"  # team-c.fraud too
    after = drift(client)
    assert after["items"] == []
    assert after["totals"] == {"declared_only": 0, "observed_only": 0, "mismatch": 0}


def test_an_edge_a_person_declares_too_stays_after_the_patch_and_the_patch_says_so(
    declared: TestClient, catalog: Path
) -> None:
    client = declared
    ingest(client, [MISSED])  # manual, as well as Backstage
    traffic(client, seen_in_traffic())
    patch = client.get("/api/v1/drift/suggestions", params={"format": "backstage-patch"}).text
    frontend = next(d for d in yaml.safe_load_all(patch) if d["entityRef"].endswith("/frontend"))
    assert frontend["alsoDeclaredBy"] == {"component:default/adservice": ["manual"]}
    apply_patch(catalog, patch)
    run_backstage(client)
    assert kinds(drift(client)) == {(*MISSED, "declared_only")}
    assert drift(client)["items"][0]["evidence"]["declared_by"] == ["manual"]


def test_metadata_a_client_stored_in_any_shape_never_breaks_the_patch(client: TestClient) -> None:
    for shape in ("x", 7, ["entity_ref"], {"entity_ref": 3}, {"entity_ref": ""}, None):
        nodes = [{"service_id": "web", "metadata": {"backstage": shape}}]
        ingest(client, [("web", "api")], nodes=nodes)
        traffic(client, [("web", "cache")])
        for suggestion_format in ("backstage-patch", "ingest"):
            response = client.get(
                "/api/v1/drift/suggestions",
                params={"format": suggestion_format, "min_revision": live_revision(client)},
            )
            assert response.status_code == 200, (shape, response.text)
        assert response.json()["edges"] == [
            {"source": "web", "target": "cache", "attributes": {"communication_mode": "sync"}}
        ]


def test_the_ingest_suggestion_declares_what_only_traffic_shows(declared: TestClient) -> None:
    client = declared
    traffic(client, seen_in_traffic())
    response = client.get("/api/v1/drift/suggestions", params={"format": "ingest"})
    assert response.status_code == 200, response.text
    document = response.json()
    ingestion_request(document)  # the ingest format, by the API's own rules
    assert document["source"] == "manual"
    assert document["edges"] == [
        {"source": s, "target": t, "attributes": {"communication_mode": "sync"}}
        for s, t in (TO_FRAUD, TO_SEARCH, UNDECLARED)
    ]
    assert client.post(INGEST, json=document).status_code == 200
    assert kinds(drift(client)) == {(*MISSED, "declared_only"), (*SEARCH_MISSED, "declared_only")}


def test_a_mode_declared_async_and_seen_sync_is_a_mismatch(client: TestClient) -> None:
    ingest(client, [edge("orders", "mailer", communication_mode="async", criticality="soft")])
    # Jaeger's mode is an assumption of the source: never compared.
    ingest(client, [edge("orders", "mailer", communication_mode="sync")], source="jaeger")
    assert drift(client)["items"] == []
    ingest(
        client,
        [edge("orders", "mailer", communication_mode="sync", criticality="hard")],
        source="service_mesh",
    )
    items = drift(client)["items"]
    assert [(i["field"], i["declared"], i["observed"]) for i in items] == [
        ("communication_mode", "async", "sync"),
        ("criticality", "soft", "hard"),
    ]
    assert {i["drift"] for i in items} == {"mismatch"}
    assert items[0]["evidence"]["observed_by"] == ["service_mesh", "jaeger"]
    # Only the mesh tells them (Jaeger gave no criticality): its confidence, seen now.
    assert [i["confidence"] for i in items] == [pytest.approx(0.95, abs=0.001)] * 2


def test_observations_outside_the_window_do_not_count(client: TestClient) -> None:
    ingest(client, [("web", "api"), ("web", "db")])
    traffic(client, [("web", "api")])
    ten_days_ago = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    traffic(client, [("web", "db")], observed_at=ten_days_ago)
    assert kinds(drift(client)) == {("web", "db", "declared_only")}
    old = drift(client)["items"][0]["evidence"]["last_seen"]["otel_service_graph"]
    assert old.startswith(ten_days_ago[:10])
    assert drift(client, window_hours=24 * 11)["items"] == []
    # A day's window: web -> api is seen now, so web is covered and web -> db still missing.
    assert kinds(drift(client, window_hours=24)) == {("web", "db", "declared_only")}


def test_a_service_answers_its_own_edges_and_an_unknown_one_is_a_404(declared: TestClient) -> None:
    client = declared
    traffic(client, seen_in_traffic())
    assert kinds(drift(client, "/api/v1/services/adservice/drift")) == {(*MISSED, "declared_only")}
    currency = drift(client, "/api/v1/services/currencyservice/drift")
    assert kinds(currency) == {(*UNDECLARED, "observed_only")}
    assert currency["totals"] == {"declared_only": 0, "observed_only": 1, "mismatch": 0}
    assert drift(client, "/api/v1/services/emailservice/drift")["items"] == []
    missing = client.get("/api/v1/services/ghost/drift")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_pages_and_kind_filters_list_every_item_once(client: TestClient) -> None:
    ingest(client, [("hub", f"declared-{n}") for n in range(5)])
    traffic(client, [("hub", f"seen-{n}") for n in range(7)])
    everything = drift(client, limit=1000)
    assert everything["totals"] == {"declared_only": 5, "observed_only": 7, "mismatch": 0}
    paged: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = drift(client, limit=3, **({"cursor": cursor} if cursor else {}))
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == everything["items"]
    only = drift(client, drift="declared_only", limit=2)
    assert [i["drift"] for i in only["items"]] == ["declared_only"] * 2
    rest = drift(client, drift="declared_only", limit=1000, cursor=only["next_cursor"])
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None
    assert only["totals"] == everything["totals"], "totals count every kind"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/drift", {"window_hours": "0"}),
        ("/api/v1/drift", {"window_hours": str(24 * 90 + 1)}),
        ("/api/v1/drift", {"window_hours": "week"}),
        ("/api/v1/drift", {"drift": "declared"}),
        ("/api/v1/drift", {"drift": "declared_only,"}),
        ("/api/v1/drift", {"limit": "0"}),
        ("/api/v1/drift", {"limit": "1001"}),
        ("/api/v1/drift", {"cursor": "WyJhIl0"}),  # a valid cursor of another listing
        ("/api/v1/drift", {"cursor": "not-base64!"}),
        ("/api/v1/drift", {"cursor": "WyJhIiwiYiIsImJvZ3VzIiwiIl0"}),  # an unknown kind
        ("/api/v1/drift/suggestions", {}),
        ("/api/v1/drift/suggestions", {"format": "yaml"}),
        ("/api/v1/services/Bad Id/drift", {}),
    ],
)
def test_bad_input_is_a_400_problem(client: TestClient, path: str, params: dict[str, str]) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_include_drift_marks_the_answers_edges(declared: TestClient) -> None:
    client = declared
    traffic(client, seen_in_traffic())
    answer = service_answer(client, "frontend", "dependencies", include="drift,impact")
    # What the frontend calls, three hops down, holds its own drifting edges and
    # payment's, and the included drift lists exactly those of its edges.
    pairs = {(e["source"], e["target"]) for e in answer["edges"]}
    assert MISSED in pairs and UNDECLARED in pairs
    assert kinds(answer["drift"]) == {
        (*MISSED, "declared_only"),
        (*UNDECLARED, "observed_only"),
        (*TO_SEARCH, "observed_only"),
        (*TO_FRAUD, "observed_only"),
        (*SEARCH_MISSED, "declared_only"),
    }
    assert "impact" in answer
    near = service_answer(client, "emailservice", "dependencies", include="drift")
    assert near["drift"]["items"] == []
    service = service_answer(client, "adservice", "", include="drift")
    assert kinds(service["drift"]) == {(*MISSED, "declared_only")}


@pytest.mark.parametrize(
    "path", ["/api/v1/services/frontend/dependencies", "/api/v1/services/frontend"]
)
def test_an_answer_including_drift_is_never_a_304_nor_of_the_past(
    client: TestClient, path: str
) -> None:
    ingest(client, [("frontend", "adservice")])
    traffic(client, [("frontend", "cart")])
    plain = client.get(path)
    assert plain.status_code == 200 and "etag" in plain.headers
    assert client.get(path, headers={"If-None-Match": plain.headers["etag"]}).status_code == 304
    with_drift = client.get(path, params={"include": "drift"})
    assert with_drift.status_code == 200
    assert "etag" not in with_drift.headers
    # The tag a cache kept from another answer, or a forged one of this revision: judged
    # again, not 304 (drift moves with the clock at one revision).
    forged = plain.headers["etag"].rsplit(".", 1)[0] + '.x"'
    for tag in (plain.headers["etag"], forged, "*"):
        again = client.get(path, params={"include": "drift"}, headers={"If-None-Match": tag})
        assert again.status_code == 200, tag
        assert kinds(again.json()["drift"]) == kinds(with_drift.json()["drift"])
    past = client.get(
        path, params={"include": "impact,drift", "as_of": datetime.now(UTC).isoformat()}
    )
    assert past.status_code == 400
    assert past.headers["content-type"] == "application/problem+json"
    assert past.json()["errors"][0]["pointer"] == "/query/as_of"
    # Without drift, as_of is answered as before.
    assert client.get(
        path, params={"include": "impact", "as_of": datetime.now(UTC).isoformat()}
    ).status_code in (200, 410)


def test_the_whole_graphs_drift_is_kept_across_revisions_and_min_revision_refreshes_it(
    client: TestClient,
) -> None:
    ingest(client, [("web", "api")])
    traffic(client, [("web", "cache")])
    first = client.get("/api/v1/drift")
    assert first.headers["x-graph-revision"] == str(first.json()["revision"])
    traffic(client, [("web", "queue")])
    # Within a minute, another revision's request is answered from the kept judgement,
    # and says which revision it judged: in the body and the header alike.
    kept = client.get("/api/v1/drift")
    assert kept.json()["revision"] == first.json()["revision"]
    assert kept.headers["x-graph-revision"] == str(first.json()["revision"])
    assert kept.json()["totals"] == first.json()["totals"]
    fresh = drift(client)
    assert fresh["revision"] == live_revision(client) > first.json()["revision"]
    assert ("web", "queue", "observed_only") in kinds(fresh)


def test_the_metrics_show_drift_counts_by_kind(declared: TestClient) -> None:
    client = declared
    traffic(client, seen_in_traffic())

    def shown() -> dict[str, float]:
        text = client.get("/metrics").text
        return {
            line.split('"')[1]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("slo_engine_drift_items{")
        }

    # The first scrape after a write starts the judgement; a later one shows it.
    wait_until(
        lambda: shown() == {"declared_only": 2.0, "observed_only": 3.0, "mismatch": 0.0},
        10,
        "the drift counts",
    )


def test_slo_cli_drift_on_the_database_and_through_a_server(
    cli_env: str, catalog: Path, server: str, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("discover", "backstage", "--path", str(catalog))
    document = {
        "source": "otel_service_graph",
        "edges": [edge(s, t, communication_mode="sync") for s, t in seen_in_traffic()],
    }
    traffic_file = catalog.parent / "traffic.json"
    traffic_file.write_text(json.dumps(document))
    run("ingest", str(traffic_file))

    table = " ".join(run("drift").split())
    assert "2 declared only, 3 observed only, 0 mismatched" in table
    assert "declared_only" in table and "observed_only" in table
    assert "adservice" in table and "paymentservice" in table
    answer = json.loads(run("drift", "adservice", "--format", "json"))
    assert kinds(answer) == {(*MISSED, "declared_only")}
    patch = list(yaml.safe_load_all(run("drift", "--format", "backstage-patch")))
    assert [d["entityRef"] for d in patch] == [
        "component:default/checkoutservice",
        "component:default/frontend",
        "component:default/paymentservice",
        "component:team-b/search",
    ]
    ingest_file = json.loads(run("drift", "--format", "ingest"))
    assert [(e["source"], e["target"]) for e in ingest_file["edges"]] == [
        TO_FRAUD,
        TO_SEARCH,
        UNDECLARED,
    ]
    # One service's suggestions: the edges it calls or is called by.
    own = list(yaml.safe_load_all(run("drift", "frontend", "--format", "backstage-patch")))
    assert [d["entityRef"] for d in own] == ["component:default/frontend"]
    own_ingest = json.loads(run("drift", "team-b.search", "--format", "ingest"))
    assert [(e["source"], e["target"]) for e in own_ingest["edges"]] == [TO_SEARCH]
    # --limit past one page follows next_cursor (pages of one item here).
    monkeypatch.setattr(drift_cli, "_PAGE", 1)
    paged = json.loads(run("drift", "--format", "json", "--limit", "4"))
    assert len(paged["items"]) == 4 and paged["next_cursor"] is not None
    every = json.loads(run("drift", "--format", "json", "--limit", "10"))
    assert kinds(every) == DRIFTING and every["next_cursor"] is None

    # The same through a running server.
    wait_until(
        lambda: (
            httpx.get(f"{server}/api/v1/drift", headers={"X-API-Key": admin_key}).json()["totals"][
                "observed_only"
            ]
            == 3
        ),
        20,
        "the server to see the traffic",
    )
    remote = json.loads(run("drift", "--format", "json", "--url", server, "--api-key", admin_key))
    assert kinds(remote) == kinds(json.loads(run("drift", "--format", "json")))
    remote_patch = run(
        "drift", "--format", "backstage-patch", "--url", server, "--api-key", admin_key
    )
    assert list(yaml.safe_load_all(remote_patch)) == patch
    remote_own = run(
        "drift", "frontend", "--format", "backstage-patch", "--url", server, "--api-key", admin_key
    )
    assert list(yaml.safe_load_all(remote_own)) == own
    remote_paged = json.loads(
        run("drift", "--format", "json", "--limit", "10", "--url", server, "--api-key", admin_key)
    )
    assert remote_paged["items"] == every["items"]


DOCS = Path(__file__).resolve().parents[2] / "docs" / "drift.md"


def documented_examples() -> list[dict[str, Any]]:
    """The worked examples of docs/drift.md: each JSON block after a `<!-- drift
    example -->` comment."""
    text = DOCS.read_text()
    blocks = text.split("<!-- drift example -->")[1:]
    return [json.loads(block.split("```json", 1)[1].split("```", 1)[0]) for block in blocks]


def test_the_docs_have_worked_examples() -> None:
    assert len(documented_examples()) >= 4


@pytest.mark.parametrize("number", range(len(documented_examples())))
def test_the_worked_examples_of_the_docs(client: TestClient, number: int) -> None:
    example = documented_examples()[number]
    for request in example["given"]:
        response = client.post(INGEST, json=request)
        assert response.status_code == 200, response.text
    answer = drift(client)
    found = []
    for item in answer["items"]:
        row = [item["source"], item["target"], item["drift"]]
        if item["drift"] == "mismatch":
            row += [item["field"], item["declared"], item["observed"]]
        found.append(row)
    assert found == example["drift"]
