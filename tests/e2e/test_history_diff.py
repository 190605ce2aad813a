"""GET /api/v1/graph/diff over HTTP, on both engines: a graph written, changed, retracted,
cut down and cycled through, then compared between its revisions and times, as JSON
and as Markdown, and the inputs that are refused (400) or beyond the history (410)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import edge, ingest

DIFF = "/api/v1/graph/diff"
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Story:
    """The revisions of each write of `written` and the wall-clock time after each."""

    revisions: list[int]
    after: list[datetime]


def _write(client: TestClient, method: str, path: str, **params: Any) -> int:
    response = client.request(method, path, params=params)
    assert response.status_code == 200, response.text
    revision: int = response.json()["revision"]
    return revision


@pytest.fixture
def story(client: TestClient) -> Story:
    """Six writes, one revision each:

    1. a (team t1) -> b (hard, grpc), b -> c, c -> d
    2. a's team becomes t2; a -> b becomes soft; a -> e is new (and so is e)
    3. b -> c retracted
    4. d deleted, with c -> d
    5. e -> a closes the cycle a -> e -> a
    6. e -> a retracted: the cycle resolves
    """
    revisions: list[int] = []
    after: list[datetime] = []

    def step(revision: int) -> None:
        revisions.append(revision)
        after.append(datetime.now(UTC))

    step(
        ingest(
            client,
            [
                edge("a", "b", criticality="hard", protocol="grpc"),
                edge("b", "c"),
                edge("c", "d"),
            ],
            nodes=[{"service_id": "a", "team": "t1", "criticality": "high"}],
        )["revision"]
    )
    step(
        ingest(
            client,
            [edge("a", "b", criticality="soft", protocol="grpc"), edge("a", "e")],
            nodes=[{"service_id": "a", "team": "t2"}],
        )["revision"]
    )
    step(_write(client, "DELETE", "/api/v1/services/b/dependencies/c"))
    step(_write(client, "DELETE", "/api/v1/services/d", cascade="true"))
    opened = ingest(client, [("e", "a")])
    assert len(opened["circular_dependencies_detected"]) == 1
    step(opened["revision"])
    step(_write(client, "DELETE", "/api/v1/services/e/dependencies/a"))
    first = revisions[0]
    assert revisions == list(range(first, first + 6))  # one revision per write
    return Story(revisions, after)


def diff(client: TestClient, start: int | str, end: int | str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"from": start}
    if end is not None:
        params["to"] = end
    response = client.get(DIFF, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def keys(entries: list[dict[str, Any]]) -> list[Any]:
    """The keys of a list of the answer: service ids, or (source, target, source)."""
    return [
        e["service_id"] if "service_id" in e else (e["source"], e["target"], e["discovery_source"])
        for e in entries
    ]


def test_the_diff_between_the_first_and_last_revision(client: TestClient, story: Story) -> None:
    r1, r6 = story.revisions[0], story.revisions[5]
    body = diff(client, r1, r6)
    assert body["from"]["revision"] == r1 and body["to"]["revision"] == r6
    assert body["truncated"] is False

    services = body["services"]
    assert keys(services["added"]) == ["e"]
    assert services["added"][0]["state"]["discovered"] is True
    assert keys(services["removed"]) == ["d"]
    assert services["removed"][0]["state"]["discovered"] is True
    assert services["changed"] == [
        {"service_id": "a", "changes": {"team": {"old": "t1", "new": "t2"}}}
    ]
    assert services["counts"] == {"added": 1, "removed": 1, "changed": 1}

    edges = body["edges"]
    assert keys(edges["added"]) == [("a", "e", "manual")]
    assert keys(edges["removed"]) == [("b", "c", "manual"), ("c", "d", "manual")]
    # A removed report carries its whole state as it was at `from`.
    assert edges["removed"][0]["state"]["is_stale"] is False
    assert edges["changed"] == [
        {
            "source": "a",
            "target": "b",
            "discovery_source": "manual",
            "changes": {"criticality": {"old": "hard", "new": "soft"}},
        }
    ]
    assert edges["counts"] == {"added": 1, "removed": 2, "changed": 1}

    # e -> a came and went in between: not an edge change, but its cycle is told.
    cycles = body["cycles"]
    assert [(c["revision"], c["cycle_path"], c["reason"]) for c in cycles["opened"]] == [
        (story.revisions[4], ["a", "e", "a"], None)
    ]
    assert [(c["revision"], c["cycle_path"]) for c in cycles["resolved"]] == [
        (story.revisions[5], ["a", "e", "a"])
    ]
    assert "e -> a retracted" in cycles["resolved"][0]["reason"]
    assert cycles["counts"] == {"opened": 1, "resolved": 1}


def test_the_diff_between_neighbouring_revisions(client: TestClient, story: Story) -> None:
    r1, r2, r3, r4, r5, r6 = story.revisions

    body = diff(client, r1, r2)
    assert keys(body["services"]["added"]) == ["e"]
    assert body["services"]["changed"] == [
        {"service_id": "a", "changes": {"team": {"old": "t1", "new": "t2"}}}
    ]
    assert keys(body["edges"]["added"]) == [("a", "e", "manual")]
    assert keys(body["edges"]["changed"]) == [("a", "b", "manual")]
    assert body["edges"]["removed"] == [] and body["services"]["removed"] == []

    body = diff(client, r2, r3)
    assert keys(body["edges"]["removed"]) == [("b", "c", "manual")]
    assert body["edges"]["added"] == body["edges"]["changed"] == []
    assert body["services"]["counts"] == {"added": 0, "removed": 0, "changed": 0}

    body = diff(client, r3, r4)
    assert keys(body["services"]["removed"]) == ["d"]
    assert keys(body["edges"]["removed"]) == [("c", "d", "manual")]

    body = diff(client, r4, r5)
    assert keys(body["edges"]["added"]) == [("e", "a", "manual")]
    assert body["cycles"]["counts"] == {"opened": 1, "resolved": 0}

    body = diff(client, r5, r6)
    (removed,) = body["edges"]["removed"]
    assert (removed["source"], removed["target"]) == ("e", "a")
    assert removed["state"]["criticality"] is None
    assert body["cycles"]["counts"] == {"opened": 0, "resolved": 1}

    # Added and retracted in between: no edge change, both cycle events.
    body = diff(client, r4, r6)
    assert body["edges"]["counts"] == {"added": 0, "removed": 0, "changed": 0}
    assert body["services"]["counts"] == {"added": 0, "removed": 0, "changed": 0}
    assert body["cycles"]["counts"] == {"opened": 1, "resolved": 1}

    # A revision with itself: nothing.
    body = diff(client, r3, r3)
    assert body["from"] == body["to"]
    for kind in ("services", "edges"):
        assert body[kind]["counts"] == {"added": 0, "removed": 0, "changed": 0}
    assert body["cycles"]["counts"] == {"opened": 0, "resolved": 0}

    # Without `to`: up to the current revision.
    assert diff(client, r1)["to"]["revision"] == r6
    assert diff(client, r1) == diff(client, r1, r6)


def test_the_diff_between_times(client: TestClient, story: Story) -> None:
    r1, r3 = story.revisions[0], story.revisions[2]
    by_time = diff(client, story.after[0].isoformat(), story.after[2].isoformat())
    assert by_time == diff(client, r1, r3)
    assert by_time["from"]["revision"] == r1 and by_time["to"]["revision"] == r3
    committed = datetime.fromisoformat(by_time["from"]["committed_at"])
    assert committed <= story.after[0]
    # "Z" and a time between two writes (the last revision committed by then).
    zulu = story.after[1].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert diff(client, r1, zulu)["to"]["revision"] == story.revisions[1]
    # A time and a revision mixed.
    assert (
        diff(client, story.after[3].isoformat(), story.revisions[5])["from"]["revision"]
        == (story.revisions[3])
    )


def test_the_markdown_summary(client: TestClient, story: Story) -> None:
    r1, r6 = story.revisions[0], story.revisions[5]
    response = client.get(DIFF, params={"from": r1, "to": r6, "format": "markdown"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert text.startswith(f"# Graph changes from revision {r1} to {r6}\n")
    assert "| services | 1 | 1 | 1 |" in text
    assert "| edge reports | 1 | 2 | 1 |" in text
    assert "Cycles: 1 opened, 1 resolved." in text
    assert '- `a`: team `"t1"` → `"t2"`' in text
    assert "## Edge reports removed (2)\n\n- `b` → `c` (manual)\n- `c` → `d` (manual)\n" in text
    assert '- `a` → `b` (manual): criticality `"hard"` → `"soft"`' in text
    assert "## Services added (1)\n\n- `e`\n" in text
    assert f"## Cycles resolved (1)\n\n- revision {r6}: " in text
    assert "truncated" not in text and "cut at" not in text


def _problem(client: TestClient, status: int, **params: Any) -> dict[str, Any]:
    response = client.get(DIFF, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    return body


def _pointers(problem: dict[str, Any]) -> set[str]:
    return {e["pointer"] for e in problem.get("errors") or []}


def test_bad_bounds_are_400_problems_naming_the_parameter(client: TestClient, story: Story) -> None:
    r1, r6 = story.revisions[0], story.revisions[5]
    now = datetime.now(UTC)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"from": "yesterday"}, "/query/from"),
        ({"from": r1, "to": "2026-12-01"}, "/query/to"),  # a date alone
        ({"from": "2026-12-01T09:00:00"}, "/query/from"),  # no offset
        ({"from": "2026-02-30T09:00:00Z"}, "/query/from"),  # no such day
        ({"from": "-1"}, "/query/from"),
        ({"from": "99999999999999999999"}, "/query/from"),  # past 64 bits
        ({"from": r1, "to": r6 + 1}, "/query/to"),  # not committed yet
        ({"from": r6 + 5}, "/query/from"),
        ({"from": r6, "to": r1}, "/query/from"),  # from after to
        ({"from": story.after[3].isoformat(), "to": story.after[1].isoformat()}, "/query/from"),
        ({"from": (now + timedelta(hours=1)).isoformat()}, "/query/from"),  # the future
        ({"from": r1, "to": "9999-12-31T23:59:59-01:00"}, "/query/to"),
        ({"from": r1, "format": "xml"}, "/query/format"),
        ({"to": r6}, "/query/from"),  # from is required
    ]
    for params, pointer in cases:
        problem = _problem(client, 400, **params)
        assert pointer in _pointers(problem), (params, problem)


def test_times_beyond_the_history_kept_are_410(client: TestClient, story: Story) -> None:
    now = datetime.now(UTC)
    # Older than HISTORY_RETENTION_DAYS (90 by default).
    problem = _problem(client, 410, **{"from": (now - timedelta(days=91)).isoformat()})
    assert problem["type"].endswith("/history-gone")
    assert "HISTORY_RETENTION_DAYS" in problem["detail"]
    _problem(client, 410, **{"from": "0001-01-01T00:00:00+01:00"})
    # Within the retention, but before the history kept began (this test's database is
    # minutes old): nothing was committed by then.
    problem = _problem(
        client, 410, **{"from": (now - timedelta(days=1)).isoformat(), "to": story.revisions[1]}
    )
    assert "before the history kept" in problem["detail"]
