"""`slo-cli retract`, `slo-cli services delete` and `slo-cli ingest --replace`, on the
database directly and through a real server with --url."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import Result

from slo_engine.access.keys import Scope
from slo_engine.cli import app
from tests.e2e.conftest import cli_runner, edge_pairs, make_key, run


def write_document(
    path: Path, edges: list[tuple[str, str]], source: str = "manual", **extra: Any
) -> str:
    document = {
        "source": source,
        "nodes": [],
        "edges": [{"source": s, "target": t} for s, t in edges],
        **extra,
    }
    path.write_text(json.dumps(document))
    return str(path)


def refused(*args: str) -> Result:
    """`slo-cli ARGS`, insisting that it ends with exit code 1 through the CLI's own
    refusal (a SystemExit), not an exception escaping with a traceback."""
    result = cli_runner.invoke(app, list(args))
    assert result.exit_code == 1, (args, result.output)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == "", "a refusal prints no answer"
    return result


def edges_at(service_id: str, *more: str) -> set[tuple[str, str]]:
    """The edges at `service_id`, one hop either way: in the database now, or as the
    server given by `more` (`--url ...`) shows them."""
    answer = json.loads(
        run("query", service_id, "--direction", "both", "--depth", "1", "--json", *more)
    )
    return edge_pairs(answer)


def test_retract_a_manual_edge_on_the_database(cli_env: str, tmp_path: Path) -> None:
    run("ingest", write_document(tmp_path / "a.json", [("web", "api"), ("web", "db")]))
    assert edges_at("web") == {("web", "api"), ("web", "db")}

    answer = json.loads(run("retract", "web", "api", "--discovery-source", "manual"))
    assert answer["retracted"] == [{"source": "web", "target": "api", "discovery_source": "manual"}]
    assert answer["deleted_service"] is None
    assert isinstance(answer["revision"], int) and answer["revision"] > 1
    assert edges_at("web") == {("web", "db")}

    again = refused("retract", "web", "api", "--discovery-source", "manual")
    assert "No edge web -> api is reported by 'manual'." in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert edges_at("web") == {("web", "db")}


def test_retract_without_a_source_takes_back_only_declared_reports(
    cli_env: str, tmp_path: Path
) -> None:
    run("ingest", write_document(tmp_path / "m.json", [("web", "api")]))
    run("ingest", write_document(tmp_path / "b.json", [("web", "api")], source="backstage"))
    observed = [("web", "cache")]
    run("ingest", write_document(tmp_path / "o.json", observed, source="service_mesh"))

    answer = json.loads(run("retract", "web", "api"))
    assert sorted(r["discovery_source"] for r in answer["retracted"]) == ["backstage", "manual"]
    assert edges_at("web") == {("web", "cache")}

    # Traffic reported it: no person's retraction takes it back.
    message = refused("retract", "web", "cache").stderr
    assert "any declared source (manual, backstage)" in message
    assert edges_at("web") == {("web", "cache")}
    # An unknown source is a usage error, before anything is written.
    assert (
        cli_runner.invoke(app, ["retract", "web", "cache", "--discovery-source", "x"]).exit_code
        == 2
    )


def test_services_delete_needs_cascade_while_edges_name_it(cli_env: str, tmp_path: Path) -> None:
    run("ingest", write_document(tmp_path / "a.json", [("web", "api"), ("api", "db")]))

    conflict = refused("services", "delete", "api").stderr
    assert "still named by 2 edge report(s)" in conflict
    assert "api -> db (manual)" in conflict and "web -> api (manual)" in conflict
    assert "--cascade" in conflict
    assert edges_at("api") == {("web", "api"), ("api", "db")}

    answer = json.loads(run("services", "delete", "api", "--cascade"))
    assert answer["deleted_service"] == "api"
    assert {(r["source"], r["target"]) for r in answer["retracted"]} == {
        ("web", "api"),
        ("api", "db"),
    }
    assert "No service has service_id 'api'" in refused("query", "api").stderr
    assert edges_at("web") == set()

    assert "No service has id 'nobody'" in refused("services", "delete", "nobody").stderr
    # A service no edge names needs no --cascade.
    assert json.loads(run("services", "delete", "db"))["retracted"] == []


def test_ingest_replace_retracts_what_the_file_no_longer_lists(
    cli_env: str, tmp_path: Path
) -> None:
    first = [("web", "api"), ("web", "db"), ("api", "db"), ("batch", "db")]
    assert (
        json.loads(run("ingest", write_document(tmp_path / "1.json", first)))["edges_retracted"]
        == 0
    )

    # Scoped to web: its outgoing edges missing from the file go, api's stay.
    second = write_document(tmp_path / "2.json", [("web", "api")])
    scoped = json.loads(run("ingest", second, "--replace", "--scope", "web"))
    assert scoped["edges_retracted"] == 1 and scoped["edges_upserted"] == 1
    assert edges_at("db") == {("api", "db"), ("batch", "db")}
    assert edges_at("web") == {("web", "api")}

    # Unscoped, with a batch size of one: still one request (in batches, each would
    # retract the edges of the others), so both listed edges stay.
    third = write_document(tmp_path / "3.json", [("web", "api"), ("api", "db")])
    whole = json.loads(run("ingest", third, "--replace", "--batch-size", "1"))
    assert whole["edges_retracted"] == 1 and whole["edges_upserted"] == 2
    assert edges_at("api") == {("web", "api"), ("api", "db")}
    assert edges_at("db") == {("api", "db")}

    # A file that says replace itself is one request too.
    fourth = write_document(tmp_path / "4.json", [("web", "api")], mode="replace")
    assert json.loads(run("ingest", fourth, "--batch-size", "1"))["edges_retracted"] == 1
    assert edges_at("api") == {("web", "api")}

    no_replace = cli_runner.invoke(app, ["ingest", second, "--scope", "web"])
    assert no_replace.exit_code == 2 and "--scope needs --replace" in no_replace.stderr


def test_retraction_through_a_server(server: str, cli_env: str, tmp_path: Path) -> None:
    writer = make_key(cli_env, "cli-writer", Scope.WRITE, Scope.READ)
    admin = make_key(cli_env, "cli-admin", Scope.ADMIN)
    as_writer = ("--url", server, "--api-key", writer)
    as_admin = ("--url", server, "--api-key", admin)
    document = write_document(tmp_path / "a.json", [("web", "api"), ("web", "db"), ("api", "db")])
    assert json.loads(run("ingest", document, *as_writer))["edges_upserted"] == 3

    answer = json.loads(run("retract", "web", "db", "--discovery-source", "manual", *as_writer))
    assert answer["retracted"] == [{"source": "web", "target": "db", "discovery_source": "manual"}]
    assert edges_at("web", *as_writer) == {("web", "api")}
    missing = refused("retract", "web", "db", *as_writer).stderr
    assert "404" in missing and "No edge web -> db" in missing

    replaced = write_document(tmp_path / "b.json", [("web", "api")])
    scoped = json.loads(run("ingest", replaced, "--replace", "--scope", "api", *as_writer))
    assert scoped["edges_retracted"] == 1
    assert edges_at("db", *as_writer) == set()

    # Deleting a service takes an admin key.
    assert "403" in refused("services", "delete", "api", "--cascade", *as_writer).stderr
    conflict = refused("services", "delete", "api", *as_admin).stderr
    assert "409" in conflict and "web -> api (manual)" in conflict and "--cascade" in conflict
    deleted = json.loads(run("services", "delete", "api", "--cascade", *as_admin))
    assert deleted["deleted_service"] == "api"
    assert deleted["retracted"] == [
        {"source": "web", "target": "api", "discovery_source": "manual"}
    ]
    assert "404" in refused("query", "api", *as_writer).stderr
    # The server wrote it to the database: the CLI on the database sees it gone too.
    assert "No service has service_id 'api'" in refused("query", "api").stderr


def test_ingest_replace_refuses_two_pictures_of_one_source(cli_env: str, tmp_path: Path) -> None:
    """Two files of one source with --replace: the second would retract the first's
    edges; refused before anything is sent. Files of different sources go through."""
    first = write_document(tmp_path / "a.json", [("web", "api")])
    second = write_document(tmp_path / "b.json", [("api", "db")])
    refused = cli_runner.invoke(app, ["ingest", first, second, "--replace"])
    assert refused.exit_code == 1
    assert "a.json and b.json are both manual's complete picture" in refused.stderr
    nothing = cli_runner.invoke(app, ["query", "web"])
    assert "No service has service_id 'web'" in nothing.stderr  # nothing was sent
    other = write_document(tmp_path / "c.json", [("api", "db")], source="jaeger")
    run("ingest", first, other, "--replace")
    assert edges_at("api") == {("web", "api"), ("api", "db")}
