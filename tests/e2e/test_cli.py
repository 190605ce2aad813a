"""`slo-cli` end to end: key management, local ingest and query, and --url against a
real server process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slo_engine import __version__
from slo_engine.cli import app
from tests.e2e.conftest import BOUTIQUE, run

runner = CliRunner()


def test_api_keys_create_list_revoke(cli_env: str) -> None:
    created = json.loads(
        run(
            "api-keys",
            "create",
            "--name",
            "ci",
            "--scope",
            "write",
            "--scope",
            "read",
            "--expires-in",
            "90d",
            "--json",
        )
    )
    assert created["key"].startswith("slo_")
    assert created["scopes"] == ["read", "write"]
    assert created["expires_at"] is not None

    listed = json.loads(run("api-keys", "list", "--json"))["items"]
    assert [k["name"] for k in listed] == ["ci"]
    assert created["key"] not in json.dumps(listed)
    assert "ci" in run("api-keys", "list")

    assert "Revoked" in run("api-keys", "revoke", "ci")
    assert json.loads(run("api-keys", "list", "--json"))["items"][0]["revoked_at"] is not None

    unknown = runner.invoke(app, ["api-keys", "revoke", "nobody"])
    assert unknown.exit_code == 1
    duplicate = runner.invoke(app, ["api-keys", "create", "--name", "ci"])
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    bad = runner.invoke(app, ["api-keys", "create", "--name", "x", "--expires-in", "soon"])
    assert bad.exit_code == 2


def test_ingest_and_query_on_the_database_directly(cli_env: str) -> None:
    ingested = json.loads(run("ingest", str(BOUTIQUE)))
    assert ingested["edges_upserted"] == 16

    answer = json.loads(run("query", "frontend", "--depth", "1", "--json"))
    assert answer["service"]["service_id"] == "frontend"
    assert {n["service_id"] for n in answer["nodes"]} >= {"cartservice", "checkoutservice"}
    tree = run("query", "checkoutservice", "--direction", "upstream", "--depth", "2")
    assert "frontend" in tree


def test_ingest_and_query_through_a_server_with_a_key(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = runner.invoke(app, ["query", "frontend", "--url", server])
    assert refused.exit_code == 1 and "401" in refused.output

    key = json.loads(run("api-keys", "create", "--name", "cli", "--scope", "admin", "--json"))
    monkeypatch.setenv("SLO_API_KEY", key["key"])
    ingested = json.loads(run("ingest", str(BOUTIQUE), "--url", server, "--batch-size", "5"))
    assert ingested["edges_upserted"] == 16
    answer = json.loads(run("query", "frontend", "--url", server, "--json"))
    assert answer["statistics"]["total_nodes"] >= 9


def test_version_is_printed_without_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"slo-cli {__version__}"
    assert list(tmp_path.iterdir()) == []  # nothing was made where it ran
