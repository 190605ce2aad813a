"""`slo-cli services list` and `slo-cli alerts list`: on the database directly and
through a real server, the same items as the API's pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import BOUTIQUE, run


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_services_list(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run("ingest", str(BOUTIQUE))
    direct = json_lines(run("services", "list", "--json"))
    assert [item["service_id"] for item in direct] == sorted(item["service_id"] for item in direct)
    assert len(direct) == 12

    key = json.loads(run("api-keys", "create", "--name", "lists", "--scope", "read", "--json"))
    monkeypatch.setenv("SLO_API_KEY", key["key"])
    remote = json_lines(run("services", "list", "--json", "--url", server))
    assert remote == direct

    payments = json_lines(run("services", "list", "--team", "payments", "--json"))
    assert {item["service_id"] for item in payments} == {"currencyservice", "paymentservice"}
    table = run("services", "list", "--limit", "3")
    assert "adservice" in table and "team" in table
    assert "emailservice" not in table  # the fourth by id


def test_alerts_list(server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert "No alerts." in run("alerts", "list")
    cycle = {
        "source": "manual",
        "nodes": [],
        "edges": [
            {"source": "a", "target": "b"},
            {"source": "b", "target": "c"},
            {"source": "c", "target": "a"},
        ],
    }
    path = tmp_path / "cycle.json"
    path.write_text(json.dumps(cycle))
    run("ingest", str(path))
    direct = json_lines(run("alerts", "list", "--status", "open", "--json"))
    assert len(direct) == 1
    assert set(direct[0]["members"]) == {"a", "b", "c"}  # type: ignore[arg-type]
    table = run("alerts", "list")
    assert " → ".join(direct[0]["cycle_path"]) in table  # type: ignore[arg-type]
    assert "open" in table

    key = json.loads(run("api-keys", "create", "--name", "alerts", "--scope", "read", "--json"))
    monkeypatch.setenv("SLO_API_KEY", key["key"])
    remote = json_lines(run("alerts", "list", "--status", "open", "--json", "--url", server))
    assert remote == direct
    assert run("alerts", "list", "--status", "resolved", "--url", server).strip() == "No alerts."
