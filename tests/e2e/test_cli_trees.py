"""`slo-cli query`'s trees (callees, callers, both labelled, cycles marked) and
`slo-cli ingest`'s one-line summary, on the database directly and through a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from slo_engine.access.keys import Scope
from slo_engine.cli import app
from slo_engine.graph.model import Direction
from slo_engine.topology.cli_trees import render_trees
from tests.e2e.conftest import BOUTIQUE, SOCK_SHOP, make_key, run, served

runner = CliRunner()
# Tracing sees a call nobody declared: payment calls the frontend back, closing the
# cycle checkoutservice -> paymentservice -> frontend -> checkoutservice.
CYCLE = {
    "source": "otel_service_graph",
    "edges": [{"source": "paymentservice", "target": "frontend"}],
}


def write(path: Path, document: dict[str, Any]) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def tree_lines(*args: str) -> list[str]:
    return [line.rstrip() for line in run("query", *args).splitlines()]


def test_both_directions_are_two_labelled_trees_with_cycles_marked(
    cli_env: str, tmp_path: Path
) -> None:
    run("ingest", str(BOUTIQUE), write(tmp_path / "cycle.json", CYCLE))
    lines = tree_lines("checkoutservice", "--direction", "both", "--depth", "2")
    down = lines.index("checkoutservice calls (downstream)")
    up = lines.index("checkoutservice called by (upstream)")
    assert down == 0 and up > down
    callees, callers = "\n".join(lines[down:up]), "\n".join(lines[up:])
    # Downstream: what checkout calls, breadth first; payment's call back to the
    # frontend, whose call to checkout closes the cycle.
    for service in ("cartservice", "redis-cart", "paymentservice", "emailservice"):
        assert service in callees
    assert "loadgenerator" not in callees
    assert "└── ↻ checkoutservice (cycle)" in callees
    # Upstream: who calls checkout: the frontend, and who calls the frontend.
    assert "└── frontend storefront" in callers
    assert "loadgenerator platform" in callers and "paymentservice payments" in callers
    assert "↻ checkoutservice (cycle)" in callers
    assert "cartservice" not in callers and "redis-cart" not in callers


def test_one_direction_marks_cycles_and_repeated_services(cli_env: str, tmp_path: Path) -> None:
    run("ingest", str(BOUTIQUE), write(tmp_path / "cycle.json", CYCLE))
    lines = tree_lines("productcatalogservice", "--direction", "upstream", "--depth", "10")
    assert lines[0] == "productcatalogservice called by (upstream)"
    text = "\n".join(lines)
    # Each service drawn once, under a neighbour one hop closer.
    assert sum(line.endswith("frontend storefront") for line in lines) == 1
    assert "↻ frontend (cycle)" in text  # frontend calls checkout, which it is in a cycle with
    # recommendationservice is called by the frontend too, drawn elsewhere.
    assert "frontend (under productcatalogservice)" in text

    acyclic = tree_lines("frontend", "--depth", "2")
    assert acyclic[0] == "frontend calls (downstream)"
    assert "(cycle)" not in "\n".join(acyclic)  # the call back is 3 hops away
    assert "redis-cart checkout" in "\n".join(acyclic)


def test_trees_through_a_server_are_the_same(
    server: str, monkeypatch: pytest.MonkeyPatch, cli_env: str, tmp_path: Path
) -> None:
    key = make_key(cli_env, "cli", Scope.READ)
    run("ingest", str(BOUTIQUE), write(tmp_path / "cycle.json", CYCLE))
    served(server, key, "paymentservice")
    monkeypatch.setenv("SLO_API_KEY", key)
    for args in (
        ("checkoutservice", "--direction", "both", "--depth", "3"),
        ("cartservice", "--direction", "upstream"),
        ("frontend",),
    ):
        assert run("query", *args, "--url", server) == run("query", *args)
    assert json.loads(run("query", "frontend", "--json"))["service"]["service_id"] == "frontend"


def test_render_trees_self_call_and_diamond() -> None:
    def node(service_id: str, depth: int) -> dict[str, Any]:
        return {"service_id": service_id, "team": None, "depth": depth}

    def edge(source: str, target: str) -> dict[str, Any]:
        return {"source": source, "target": target}

    answer = {
        "service": {"service_id": "a"},
        "nodes": [node("b", 1), node("c", 1), node("d", 2)],
        "edges": [edge("a", "b"), edge("a", "c"), edge("b", "d"), edge("c", "d"), edge("c", "c")],
        "statistics": {"truncated": False},
    }
    console = Console(width=80, record=True, color_system=None)
    console.print(render_trees(answer, Direction.DOWNSTREAM, 3))
    text = console.export_text()
    assert text.splitlines() == [
        "a calls (downstream)",
        "├── b",
        "│   └── d",
        "└── c",
        "    ├── ↻ c (cycle)",
        "    └── d (under b)",
    ]
    console.print(render_trees(answer, Direction.UPSTREAM, 3))
    assert console.export_text().splitlines() == ["a called by (upstream)", "└── (none)"]


# ---------------------------------------------------------------- ingest's summary


def summary(result: Any) -> str:
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines[-1]


def test_ingest_summary_counts_each_service_and_edge_once(cli_env: str, tmp_path: Path) -> None:
    # In batches of 5 the 12 services of Online Boutique are named by several requests
    # (the API's answers count per request); the summary counts each once.
    batched = runner.invoke(app, ["ingest", str(BOUTIQUE), "--batch-size", "5"])
    assert json.loads(batched.stdout)["edges_upserted"] == 16
    assert summary(batched) == ("Ingested 1 file: 12 services, 16 edges, 0 new cycles, 0 warnings")
    cycle = write(tmp_path / "cycle.json", CYCLE)
    boutique = json.loads(BOUTIQUE.read_text())
    sock_shop = json.loads(SOCK_SHOP.read_text())
    services = {n["service_id"] for n in boutique["nodes"] + sock_shop["nodes"]}
    services |= {
        e[end] for e in boutique["edges"] + sock_shop["edges"] for end in ("source", "target")
    }
    pairs = {(e["source"], e["target"]) for e in boutique["edges"] + sock_shop["edges"]}
    three = runner.invoke(
        app, ["ingest", str(BOUTIQUE), cycle, str(SOCK_SHOP), "--batch-size", "3"]
    )
    assert summary(three) == (
        f"Ingested 3 files: {len(services)} services, {len(pairs) + 1} edges, "
        "1 new cycle, 0 warnings"
    )
    # The JSON on stdout is the API's answers summed, as before.
    assert json.loads(three.stdout)["circular_dependencies_detected"][0]["cycle_path"]


def test_ingest_summary_through_a_server(
    server: str, cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLO_API_KEY", make_key(cli_env, "writer", Scope.WRITE))
    replaced = write(
        tmp_path / "r.json",
        {"source": "backstage", "edges": [{"source": "web", "target": "api"}]},
    )
    first = runner.invoke(
        app, ["ingest", str(BOUTIQUE), replaced, "--url", server, "--batch-size", "4"]
    )
    assert summary(first) == "Ingested 2 files: 14 services, 17 edges, 0 new cycles, 0 warnings"
    again = write(
        tmp_path / "r2.json",
        {"source": "backstage", "edges": [{"source": "web", "target": "db"}]},
    )
    second = runner.invoke(app, ["ingest", again, "--replace", "--url", server])
    assert summary(second) == (
        "Ingested 1 file: 2 services, 1 edge, 1 edge retracted, 0 new cycles, 0 warnings"
    )
