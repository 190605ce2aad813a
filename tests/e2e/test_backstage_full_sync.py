"""Backstage runs as full syncs, end to end: real catalog-info.yaml files (and a catalog
API) read by the configured source, run by the job runner and `slo-cli discover`, and
the graph checked over HTTP. A `dependsOn` removed from a descriptor is retracted on the
next run; what the run did not read, and other sources' reports, stay; a run that fails
retracts nothing. Both engines."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from slo_engine.app import create_app
from slo_engine.cli import app as cli
from slo_engine.discovery.sources import backstage
from slo_engine.errors import SourceError
from slo_engine.jobs.runner import JOBS
from tests.e2e.conftest import caught_up, ingest, query, settings_for

runner = CliRunner()
ACTOR = "job:discover-backstage"


def component(name: str, *depends_on: str, kind: str = "Component") -> str:
    """One catalog-info.yaml document."""
    lines = [
        "apiVersion: backstage.io/v1alpha1",
        f"kind: {kind}",
        "metadata:",
        f"  name: {name}",
        "spec:",
        "  type: service",
        "  lifecycle: production",
        "  owner: group:default/team-a",
    ]
    if depends_on:
        lines.append("  dependsOn:")
        lines.extend(f"    - {ref}" for ref in depends_on)
    return "\n".join(lines) + "\n"


def write_catalog(directory: Path, files: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)


def run_backstage(client: TestClient) -> str:
    """One run of the configured Backstage source by the app's own job runner."""
    portal = client.portal
    assert portal is not None
    summary: str = portal.call(JOBS.of(client.app).run_now, "discover-backstage")  # type: ignore[arg-type]
    return summary


def edges_with_sources(client: TestClient, service_id: str) -> dict[tuple[str, str], list[str]]:
    """Every edge reachable from `service_id`, stale ones included, with the sources
    that report it, as answered by GET /api/v1/services/{id}/dependencies."""
    answer = query(client, service_id, depth=5, include_stale="true")
    return {(e["source"], e["target"]): sorted(e["discovery_sources"]) for e in answer["edges"]}


def retractions(client: TestClient) -> list[tuple[str, str, str]]:
    response = client.get("/api/v1/changes", params={"limit": 1000, "type": "edge.retracted"})
    assert response.status_code == 200, response.text
    return [(c["service_id"], c["target_id"], c["actor"]) for c in response.json()["items"]]


