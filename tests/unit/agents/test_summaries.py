"""The MCP tools' bounded answers (slo_engine/agents/summaries.py): a summary first, the
details capped, and what was left out counted, on answers shaped as the API's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from slo_engine.agents import summaries
from slo_engine.agents.api import refusal_of
from slo_engine.agents.summaries import HistoryBound, history_bound


def subgraph(root: str, depths: dict[str, int], edges: list[tuple[str, str]], **more: Any) -> Any:
    """A GET /services/{id}/dependencies answer: nodes by (depth, id), as the API lists."""
    nodes = [
        {
            "service_id": node,
            "display_name": None,
            "team": "team-" + node[0],
            "criticality": None,
            "discovered": node.startswith("x"),
            "depth": depth,
        }
        for node, depth in sorted(depths.items(), key=lambda item: (item[1], item[0]))
    ]
    return {
        "service": {"service_id": root, "team": "core", "criticality": "high", "metadata": {}},
        "nodes": nodes,
        "edges": [
            {
                "source": source,
                "target": target,
                "attributes": {"criticality": "hard", "communication_mode": None},
                "discovery_sources": ["manual"],
                "is_stale": (source, target) == ("b", "x1"),
            }
            for source, target in sorted(edges)
        ],
        "statistics": {"truncated": False, **more},
    }


# A root with three direct dependencies, two of which call two more each.
FAN = subgraph(
    "root",
    {"a": 1, "b": 1, "c": 1, "a1": 2, "a2": 2, "b1": 2, "x1": 2},
    [
        ("root", "a"),
        ("root", "b"),
        ("root", "c"),
        ("a", "a1"),
        ("a", "a2"),
        ("b", "b1"),
        ("b", "x1"),
    ],
)


def dependencies(answer: Any, max_nodes: int, **options: Any) -> Any:
    arguments = {"direction": "downstream", "depth": 3, "include_stale": False, **options}
    return summaries.dependencies_answer(answer, max_nodes=max_nodes, **arguments)


def test_a_subgraph_that_fits_is_listed_whole_with_its_summary_first() -> None:
    answer = dependencies(FAN, 30, revision="12")
    assert next(iter(answer)) == "summary"
    summary = answer["summary"]
    assert summary["services"] == 7 and summary["edges"] == 7 and summary["complete"]
    assert summary["services_by_depth"] == {"1": 3, "2": 4}
    assert summary["discovered_only"] == 1 and summary["revision"] == 12
    assert summary["listed_services"] == 7 and summary["listed_edges"] == 7
    assert [s["service_id"] for s in answer["services"]] == [n["service_id"] for n in FAN["nodes"]]
    assert "more" not in answer
    # Nothing an agent does not need: no nulls, no false flags.
    assert answer["services"][0] == {"service_id": "a", "depth": 1, "team": "team-a"}
    assert answer["edges"][0] == {
        "source": "root",
        "target": "a",
        "criticality": "hard",
        "sources": ["manual"],
    }


def test_max_nodes_lists_the_closest_and_counts_the_rest() -> None:
    answer = dependencies(FAN, 2)
    assert [s["service_id"] for s in answer["services"]] == ["a", "b"]
    # The counts are the whole subgraph's; only edges between listed services are listed.
    assert answer["summary"]["services"] == 7 and answer["summary"]["listed_services"] == 2
    assert {(e["source"], e["target"]) for e in answer["edges"]} == {("root", "a"), ("root", "b")}
    more = answer["more"]
    assert more[0].startswith("5 more services (depths 1-2) not listed")
    assert "max_nodes=7" in more[0]
    assert more[1].startswith("5 more edges not listed")
    assert more[-1] == (
        "The whole answer: GET /api/v1/services/root/dependencies?direction=downstream&depth=3"
    )


def test_edges_are_capped_per_listed_service_nearest_first() -> None:
    star = subgraph(
        "hub",
        {f"s{n}": 1 for n in range(5)} | {"t": 2},
        [("hub", f"s{n}") for n in range(5)] + [(f"s{n}", "t") for n in range(5)],
    )
    answer = dependencies(star, 1)
    # One service listed: at most two edges, and only those between listed services.
    assert answer["edges"] == [
        {"source": "hub", "target": "s0", "criticality": "hard", "sources": ["manual"]}
    ]
    answer = dependencies(star, 6)
    assert len(answer["edges"]) == 10 and answer["edges"][0]["target"] == "s0"
    # Three listed: the calls to `t` (not listed) are left out, and counted.
    answer = dependencies(star, 3)
    assert [e["target"] for e in answer["edges"]] == ["s0", "s1", "s2"]
    assert answer["more"][1].startswith("7 more edges not listed")


def test_an_answer_cut_by_the_api_says_its_counts_are_a_lower_bound() -> None:
    cut = {**FAN, "statistics": {"truncated": True}}
    answer = dependencies(cut, 30)
    assert answer["summary"]["complete"] is False
    assert any("More than 7 services are in reach" in line for line in answer["more"])


def test_stale_edges_are_counted_only_when_asked_for() -> None:
    assert "stale_edges" not in dependencies(FAN, 30)["summary"]
    answer = dependencies(FAN, 30, include_stale=True, as_of="2026-12-01T09:00:00Z")
    assert answer["summary"]["stale_edges"] == 1
    assert answer["summary"]["as_of"] == "2026-12-01T09:00:00Z"
    assert {"source": "b", "target": "x1", "criticality": "hard", "sources": ["manual"]} | {
        "stale": True
    } in answer["edges"]


def impact(affected: int, listed: int) -> Any:
    items = [
        {
            "service_id": f"caller{n}",
            "display_name": None,
            "team": f"team{n}",
            "criticality": None,
            "discovered": False,
            "impact": "down" if n < 2 else "degraded",
            "distance": 1,
            "path": [f"caller{n}", "db"],
            "path_edges": [
                {
                    "source": f"caller{n}",
                    "target": "db",
                    "criticality": "hard" if n < 2 else "soft",
                    "communication_mode": "sync",
                    "effect": "down" if n < 2 else "degraded",
                }
            ],
        }
        for n in range(listed)
    ]
    return {
        "service": {"service_id": "db", "team": "data", "criticality": None, "metadata": {}},
        "depth": 10,
        "include_stale": False,
        "affected": items,
        "truncated": listed < affected,
        "totals": {
            "affected": affected,
            "down": 2,
            "degraded": affected - 2,
            "by_team": [{"team": f"team{n}", "down": 0, "degraded": 1} for n in range(affected)],
            "by_criticality": [{"criticality": None, "down": 2, "degraded": affected - 2}],
        },
    }


def test_impact_lists_the_worst_hit_and_keeps_the_totals_whole() -> None:
    answer = summaries.impact_answer(impact(8, 3), max_affected=3)
    summary = answer["summary"]
    assert (summary["affected"], summary["down"], summary["degraded"]) == (8, 2, 6)
    assert summary["listed"] == 3 and len(summary["by_team"]) == summaries.TOP
    assert answer["affected"][0] == {
        "service_id": "caller0",
        "impact": "down",
        "distance": 1,
        "team": "team0",
        "path": "caller0 -hard/sync-> db",
    }
    assert answer["more"][0].startswith("5 more affected services not listed")
    assert "max_affected=8" in answer["more"][0]
    assert answer["more"][1] == "3 more teams are hit than `by_team` lists."
    assert answer["more"][-1].endswith("/api/v1/services/db/impact?depth=10")


def test_impact_beyond_the_cap_says_to_narrow() -> None:
    answer = summaries.impact_answer(impact(500, 3), max_affected=3)
    assert f"max_affected={summaries.MAX_AFFECTED_CAP} (its largest value)" in answer["more"][0]


def availability(units: int, arithmetic: str) -> Any:
    return {
        "service": {"service_id": "api", "team": None, "criticality": None, "metadata": {}},
        "include_stale": False,
        "ceiling": 0.99302097,
        "nines": 2.156,
        "dependencies": units,
        "default_slo_target": 0.999,
        "arithmetic": arithmetic,
        "terms": [
            {
                "service_id": f"s{n}",
                "slo_target": 0.999,
                "target_source": "default",
                "observed_success": None,
                "factor": 0.999,
                "factor_source": "default",
                "unit": n,
            }
            for n in range(units + 1)
        ],
        "units": [],
        "limiting": [
            {
                "unit": n,
                "members": [f"s{n}"],
                "factor": 0.999,
                "cost": 0.0009940149800149456,
                "ceiling_without": 0.994,
            }
            for n in range(1, units + 1)
        ],
        "truncated": False,
        "if_soft_were_hard": {"ceiling": 0.992, "nines": 2.1, "dependencies": units + 1},
        "notes": [],
    }


def test_availability_puts_the_figure_and_the_costliest_first() -> None:
    answer = summaries.availability_answer(availability(6, "0.999 × … = 0.993"), max_items=10)
    summary = answer["summary"]
    assert summary["ceiling"] == 0.99302097 and summary["percent"] == "99.3021%"
    assert summary["dependencies_counted"] == 6
    assert summary["costliest"] == [{"members": [f"s{n}"], "cost": 0.000994} for n in (1, 2, 3)]
    assert summary["if_soft_were_hard"] == {
        "ceiling": 0.992,
        "percent": "99.2%",
        "dependencies_counted": 7,
    }
    assert len(answer["limiting"]) == 6 and len(answer["terms"]) == 7
    assert answer["arithmetic"] == "0.999 × … = 0.993"
    assert "more" not in answer


def test_availability_caps_its_lists_and_leaves_out_long_arithmetic() -> None:
    long = "0.999 × " * 100
    answer = summaries.availability_answer(availability(30, long), max_items=5)
    assert len(answer["limiting"]) == 5 and len(answer["terms"]) == 5
    assert "arithmetic" not in answer
    more = answer["more"]
    assert more[0] == f"The arithmetic ({len(long):,} characters) is left out."
    assert more[1].startswith("25 more limiting units not listed")
    assert more[2].startswith("26 more terms not listed")


def alert(number: int, size: int) -> Any:
    members = [f"m{number}-{n}" for n in range(size)]
    return {
        "alert_id": f"00000000-0000-0000-0000-{number:012d}",
        "members": members,
        "cycle_path": [*members, members[0]],
        "status": "open",
        "first_detected_at": "2026-12-01T09:00:00Z",
        "last_detected_at": "2026-12-01T09:00:00Z",
        "acknowledged_by": None,
        "acknowledged_at": None,
        "resolved_by": None,
        "resolved_at": None,
        "note": None,
    }


def test_cycles_are_counted_whole_and_listed_newest_first() -> None:
    page = {"items": [alert(1, 2), alert(2, 30), alert(3, 3)], "next_cursor": None}
    answer = summaries.cycles_answer(page, status="open", limit=2)
    assert answer["summary"] == {
        "status": "open",
        "alerts": 3,
        "complete": True,
        "services_in_cycles": 35,
        "largest_cycle": 30,
        "listed": 2,
    }
    first, second = answer["alerts"]
    assert first["cycle_path"] == ["m1-0", "m1-1", "m1-0"] and first["size"] == 2
    # A long cycle path is cut, the rest counted.
    assert len(second["cycle_path"]) == summaries.CYCLE_PATH_MAX + 1
    assert second["cycle_path"][-1] == "... 11 more"
    assert answer["more"][0].startswith("1 more alerts not listed")
    assert answer["more"][-1] == "The whole list: GET /api/v1/circular-dependencies?status=open"


def test_a_full_page_of_cycles_says_there_are_more() -> None:
    page = {"items": [alert(1, 2)], "next_cursor": "abc"}
    answer = summaries.cycles_answer(page, status="any", limit=5)
    assert answer["summary"]["complete"] is False
    assert answer["more"][-1] == "The whole list: GET /api/v1/circular-dependencies"


def test_search_lists_the_closest_matches_first() -> None:
    items = [
        {"service_id": sid, "display_name": name, "team": None, "discovered": False}
        for sid, name in (
            ("a-cart-b", None),
            ("cart", None),
            ("carts", None),
            ("redis", "Cart"),
            ("shopping-cart", None),
        )
    ]
    answer = summaries.search_answer(
        {"items": items, "next_cursor": None}, query="Cart", team=None, limit=3
    )
    assert [s["service_id"] for s in answer["services"]] == ["cart", "redis", "carts"]
    assert answer["summary"] == {"query": "Cart", "matches": 5, "complete": True, "listed": 3}
    assert answer["more"][0].startswith("2 more matches not listed")
    assert answer["more"][-1] == "The whole list: GET /api/v1/services?search=Cart"


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("42", HistoryBound(revision=42)),
        ("30m", HistoryBound(time="2026-12-02T08:30:00Z")),
        ("24H", HistoryBound(time="2026-12-01T09:00:00Z")),
        ("7d", HistoryBound(time="2026-11-25T09:00:00Z")),
        ("2 w", HistoryBound(time="2026-11-18T09:00:00Z")),
        ("2026-12-01T09:00:00Z", HistoryBound(time="2026-12-01T09:00:00Z")),
        # Not ours to judge: the API refuses it with its problem detail.
        ("yesterday", HistoryBound(time="yesterday")),
        ("-5", HistoryBound(time="-5")),
    ],
)
def test_history_bounds(text: str, bound: HistoryBound) -> None:
    assert history_bound(text, datetime(2026, 12, 2, 9, 0, tzinfo=UTC)) == bound


def diff(**counts: int) -> Any:
    """A GET /graph/diff answer with `counts[<group>_<kind>]` entries in each list."""

    def entries(group: str, kind: str) -> list[Any]:
        number = counts.get(f"{group}_{kind}", 0)
        if group == "cycles":
            return [{"revision": 5, "cycle_path": ["a", "b", "a"], "reason": None}] * number
        if group == "services":
            if kind == "changed":
                change = {"team": {"old": "x", "new": "y"}, "metadata": {"old": {}, "new": {}}}
                return [{"service_id": f"s{n}", "changes": change} for n in range(number)]
            return [{"service_id": f"s{n}", "state": {"team": "t"}} for n in range(number)]
        edge = {"source": "a", "target": "b", "discovery_source": "manual"}
        if kind == "changed":
            return [{**edge, "changes": {"request_rate": {"old": 1.0, "new": 9.0}}}] * number
        return [{**edge, "state": {}}] * number

    def group(name: str, kinds: tuple[str, ...]) -> Any:
        return {
            **{kind: entries(name, kind) for kind in kinds},
            "counts": {kind: counts.get(f"{name}_{kind}", 0) for kind in kinds},
        }

    return {
        "from": {"revision": 3, "committed_at": "2026-12-01T09:00:00Z"},
        "to": {"revision": 9, "committed_at": "2026-12-02T09:00:00Z"},
        "services": group("services", ("added", "removed", "changed")),
        "edges": group("edges", ("added", "removed", "changed")),
        "cycles": group("cycles", ("opened", "resolved")),
        "truncated": False,
    }


def test_a_difference_fills_its_budget_with_what_breaks_things_first() -> None:
    found = diff(services_added=4, edges_removed=2, cycles_opened=1, services_changed=3)
    answer = summaries.diff_answer(found, max_items=5, since="3", until=None)
    summary = answer["summary"]
    assert summary["changes"] == 10 and summary["listed"] == 5 and summary["until"] == "now"
    assert summary["services"] == {"added": 4, "removed": 0, "changed": 3}
    assert len(answer["cycles_opened"]) == 1 and len(answer["edges_removed"]) == 2
    assert len(answer["services_added"]) == 2 and "services_changed" not in answer
    assert answer["services_added"][0] == {"service_id": "s0", "team": "t"}
    assert answer["more"][0].startswith("5 more changes not listed")
    assert answer["more"][1] == (
        "The whole difference: GET /api/v1/graph/diff?from=3&to=9&format=markdown"
    )
    changed = summaries.diff_answer(found, max_items=50, since="3", until="9")
    assert changed["services_changed"][0]["changed"] == {"metadata": "changed", "team": ["x", "y"]}
    assert "more" not in changed


def test_an_empty_difference_says_nothing_changed() -> None:
    answer = summaries.diff_answer(diff(), max_items=5, since="24h", until=None)
    assert answer["summary"]["note"] == "Nothing changed between these revisions."
    assert set(answer) == {"summary"}


def change(revision: int, kind: str, **more: Any) -> Any:
    return {
        "id": revision,
        "revision": revision,
        "changed_at": "2026-12-01T09:00:00Z",
        "type": kind,
        "service_id": "cart",
        "target_id": None,
        "discovery_source": None,
        "actor": "ci",
        "state": None,
        "previous": None,
        **more,
    }


def test_a_service_feed_lists_its_latest_changes() -> None:
    feed = [
        change(1, "service.created"),
        change(2, "edge.changed", target_id="redis", previous={"error_rate": 0.1}),
        change(3, "cycle.opened", state={"cycle_path": ["cart", "redis", "cart"]}),
        change(4, "service.updated", previous={"team": "a", "criticality": None}),
    ]
    page = {"items": feed, "next_cursor": None}
    answer = summaries.changes_answer(
        page, service="cart", max_items=2, since="0", until=None, query={"service": "cart"}
    )
    summary = answer["summary"]
    assert summary["changes"] == 4 and summary["listed"] == 2
    assert summary["revisions"] == {"first": 1, "last": 4}
    assert summary["actors"] == [{"actor": "ci", "changes": 4}]
    assert [c["revision"] for c in answer["changes"]] == [3, 4]
    assert answer["changes"][0]["cycle_path"] == ["cart", "redis", "cart"]
    assert answer["changes"][1]["fields"] == ["criticality", "team"]
    assert answer["more"][0].startswith("2 earlier changes not listed")
    assert answer["more"][-1] == "The whole feed: GET /api/v1/changes?service=cart"
    # A revision `until` is applied to the feed here (the feed bounds by time only).
    cut = summaries.changes_answer(
        {"items": feed, "next_cursor": "more"},
        service="cart",
        max_items=5,
        since="0",
        until="2",
        until_revision=2,
    )
    assert [c["revision"] for c in cut["changes"]] == [1, 2]
    assert cut["changes"][1]["fields"] == ["error_rate"]
    assert cut["summary"]["complete"] is True


def test_a_refusal_carries_the_problem_details() -> None:
    problem = {
        "type": "https://slo-engine.dev/problems/bad-parameter",
        "title": "Bad request",
        "status": 400,
        "detail": "A query or path parameter is invalid.",
        "instance": "/api/v1/changes",
        "correlation_id": "c1",
        "errors": [{"pointer": "/query/since", "detail": "Input should be a valid datetime"}],
    }
    refusal = refusal_of(httpx.Response(400, json=problem))
    first, details = refusal.message.split("\n")
    assert first == (
        "slo-engine refused the request (400 Bad request): A query or path parameter is "
        "invalid. [/query/since: Input should be a valid datetime]"
    )
    assert details.startswith('Problem details: {"type":"https://slo-engine.dev/problems/')
    limited = refusal_of(
        httpx.Response(429, json={**problem, "status": 429}, headers={"Retry-After": "7"})
    )
    assert "Retry after 7 s." in limited.message
    # Not a problem document (a proxy's page): quoted as it is.
    page = refusal_of(httpx.Response(502, text="<html>bad gateway</html>"))
    assert page.message == "slo-engine answered 502: <html>bad gateway</html>"
