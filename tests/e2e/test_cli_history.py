"""`slo-cli changes`, `slo-cli diff` and `--as-of` on query, impact, availability and
export, on the database directly and through a real server with --url, on both
engines: a graph written, a time noted, an edge retracted, then read back."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from slo_engine.access.keys import Scope
from slo_engine.cli import app
from slo_engine.history import cli as history_cli
from tests.e2e.conftest import cli_runner, edge_pairs, make_key, run
from tests.e2e.test_cli_retraction import edges_at, refused, write_document

# The graph before the retraction; web -> db is retracted after `before`.
EDGES = [("web", "api"), ("web", "db")]
TOO_OLD = "2000-01-01T00:00:00Z"
FUTURE = "2999-01-01T00:00:00Z"


def ingest_then_retract(tmp_path: Path, *more: str) -> str:
    """Ingest `EDGES`, retract web -> db, and return a time between the two (with --url
    when `more` names a server)."""
    run("ingest", write_document(tmp_path / "a.json", EDGES), *more)
    time.sleep(0.01)  # the retraction's revision time is strictly later
    before = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    run("retract", "web", "db", "--discovery-source", "manual", *more)
    return before


def feed(*args: str) -> list[dict[str, Any]]:
    """`slo-cli changes --format json ARGS`: one change per line."""
    return [json.loads(line) for line in run("changes", "--format", "json", *args).splitlines()]


def kinds(entries: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(e["type"], e["service_id"], e["target_id"]) for e in entries]


def one_line(*args: str) -> str:
    """The refusal of `slo-cli ARGS`: exit code 1, no traceback, one line on stderr."""
    message = refused(*args).stderr.strip()
    assert len(message.splitlines()) == 1, message
    return message


WRITTEN = [
    ("service.created", "web", None),
    ("service.created", "api", None),
    ("service.created", "db", None),
    ("edge.reported", "web", "api"),
    ("edge.reported", "web", "db"),
    ("edge.retracted", "web", "db"),
]


def test_changes_on_the_database(cli_env: str, tmp_path: Path) -> None:
    before = ingest_then_retract(tmp_path)

    entries = feed()
    assert kinds(entries) == WRITTEN
    assert [e["revision"] for e in entries] == [1, 1, 1, 1, 1, 2]
    retraction = entries[-1]
    assert (retraction["discovery_source"], retraction["actor"]) == ("manual", "cli")
    assert retraction["state"] is None and retraction["previous"]["confidence_score"] == 0.9

    # The filters, as the feed's query parameters.
    assert kinds(feed("--since-revision", "1")) == WRITTEN[-1:]
    assert kinds(feed("--since", before)) == WRITTEN[-1:]
    assert kinds(feed("--until", before)) == WRITTEN[:-1]
    assert kinds(feed("--service", "db")) == [WRITTEN[2], WRITTEN[4], WRITTEN[5]]
    assert kinds(feed("--type", "edge.retracted", "--type", "service.created")) == [
        *WRITTEN[:3],
        WRITTEN[5],
    ]

    # --limit cuts the feed, and says so on stderr (stdout stays JSON lines).
    limited = cli_runner.invoke(app, ["changes", "--format", "json", "--limit", "2"])
    assert limited.exit_code == 0, limited.output
    assert [json.loads(line) for line in limited.stdout.splitlines()] == entries[:2]
    assert "More changes follow the first 2" in limited.stderr

    table = run("changes", "--type", "edge.retracted")
    assert "edge.retracted" in table and "web → db" in table and "manual" in table
    assert "edge.reported" not in table
    assert "No changes." in run("changes", "--since-revision", "2")

    # A cycle's entry shows its path.
    run("ingest", write_document(tmp_path / "cycle.json", [("api", "web")]))
    (opened,) = feed("--type", "cycle.opened")
    assert set(opened["state"]["cycle_path"]) == {"web", "api"}
    assert " → ".join(opened["state"]["cycle_path"]) in run("changes", "--type", "cycle.opened")

    assert "--since: 'yesterday' is not an RFC 3339 time" in one_line(
        "changes", "--since", "yesterday"
    )
    assert cli_runner.invoke(app, ["changes", "--type", "edge.gone"]).exit_code == 2


def test_changes_follow_the_cursor_past_a_page(
    cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More entries than the feed's page: the command asks page after page."""
    run("ingest", write_document(tmp_path / "a.json", EDGES))
    whole = feed()
    assert len(whole) == 5
    monkeypatch.setattr(history_cli, "MAX_PAGE", 2)
    assert feed() == whole  # in pages of two
    assert feed("--limit", "3") == whole[:3]


