"""`slo-cli impact` and `slo-cli availability`, on the database directly and through a
real server process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slo_engine.cli import app
from tests.e2e.conftest import run
from tests.e2e.test_cli import BOUTIQUE

runner = CliRunner()


def test_impact_and_availability_on_the_database_directly(cli_env: str) -> None:
    run("ingest", str(BOUTIQUE))

    table = run("impact", "redis-cart")
    assert "4 service(s) down, 0 degraded" in table
    assert "cartservice" in table and "loadgenerator" in table
    answer = json.loads(run("impact", "emailservice", "--depth", "1", "--json"))
    assert [(a["service_id"], a["impact"]) for a in answer["affected"]] == [
        ("checkoutservice", "degraded")
    ]

    ceiling = json.loads(run("availability", "checkoutservice", "--json"))
    assert ceiling["ceiling"] == pytest.approx(0.999**7)
    text = " ".join(run("availability", "checkoutservice").split())  # unwrapped
    assert f"at most {0.999**7:.6%}" in text
    assert "through 6 hard synchronous dependencies" in text
    assert ceiling["arithmetic"] in text

    missing = runner.invoke(app, ["impact", "ghost"])
    assert missing.exit_code == 1 and "No service has service_id 'ghost'" in missing.output


def test_free_text_is_printed_as_written_never_as_markup(
    cli_env: str,
    tmp_path: Path,
) -> None:
    document = {
        "source": "manual",
        "nodes": [
            {"service_id": "api", "team": "[/bold] [link=http://x]ops[/link]"},
            {"service_id": "db", "metadata": {"slo_target": "[/dim] high"}},
        ],
        "edges": [{"source": "api", "target": "db"}],
    }
    path = tmp_path / "markup.json"
    path.write_text(json.dumps(document))
    run("ingest", str(path))
    table = " ".join(run("impact", "db").split())
    assert "[/bold] [link=http://x]ops[/link]" in table
    notes = " ".join(run("availability", "api").split())
    assert "slo_target '[/dim] high' is not a number" in notes


def test_impact_and_availability_through_a_server(
    server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused = runner.invoke(app, ["impact", "frontend", "--url", server])
    assert refused.exit_code == 1 and "401" in refused.output

    key = json.loads(run("api-keys", "create", "--name", "cli", "--scope", "admin", "--json"))
    monkeypatch.setenv("SLO_API_KEY", key["key"])
    run("ingest", str(BOUTIQUE), "--url", server)
    remote = json.loads(run("impact", "productcatalogservice", "--url", server, "--json"))
    local = json.loads(run("impact", "productcatalogservice", "--json"))
    assert remote == local
    assert remote["totals"]["down"] == 4
    remote_ceiling = json.loads(run("availability", "frontend", "--url", server, "--json"))
    assert remote_ceiling == json.loads(run("availability", "frontend", "--json"))
