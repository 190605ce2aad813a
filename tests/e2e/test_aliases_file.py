"""The aliases file (ALIASES_FILE, a ConfigMap) and `slo-cli aliases`: synced at start
and by the `aliases-file` job, a wrong file stopping the start, and the command line
doing what the API does. Both engines."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from slo_engine.aliases.file_form import AliasesFileError
from slo_engine.app import create_app
from slo_engine.cli import app as cli_app
from slo_engine.errors import ConflictError
from tests.e2e.conftest import cli_runner, ingest, run, settings_for

FILE = """\
# Names the mesh and the tracing pipeline give our services.
aliases:
  - alias: checkoutservice
    service_id: checkout
  - pattern: '(?P<app>[a-z]+)\\.shop'
    replacement: '\\g<app>'
    discovery_source: service_mesh
"""


def services(client: TestClient) -> set[str]:
    items = client.get("/api/v1/services", params={"limit": 1000}).json()["items"]
    return {s["service_id"] for s in items}


def seed(client: TestClient) -> None:
    ingest(client, [("checkoutservice", "payment")], source="otel_service_graph")
    ingest(client, [("frontend.shop", "checkout.shop")], source="service_mesh")


def test_the_file_is_synced_at_start_and_again_when_it_changes(
    database_url: str, admin_key: str, tmp_path: Path, cli_env: str
) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text("aliases: []\n")
    headers = {"Authorization": f"Bearer {admin_key}"}
    settings = settings_for(database_url, aliases_file=str(path))
    with TestClient(create_app(settings), headers=headers) as client:
        seed(client)
        assert {"checkoutservice", "frontend.shop"} <= services(client)
    path.write_text(FILE)
    with TestClient(create_app(settings), headers=headers) as client:
        listed = client.get("/api/v1/aliases").json()["items"]
        assert [(a["alias"] or a["pattern"], a["origin"]) for a in listed] == [
            ("checkoutservice", "file"),
            (r"(?P<app>[a-z]+)\.shop", "file"),
        ]
        assert services(client) == {"checkout", "payment", "frontend"}
        # The API's aliases live beside the file's; a sync leaves them alone.
        response = client.post("/api/v1/aliases", json={"alias": "pay", "service_id": "payment"})
        assert response.status_code == 201, response.text

    # A line taken out of the file undoes its merge at the next sync (the job's work,
    # here through the command line).
    path.write_text(FILE.split("  - pattern", maxsplit=1)[0])
    output = run("aliases", "sync", str(path))
    assert "aliases file synced" in output
    assert "merged: none; removed: frontend; restored: checkout.shop, frontend.shop" in output
    assert run("aliases", "sync", str(path)).strip() == "aliases file unchanged"
    listed = json.loads("[" + ",".join(run("aliases", "list", "--json").split()) + "]")
    assert {(a["alias"], a["origin"]) for a in listed} == {
        ("checkoutservice", "file"),
        ("pay", "api"),
    }


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("aliases:\n  - alias: a\n", "service_id"),
        ("aliases:\n  - pattern: '('\n    replacement: x\n", "not one RE2 runs: missing \\)"),
        ("aliases: [\n", "not YAML or JSON"),
        ("aliases:\n  - alias: a\n    service_id: b\n    colour: red\n", "colour"),
    ],
)
def test_a_wrong_file_stops_the_start_and_says_what_is_wrong(
    database_url: str, tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text(content)
    app = create_app(settings_for(database_url, aliases_file=str(path)))
    with pytest.raises(AliasesFileError, match=says), TestClient(app):
        pass


def test_a_file_that_is_not_there_stops_the_start(database_url: str, tmp_path: Path) -> None:
    app = create_app(settings_for(database_url, aliases_file=str(tmp_path / "missing.yaml")))
    with pytest.raises(AliasesFileError, match="cannot be read"), TestClient(app):
        pass


def test_the_command_line_adds_lists_and_deletes_aliases(client: TestClient, cli_env: str) -> None:
    seed(client)
    added: dict[str, Any] = json.loads(run("aliases", "add", "checkoutservice", "checkout"))
    assert added["merge"]["services_merged"] == ["checkoutservice"]
    rule = json.loads(
        run(
            "aliases",
            "add-rule",
            r"(.+)\.shop",
            r"\1",
            "--discovery-source",
            "service_mesh",
        )
    )
    assert rule["merge"]["edges_moved"] == 1
    table = run("aliases", "list")
    assert "checkoutservice" in table and "service_mesh" in table
    undone = json.loads(run("aliases", "delete", added["alias"]["id"]))
    assert undone["services_restored"] == ["checkoutservice"]
    # A refusal is the API's detail on one line, and a failure exit.
    refused = cli_runner.invoke(cli_app, ["aliases", "add", "x", "x"])
    assert refused.exit_code != 0
    assert "cannot be an alias of itself" in refused.output


def test_an_older_file_is_not_synced_back_and_file_aliases_are_changed_in_the_file(
    client: TestClient, cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(client)
    new = tmp_path / "new.yaml"
    new.write_text(FILE)
    old = tmp_path / "old.yaml"
    old.write_text("aliases: []\n")
    os.utime(old, (1_700_000_000, 1_700_000_000))  # a replica still holding last year's
    # The server's own job, as the scheduler runs it (ALIASES_FILE set).
    monkeypatch.setenv("ALIASES_FILE", str(new))
    assert "aliases file synced" in run("jobs", "run", "aliases-file")
    assert "aliases file unchanged" in run("jobs", "run", "aliases-file")
    refused = cli_runner.invoke(cli_app, ["aliases", "sync", str(old)])
    assert refused.exit_code == 1
    assert "older than the one synced last" in refused.output
    assert services(client) == {"checkout", "payment", "frontend"}
    # A rollback on purpose.
    assert "restored: checkout.shop, checkoutservice" in run("aliases", "sync", str(old), "--force")
    assert client.get("/api/v1/aliases").json()["items"] == []
    run("aliases", "sync", str(new), "--force")
    file_alias = client.get("/api/v1/aliases").json()["items"][0]
    response = client.delete(f"/api/v1/aliases/{file_alias['id']}")
    assert response.status_code == 409
    assert "take it out of the file" in response.json()["detail"]


def test_a_file_that_conflicts_with_itself_or_the_api_stops_the_start(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text("aliases:\n  - {alias: a, service_id: b}\n  - {alias: c, service_id: a}\n")
    app = create_app(settings_for(database_url, aliases_file=str(path)))
    with (
        pytest.raises(AliasesFileError, match="aliases/1: 'a' is itself an alias"),
        TestClient(app),
    ):
        pass
    response = client.post("/api/v1/aliases", json={"alias": "x", "service_id": "y"})
    assert response.status_code == 201
    path.write_text("aliases:\n  - {alias: x, service_id: z}\n")
    app = create_app(settings_for(database_url, aliases_file=str(path)))
    with pytest.raises(ConflictError, match="'x' already has an alias"), TestClient(app):
        pass