def test_diff_on_the_database(cli_env: str, tmp_path: Path) -> None:
    before = ingest_then_retract(tmp_path)

    markdown = run("diff", "--from", "1")
    assert markdown.startswith("# Graph changes from revision 1 to 2")
    assert "## Edge reports removed (1)" in markdown
    assert "- `web` → `db` (manual)" in markdown
    assert run("diff", "--from", before) == markdown

    answer = json.loads(run("diff", "--from", "1", "--to", "2", "--format", "json"))
    assert (answer["from"]["revision"], answer["to"]["revision"]) == (1, 2)
    assert [
        (e["source"], e["target"], e["discovery_source"]) for e in answer["edges"]["removed"]
    ] == [("web", "db", "manual")]
    assert answer["edges"]["counts"] == {"added": 0, "removed": 1, "changed": 0}
    assert answer["services"]["counts"] == {"added": 0, "removed": 0, "changed": 0}

    assert "from: revision 9 is past the current revision (2)" in one_line("diff", "--from", "9")
    assert "from (revision 2) is after to (revision 1)" in one_line(
        "diff", "--from", "2", "--to", "1"
    )
    assert "is older than the history kept" in one_line("diff", "--from", TOO_OLD)
    assert "expected a graph revision" in one_line("diff", "--from", "yesterday")


def test_as_of_on_the_database(cli_env: str, tmp_path: Path) -> None:
    before = ingest_then_retract(tmp_path)

    assert edges_at("web", "--as-of", before) == set(EDGES)
    assert edges_at("web") == {("web", "api")}
    tree = cli_runner.invoke(app, ["query", "web", "--as-of", before])
    assert tree.exit_code == 0 and "db" in tree.stdout
    assert f"as of {datetime.fromisoformat(before).isoformat()}: graph revision 1" in tree.stderr
    assert "db" not in run("query", "web")

    then = json.loads(run("impact", "db", "--as-of", before, "--json"))
    assert [(a["service_id"], a["impact"]) for a in then["affected"]] == [("web", "down")]
    assert json.loads(run("impact", "db", "--json"))["affected"] == []
    ceiling = json.loads(run("availability", "web", "--as-of", before, "--json"))
    assert ceiling["dependencies"] == 2
    assert json.loads(run("availability", "web", "--json"))["dependencies"] == 1

    whole = json.loads(run("export", "--as-of", before))
    assert (whole["revision"], edge_pairs(whole)) == (1, set(EDGES))
    assert edge_pairs(json.loads(run("export"))) == {("web", "api")}
    subgraph = json.loads(run("export", "web", "--as-of", before, "--depth", "1"))
    assert edge_pairs(subgraph) == set(EDGES)
    # A time after the last write is the current graph.
    assert edges_at("web", "--as-of", datetime.now(UTC).isoformat()) == {("web", "api")}

    for command in (["query", "web"], ["impact", "db"], ["availability", "web"], ["export"]):
        assert "is older than the history kept" in one_line(*command, "--as-of", TOO_OLD)
        assert "is in the future" in one_line(*command, "--as-of", FUTURE)
        no_offset = one_line(*command, "--as-of", "2026-01-01T00:00:00")
        assert "--as-of: '2026-01-01T00:00:00' is not an RFC 3339 time" in no_offset
    assert "No service has service_id 'ghost'" in one_line("query", "ghost", "--as-of", before)


def test_history_through_a_server(server: str, cli_env: str, tmp_path: Path) -> None:
    reader = make_key(cli_env, "cli-reader", Scope.READ)
    writer = make_key(cli_env, "cli-writer", Scope.WRITE, Scope.READ)
    as_reader = ("--url", server, "--api-key", reader)
    before = ingest_then_retract(tmp_path, "--url", server, "--api-key", writer)

    # The same feed and the same bytes as on the database; the server names the key.
    remote = run("changes", "--format", "json", *as_reader)
    assert remote == run("changes", "--format", "json")
    entries = [json.loads(line) for line in remote.splitlines()]
    assert kinds(entries) == WRITTEN
    assert {e["actor"] for e in entries} == {"cli-writer"}
    assert kinds(feed("--since", before, "--type", "edge.retracted", *as_reader)) == WRITTEN[-1:]
    assert "web → db" in run("changes", "--type", "edge.retracted", *as_reader)

    assert run("diff", "--from", before, *as_reader) == run("diff", "--from", before)
    assert run("diff", "--from", "1", "-f", "json", *as_reader) == run(
        "diff", "--from", "1", "-f", "json"
    )

    assert edges_at("web", "--as-of", before, *as_reader) == set(EDGES)
    assert edges_at("web", *as_reader) == {("web", "api")}
    for command in (["impact", "db"], ["availability", "web"]):
        then = run(*command, "--as-of", before, "--json", *as_reader)
        assert json.loads(then) == json.loads(run(*command, "--as-of", before, "--json"))
    assert run("export", "--as-of", before, *as_reader) == run("export", "--as-of", before)
    assert run("export", "-f", "dot", "--as-of", before, *as_reader) == run(
        "export", "-f", "dot", "--as-of", before
    )

    assert "410: as_of" in one_line("query", "web", "--as-of", TOO_OLD, *as_reader)
    assert "400: as_of" in one_line("impact", "db", "--as-of", FUTURE, *as_reader)
    assert "410:" in one_line("export", "-f", "dot", "--as-of", TOO_OLD, *as_reader)
    assert "400: from: revision 9 is past" in one_line("diff", "--from", "9", *as_reader)
    bad_service = one_line("changes", "--service", "no/such", *as_reader)
    assert "400: A query or path parameter is invalid. (/query/service:" in bad_service
    assert "401" in one_line("changes", "--url", server, "--api-key", "slo_wrong")