def backstage_status(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/discovery/sources")
    assert response.status_code == 200, response.text
    (status,) = [s for s in response.json()["items"] if s["name"] == "backstage"]
    found: dict[str, Any] = status
    return found


@pytest.fixture
def admin_headers(admin_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_key}"}


def app_client(settings: Any, headers: dict[str, str]) -> TestClient:
    return TestClient(create_app(settings), raise_server_exceptions=False, headers=headers)


def test_a_removed_depends_on_is_retracted_and_everything_else_stays(
    database_url: str, tmp_path: Path, admin_headers: dict[str, str], cli_env: str
) -> None:
    catalog = tmp_path / "catalog"
    write_catalog(
        catalog,
        {
            "web.yaml": component("web", "component:default/api", "resource:db-main"),
            "api.yaml": component("api", "resource:default/db-main", "search"),
            "db.yaml": component("db-main", kind="Resource"),
            "legacy.yaml": component("legacy", "component:api"),
        },
    )
    # A nested, multi-document descriptor file.
    write_catalog(
        catalog / "search",
        {
            "catalog-info.yaml": component("search", "resource:db-main")
            + "---\n"
            + component("portal", "web", kind="System")
        },
    )
    settings = settings_for(
        database_url, backstage_catalog_path=str(catalog), scheduler_enabled=False
    )
    with app_client(settings, admin_headers) as client:
        # The manual source declares an edge into the same target as the one removed
        # below (frontend -> api), and the very pair removed from api's dependsOn.
        ingest(client, [("frontend", "api"), ("api", "search")], source="manual")

        assert run_backstage(client) == "5 services, 6 edges"
        before = edges_with_sources(client, "web")
        assert before == {
            ("web", "api"): ["backstage"],
            ("web", "db-main"): ["backstage"],
            ("api", "db-main"): ["backstage"],
            ("api", "search"): ["backstage", "manual"],
            ("search", "db-main"): ["backstage"],
        }
        assert edges_with_sources(client, "legacy") == {
            ("legacy", "api"): ["backstage"],
            **{pair: found for pair, found in before.items() if pair[0] != "web"},
        }
        assert retractions(client) == []

        # One dependsOn removed from each of two descriptors, one descriptor deleted.
        (catalog / "web.yaml").write_text(component("web", "resource:db-main"))
        (catalog / "api.yaml").write_text(component("api", "resource:default/db-main"))
        (catalog / "legacy.yaml").unlink()

        done = runner.invoke(cli, ["discover", "backstage", "--path", str(catalog)])
        assert done.exit_code == 0, done.output
        assert "4 services and 3 edges ingested" in done.stdout
        caught_up(client)  # the CLI wrote from another live graph

        # web -> api is gone: web now reaches db-main only.
        assert edges_with_sources(client, "web") == {("web", "db-main"): ["backstage"]}
        assert edges_with_sources(client, "api") == {
            ("api", "db-main"): ["backstage"],
            ("api", "search"): ["manual"],  # the manual report of the same pair stays
            ("search", "db-main"): ["backstage"],
        }
        # The same target, declared by the manual source: untouched.
        assert edges_with_sources(client, "frontend")[("frontend", "api")] == ["manual"]
        # legacy was not read this time: its edges are not in the sync's scope.
        assert edges_with_sources(client, "legacy")[("legacy", "api")] == ["backstage"]
        assert sorted(retractions(client)) == [("api", "search", ACTOR), ("web", "api", ACTOR)]

        # A run that reads the same catalog again retracts nothing more.
        after = {**edges_with_sources(client, "web"), **edges_with_sources(client, "api")}
        assert run_backstage(client) == "4 services, 3 edges"
        assert {**edges_with_sources(client, "web"), **edges_with_sources(client, "api")} == after
        assert len(retractions(client)) == 2
        assert backstage_status(client)["healthy"]


@pytest.mark.parametrize("breakage", ["unreadable file", "no component"])
def test_a_failed_run_over_the_descriptors_retracts_nothing(
    database_url: str, tmp_path: Path, admin_headers: dict[str, str], breakage: str
) -> None:
    catalog = tmp_path / "catalog"
    write_catalog(
        catalog,
        {
            "web.yaml": component("web", "api", "resource:db-main"),
            "api.yaml": component("api", "resource:db-main"),
        },
    )
    settings = settings_for(
        database_url, backstage_catalog_path=str(catalog), scheduler_enabled=False
    )
    with app_client(settings, admin_headers) as client:
        assert run_backstage(client) == "3 services, 3 edges"
        before = edges_with_sources(client, "web")
        assert set(before) == {("web", "api"), ("web", "db-main"), ("api", "db-main")}

        if breakage == "unreadable file":
            # web's dependsOn shrinks, but another file of the run cannot be read.
            (catalog / "web.yaml").write_text(component("web", "resource:db-main"))
            (catalog / "team-b.yaml").write_text("kind: Component\nmetadata: {name: [oops\n")
            expected = "not readable YAML"
        else:
            # Every descriptor left is of a kind that declares no service.
            for path in catalog.iterdir():
                path.unlink()
            (catalog / "system.yaml").write_text(component("portal", "web", kind="System"))
            expected = "no usable Component or Resource"

        with pytest.raises(SourceError, match=expected):
            run_backstage(client)

        assert edges_with_sources(client, "web") == before
        assert retractions(client) == []
        status = backstage_status(client)
        assert status["consecutive_failures"] == 1 and expected in status["last_error"]
        assert status["last_edges"] == 3  # the last good run's

        if breakage == "unreadable file":
            # Once the file is fixed, the same change to web.yaml is synced.
            (catalog / "team-b.yaml").write_text(component("team-b", "api"))
            assert run_backstage(client) == "4 services, 3 edges"
            assert set(edges_with_sources(client, "web")) == {("web", "db-main")}
            assert retractions(client) == [("web", "api", ACTOR)]


class Catalog:
    """What the fake catalog API serves: `pages` in order (a page is a list of
    entities, or any other JSON to serve as is), or endless pages."""

    def __init__(self) -> None:
        self.pages: list[Any] = []
        self.endless = False

    def page(self, cursor: str | None) -> Any:
        index = int(cursor) if cursor else 0
        if self.endless:
            return {"items": [], "pageInfo": {"nextCursor": str(index + 1)}}
        content = self.pages[index]
        if not isinstance(content, list):
            return content
        more = index + 1 < len(self.pages)
        return {"items": content, "pageInfo": {"nextCursor": str(index + 1)} if more else {}}


@pytest.fixture
def catalog_api() -> Iterator[tuple[str, Catalog]]:
    catalog = Catalog()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.headers.get("Authorization") != "Bearer t0ken":
                self.send_response(401)
                self.end_headers()
                return
            query = self.path.partition("?")[2]
            cursors = [p[len("cursor=") :] for p in query.split("&") if p.startswith("cursor=")]
            body = json.dumps(catalog.page(cursors[0] if cursors else None)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", catalog
    finally:
        server.shutdown()
        server.server_close()


def entity(name: str, *depends_on: str) -> dict[str, Any]:
    return {
        "kind": "Component",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"owner": "team-a", "dependsOn": list(depends_on)},
    }


def test_a_failed_run_over_the_catalog_api_retracts_nothing(
    database_url: str,
    admin_headers: dict[str, str],
    catalog_api: tuple[str, Catalog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, catalog = catalog_api
    settings = settings_for(
        database_url, backstage_url=url, backstage_token="t0ken", scheduler_enabled=False
    )
    catalog.pages = [[entity("web", "api", "db-main")], [entity("api", "db-main")]]
    with app_client(settings, admin_headers) as client:
        assert run_backstage(client) == "3 services, 3 edges"
        before = edges_with_sources(client, "web")
        assert set(before) == {("web", "api"), ("web", "db-main"), ("api", "db-main")}

        # web no longer depends on api, but the second page is malformed: the run fails.
        catalog.pages = [[entity("web", "db-main")], {"items": "not a list"}]
        with pytest.raises(SourceError, match="no 'items' list"):
            run_backstage(client)
        assert edges_with_sources(client, "web") == before

        # A catalog that keeps paging past the limit fails too.
        monkeypatch.setattr(backstage, "_MAX_PAGES", 3)
        catalog.endless = True
        with pytest.raises(SourceError, match="paging past 3 pages"):
            run_backstage(client)
        assert edges_with_sources(client, "web") == before
        assert retractions(client) == []
        assert backstage_status(client)["consecutive_failures"] == 2

        # A complete answer with the change syncs it.
        catalog.endless = False
        catalog.pages = [[entity("web", "db-main")], [entity("api", "db-main")]]
        assert run_backstage(client) == "3 services, 2 edges"
        assert set(edges_with_sources(client, "web")) == {("web", "db-main")}
        assert retractions(client) == [("web", "api", ACTOR)]
        assert backstage_status(client)["healthy"]
