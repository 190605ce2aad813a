"""Bounded answers: the HTTP API's JSON answers cut to fit a model's context.

Every tool answers in one shape: `summary` first (counts, and the few items that matter
most), then the details, each list capped by a parameter the agent sets, then `more`
when anything was left out: how many, and which call gets them. A model reads the
summary before it decides whether it needs the rest, and an answer never grows with
the graph.

To count what it does not list, a tool asks the API for more than it shows (up to the
API's own caps, `FETCH_*`): an exact "N more" costs one bounded answer, read in memory.
Where the API's cap is reached, the answer says the counts are a lower bound
(`complete: false`).

Pure: JSON in, JSON out (no I/O, no framework), so both transports share it and the
unit tests pin it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

Json = dict[str, Any]

# The bounds of the tools' parameters (tools.py puts them in each input schema).
MAX_DEPTH = 10
DEFAULT_DEPTH = 3
DEFAULT_MAX_NODES = 30
MAX_NODES_CAP = 200
DEFAULT_MAX_AFFECTED = 25
MAX_AFFECTED_CAP = 200
DEFAULT_AVAILABILITY_ITEMS = 10
AVAILABILITY_ITEMS_CAP = 50
DEFAULT_LIST_LIMIT = 20
LIST_LIMIT_CAP = 100
DEFAULT_CHANGE_ITEMS = 30
CHANGE_ITEMS_CAP = 200

# What a tool fetches to count what it does not list: the API's own caps (the
# subgraph's and the availability's default list size; a listing's largest page).
FETCH_NODES = 10_000
FETCH_PAGE = 1_000
# Entries of a ranking shown in a summary (teams, actors, costliest dependencies).
TOP = 5
# Edges listed per listed service, at most (edges between listed services only).
EDGES_PER_NODE = 2
# Longer arithmetic is left out of the availability answer (the API's answer has it).
ARITHMETIC_MAX_CHARS = 600
# Longer cycle paths are cut (a cycle through hundreds of services is one alert).
CYCLE_PATH_MAX = 20
# Longer text values in a field change are reported as changed, without the values.
SCALAR_MAX_CHARS = 80


def _brief(record: Mapping[str, Any], fields: Sequence[str]) -> Json:
    """`record`'s `fields` that say something. None and False are left out: each costs
    tokens on every item, and a missing `discovered` reads as false.

    >>> _brief({"service_id": "a", "team": None, "discovered": False, "depth": 1},
    ...        ("service_id", "team", "discovered", "depth"))
    {'service_id': 'a', 'depth': 1}
    """
    kept: Json = {}
    for field in fields:
        value = record.get(field)
        if value is not None and value is not False:
            kept[field] = value
    return kept


def _service(record: Mapping[str, Any]) -> Json:
    return _brief(record, ("service_id", "display_name", "team", "criticality", "discovered"))


def _reference(path: str, params: Mapping[str, Any]) -> str:
    """The HTTP request that answers in full, for a person or a script to follow.

    >>> _reference("/services/a b/impact", {"depth": 3, "as_of": None, "include_stale": True})
    'GET /api/v1/services/a%20b/impact?depth=3&include_stale=true'
    """
    given = {
        name: str(value).lower() if isinstance(value, bool) else value
        for name, value in params.items()
        if value is not None
    }
    query = f"?{urlencode(given)}" if given else ""
    return f"GET /api/v1{quote(path)}{query}"


def _read_at(revision: str | None, as_of: str | None) -> Json:
    """Which graph answered: its revision (X-Graph-Revision), and the time asked for."""
    read: Json = {}
    if revision is not None and revision.isdigit():
        read["revision"] = int(revision)
    if as_of is not None:
        read["as_of"] = as_of
    return read


def _top(values: Iterable[str | None], name: str, count_name: str) -> list[Json]:
    """The TOP most frequent named values, most frequent first (ties by name).

    >>> _top(["a", "b", None, "b"], "team", "services")
    [{'team': 'b', 'services': 2}, {'team': 'a', 'services': 1}]
    """
    counts = Counter(value for value in values if value is not None)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    return [{name: value, count_name: count} for value, count in ranked]


def _cut_path(path: Sequence[str]) -> list[str]:
    """A cycle path of at most CYCLE_PATH_MAX services, the rest counted.

    >>> _cut_path(["a", "b", "a"])
    ['a', 'b', 'a']
    >>> _cut_path([str(n) for n in range(25)])[-2:]
    ['19', '... 5 more']
    """
    if len(path) <= CYCLE_PATH_MAX:
        return list(path)
    return [*path[:CYCLE_PATH_MAX], f"... {len(path) - CYCLE_PATH_MAX} more"]


def _percent(ceiling: float) -> str:
    """
    >>> _percent(0.99302097), _percent(1.0), _percent(0.5)
    ('99.3021%', '100%', '50%')
    """
    return f"{ceiling * 100:.4f}".rstrip("0").rstrip(".") + "%"


def _cost(cost: float) -> float:
    """What a dependency costs the ceiling, to 4 significant digits: a difference of
    two figures near 1, whose further digits are noise to a reader.

    >>> _cost(0.0009940149800149456)
    0.000994
    """
    return float(f"{cost:.4g}")


def _raise_to(count: int, cap: int, parameter: str) -> str:
    """The parameter value that lists everything, or the cap and a hint to narrow."""
    if count <= cap:
        return f"{parameter}={count}"
    return f"{parameter}={cap} (its largest value), and narrow the question"


# --------------------------------------------------------------- get_dependencies


def dependencies_answer(
    answer: Json,
    *,
    direction: str,
    depth: int,
    max_nodes: int,
    include_stale: bool,
    revision: str | None = None,
    as_of: str | None = None,
) -> Json:
    """The subgraph answer (GET /services/{id}/dependencies, fetched with up to
    FETCH_NODES services) cut to its `max_nodes` closest services, in the API's order
    (by depth, then id), and the edges between them, nearest first."""
    root = answer["service"]
    root_id = root["service_id"]
    nodes: list[Json] = answer["nodes"]
    edges: list[Json] = answer["edges"]
    complete = not answer["statistics"]["truncated"]
    listed = nodes[:max_nodes]
    depth_of = {root_id: 0, **{node["service_id"]: node["depth"] for node in nodes}}
    kept = {root_id, *(node["service_id"] for node in listed)}
    between = sorted(
        (edge for edge in edges if edge["source"] in kept and edge["target"] in kept),
        key=lambda edge: (
            max(depth_of[edge["source"]], depth_of[edge["target"]]),
            edge["source"],
            edge["target"],
        ),
    )
    listed_edges = between[: EDGES_PER_NODE * max_nodes]
    by_depth = Counter(node["depth"] for node in nodes)
    summary: Json = {
        "service": _service(root),
        "direction": direction,
        "depth": depth,
        "services": len(nodes),
        "edges": len(edges),
        "complete": complete,
        "services_by_depth": {str(level): by_depth[level] for level in sorted(by_depth)},
        "teams": _top((node.get("team") for node in nodes), "team", "services"),
        "discovered_only": sum(1 for node in nodes if node.get("discovered")),
    }
    if include_stale:
        summary["stale_edges"] = sum(1 for edge in edges if edge.get("is_stale"))
    summary["listed_services"] = len(listed)
    summary["listed_edges"] = len(listed_edges)
    summary.update(_read_at(revision, as_of))

    more: list[str] = []
    unlisted = nodes[max_nodes:]
    if unlisted:
        depths = sorted({node["depth"] for node in unlisted})
        span = f"depth {depths[0]}" if len(depths) == 1 else f"depths {depths[0]}-{depths[-1]}"
        more.append(
            f"{len(unlisted)} more services ({span}) not listed: call get_dependencies with "
            f"{_raise_to(len(nodes), MAX_NODES_CAP, 'max_nodes')} (or a smaller depth)."
        )
    hidden_edges = len(edges) - len(listed_edges)
    if hidden_edges:
        more.append(
            f"{hidden_edges} more edges not listed: only edges between listed services are, "
            f"at most {EDGES_PER_NODE} x max_nodes."
        )
    if not complete:
        more.append(
            f"More than {len(nodes):,} services are in reach (the counts stop at the API's "
            f"{FETCH_NODES:,}): ask with a smaller depth."
        )
    result: Json = {
        "summary": summary,
        "services": [
            _brief(
                node, ("service_id", "depth", "display_name", "team", "criticality", "discovered")
            )
            for node in listed
        ],
        "edges": [_edge(edge) for edge in listed_edges],
    }
    if more:
        params = {"direction": direction, "depth": depth, "include_stale": include_stale or None}
        more.append(
            "The whole answer: "
            + _reference(f"/services/{root_id}/dependencies", {**params, "as_of": as_of})
        )
        result["more"] = more
    return result


def _edge(edge: Mapping[str, Any]) -> Json:
    attributes = edge.get("attributes") or {}
    brief: Json = {"source": edge["source"], "target": edge["target"]}
    brief.update(_brief(attributes, ("criticality", "communication_mode")))
    brief["sources"] = edge.get("discovery_sources", [])
    if edge.get("is_stale"):
        brief["stale"] = True
    return brief


# ---------------------------------------------------------------------- get_impact


def path_text(affected: Mapping[str, Any]) -> str:
    """One shortest path that explains the impact, each edge with its criticality and
    communication mode (undeclared counts as hard and sync).

    >>> path_text({"path": ["frontend", "checkout", "email"], "path_edges": [
    ...     {"source": "frontend", "target": "checkout", "criticality": "hard",
    ...      "communication_mode": "sync"},
    ...     {"source": "checkout", "target": "email", "criticality": "soft",
    ...      "communication_mode": None}]})
    'frontend -hard/sync-> checkout -soft/undeclared-> email'
    """
    steps: list[Json] = list(affected.get("path_edges") or [])
    if not steps:
        return " -> ".join(affected["path"])
    parts = [str(steps[0]["source"])]
    for step in steps:
        criticality = step.get("criticality") or "undeclared"
        mode = step.get("communication_mode") or "undeclared"
        parts.append(f"-{criticality}/{mode}-> {step['target']}")
    return " ".join(parts)


def impact_answer(
    answer: Json, *, max_affected: int, revision: str | None = None, as_of: str | None = None
) -> Json:
    """The blast-radius answer (GET /services/{id}/impact, asked with `max_affected`:
    its totals count everyone), the worst hit first as the API orders them: down, then
    nearest, then by id."""
    totals = answer["totals"]
    affected: list[Json] = answer["affected"][:max_affected]
    by_team: list[Json] = totals["by_team"]
    summary: Json = {
        "service": _service(answer["service"]),
        "depth": answer["depth"],
        "affected": totals["affected"],
        "down": totals["down"],
        "degraded": totals["degraded"],
        "by_team": by_team[:TOP],
        "by_criticality": totals["by_criticality"],
        "listed": len(affected),
        **_read_at(revision, as_of),
    }
    more: list[str] = []
    unlisted = totals["affected"] - len(affected)
    if unlisted > 0:
        raise_to = _raise_to(totals["affected"], MAX_AFFECTED_CAP, "max_affected")
        more.append(
            f"{unlisted} more affected services not listed (the worst hit are listed first): "
            f"call get_impact with {raise_to}."
        )
    if len(by_team) > TOP:
        more.append(f"{len(by_team) - TOP} more teams are hit than `by_team` lists.")
    result: Json = {
        "summary": summary,
        "affected": [
            {
                **_brief(item, ("service_id", "impact", "distance", "team", "criticality")),
                "path": path_text(item),
            }
            for item in affected
        ],
    }
    if more:
        service_id = answer["service"]["service_id"]
        params = {"depth": answer["depth"], "include_stale": answer.get("include_stale") or None}
        more.append(
            "The whole answer: "
            + _reference(f"/services/{service_id}/impact", {**params, "as_of": as_of})
        )
        result["more"] = more
    return result


# -------------------------------------------------------- get_availability_ceiling


def availability_answer(
    answer: Json, *, max_items: int, revision: str | None = None, as_of: str | None = None
) -> Json:
    """The availability-ceiling answer (GET /services/{id}/availability, fetched whole
    up to FETCH_NODES terms): the figure and the costliest dependencies first, then the
    ranked limiting units and the terms, `max_items` each."""
    limiting: list[Json] = answer["limiting"]
    terms: list[Json] = answer["terms"]
    notes: list[str] = answer["notes"]
    alternative = answer["if_soft_were_hard"]
    summary: Json = {
        "service": _service(answer["service"]),
        "ceiling": answer["ceiling"],
        "percent": _percent(answer["ceiling"]),
        "nines": answer["nines"],
        "dependencies_counted": answer["dependencies"],
        "default_slo_target": answer["default_slo_target"],
        "costliest": [
            {"members": unit["members"], "cost": _cost(unit["cost"])} for unit in limiting[:3]
        ],
        "if_soft_were_hard": {
            "ceiling": alternative["ceiling"],
            "percent": _percent(alternative["ceiling"]),
            "dependencies_counted": alternative["dependencies"],
        },
        "notes": notes[:max_items],
        **_read_at(revision, as_of),
    }
    result: Json = {
        "summary": summary,
        "limiting": [
            {
                **_brief(unit, ("members", "factor", "ceiling_without")),
                "cost": _cost(unit["cost"]),
            }
            for unit in limiting[:max_items]
        ],
        "terms": [
            _brief(
                term, ("service_id", "factor", "factor_source", "slo_target", "observed_success")
            )
            for term in terms[:max_items]
        ],
    }
    more: list[str] = []
    arithmetic: str = answer["arithmetic"]
    if len(arithmetic) <= ARITHMETIC_MAX_CHARS:
        result["arithmetic"] = arithmetic
    else:
        more.append(f"The arithmetic ({len(arithmetic):,} characters) is left out.")
    for name, items in (("limiting units", limiting), ("terms", terms), ("notes", notes)):
        if len(items) > max_items:
            more.append(
                f"{len(items) - max_items} more {name} not listed: call "
                f"get_availability_ceiling with "
                f"{_raise_to(len(items), AVAILABILITY_ITEMS_CAP, 'max_items')}."
            )
    if answer.get("truncated"):
        more.append(f"The API lists at most {FETCH_NODES:,} of each; the figures count all.")
    if more:
        service_id = answer["service"]["service_id"]
        params = {"include_stale": answer.get("include_stale") or None, "as_of": as_of}
        more.append(
            "The whole answer: " + _reference(f"/services/{service_id}/availability", params)
        )
        result["more"] = more
    return result


# --------------------------------------------------------------------- list_cycles


def cycles_answer(page: Json, *, status: str, limit: int) -> Json:
    """Circular-dependency alerts (GET /circular-dependencies, one page of up to
    FETCH_PAGE), newest first as the API lists them, `limit` of them."""
    alerts: list[Json] = page["items"]
    complete = page.get("next_cursor") is None
    listed = alerts[:limit]
    members: set[str] = set()
    for alert in alerts:
        members.update(alert["members"])
    summary: Json = {
        "status": status,
        "alerts": len(alerts),
        "complete": complete,
        "services_in_cycles": len(members),
        "largest_cycle": max((len(alert["members"]) for alert in alerts), default=0),
        "listed": len(listed),
    }
    more: list[str] = []
    if len(alerts) > limit:
        more.append(
            f"{len(alerts) - limit} more alerts not listed (the newest are listed): call "
            f"list_cycles with {_raise_to(len(alerts), LIST_LIMIT_CAP, 'limit')}."
        )
    if not complete:
        more.append(
            f"More than {len(alerts):,} alerts: the counts stop at the API's page of "
            f"{FETCH_PAGE:,}; the API pages through all (pass next_cursor back as cursor)."
        )
    result: Json = {
        "summary": summary,
        "alerts": [
            {
                "alert_id": alert["alert_id"],
                "status": alert["status"],
                "cycle_path": _cut_path(alert["cycle_path"]),
                "size": len(alert["members"]),
                **_brief(
                    alert, ("first_detected_at", "last_detected_at", "acknowledged_by", "note")
                ),
            }
            for alert in listed
        ],
    }
    if more:
        wanted = None if status == "any" else status
        more.append("The whole list: " + _reference("/circular-dependencies", {"status": wanted}))
        result["more"] = more
    return result


# ----------------------------------------------------------------- search_services


def search_rank(query: str, service: Mapping[str, Any]) -> tuple[int, str]:
    """How closely `service` matches `query` (lower is closer): its id or display name
    equal to it, then starting with it, then containing it (what the API matched on,
    case-insensitive); ties by service id.

    >>> services = [{"service_id": "cartservice"}, {"service_id": "cart"},
    ...             {"service_id": "redis-cart", "display_name": "Cart cache"}]
    >>> [s["service_id"] for s in sorted(services, key=lambda s: search_rank("cart", s))]
    ['cart', 'cartservice', 'redis-cart']
    """
    wanted = query.casefold()
    service_id: str = service["service_id"]
    names = (service_id.casefold(), (service.get("display_name") or "").casefold())
    if wanted in names:
        return 0, service_id
    if any(name.startswith(wanted) for name in names):
        return 1, service_id
    return 2, service_id


def search_answer(page: Json, *, query: str, team: str | None, limit: int) -> Json:
    """Services whose id or display name contains `query` (GET /services?search=, one
    page of up to FETCH_PAGE), the closest matches first, `limit` of them."""
    found: list[Json] = sorted(page["items"], key=lambda service: search_rank(query, service))
    complete = page.get("next_cursor") is None
    listed = found[:limit]
    summary: Json = {"query": query}
    if team is not None:
        summary["team"] = team
    summary.update({"matches": len(found), "complete": complete, "listed": len(listed)})
    more: list[str] = []
    if len(found) > limit:
        more.append(
            f"{len(found) - limit} more matches not listed (the closest are listed: equal, "
            f"then starting with the query): call search_services with "
            f"{_raise_to(len(found), LIST_LIMIT_CAP, 'limit')}, or a longer query."
        )
    if not complete:
        more.append(
            f"More than {len(found):,} services match (the counts stop at the API's page of "
            f"{FETCH_PAGE:,}): use a longer query."
        )
    result: Json = {
        "summary": summary,
        "services": [
            _brief(
                service,
                (
                    "service_id",
                    "display_name",
                    "team",
                    "criticality",
                    "discovered",
                    "only_stale_edges",
                ),
            )
            for service in listed
        ],
    }
    if more:
        params = {"search": query or None, "team": team}
        more.append("The whole list: " + _reference("/services", params))
        result["more"] = more
    return result


# --------------------------------------------------------------------- what_changed


@dataclass(frozen=True, slots=True)
class HistoryBound:
    """A `since` or `until` as the API takes it: a graph revision, or a time."""

    revision: int | None = None
    time: str | None = None

    @property
    def text(self) -> str:
        return str(self.revision) if self.revision is not None else str(self.time)


_RELATIVE = re.compile(r"^(\d{1,6})\s*([mhdw])$", re.IGNORECASE)
_UNIT = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_UNIT["w"] = 7 * _UNIT["d"]


def history_bound(text: str, now: datetime) -> HistoryBound:
    """`42`: a graph revision; `30m`, `24h`, `7d`, `2w`: that long before `now`;
    anything else a time, given to the API as it is (it refuses what is not RFC 3339
    with an offset, with its problem detail).

    >>> from datetime import UTC
    >>> now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    >>> history_bound("42", now), history_bound(" 24h ", now).time
    (HistoryBound(revision=42, time=None), '2026-12-01T09:00:00Z')
    >>> history_bound("2026-12-01T09:00:00+01:00", now).time
    '2026-12-01T09:00:00+01:00'
    """
    given = text.strip()
    if given.isascii() and given.isdigit():
        return HistoryBound(revision=int(given))
    relative = _RELATIVE.match(given)
    if relative is not None:
        count, unit = int(relative.group(1)), relative.group(2).lower()
        at = now - count * _UNIT[unit]
        return HistoryBound(time=at.isoformat(timespec="seconds").replace("+00:00", "Z"))
    return HistoryBound(time=given)


# The order in which a difference's lists fill the `max_items` budget: what most likely
# breaks something first.
_DIFF_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("cycles_opened", "cycles", "opened"),
    ("services_removed", "services", "removed"),
    ("edges_removed", "edges", "removed"),
    ("services_added", "services", "added"),
    ("edges_added", "edges", "added"),
    ("cycles_resolved", "cycles", "resolved"),
    ("services_changed", "services", "changed"),
    ("edges_changed", "edges", "changed"),
)


def _scalar(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= SCALAR_MAX_CHARS
    return value is None or isinstance(value, bool | int | float)


def field_changes(changes: Mapping[str, Mapping[str, Any]]) -> Json:
    """Each changed field as [old, new], or "changed" when a value is long or nested.

    >>> field_changes({"team": {"old": "a", "new": "b"}, "metadata": {"old": {}, "new": {"k": 1}}})
    {'metadata': 'changed', 'team': ['a', 'b']}
    """
    shown: Json = {}
    for name in sorted(changes):
        old, new = changes[name].get("old"), changes[name].get("new")
        shown[name] = [old, new] if _scalar(old) and _scalar(new) else "changed"
    return shown


def _diff_entry(group: str, kind: str, entry: Mapping[str, Any]) -> Json:
    if group == "cycles":
        return {
            "revision": entry["revision"],
            "cycle_path": _cut_path(entry["cycle_path"]),
            **_brief(entry, ("reason",)),
        }
    if group == "services":
        brief: Json = {"service_id": entry["service_id"]}
    else:
        brief = {
            "source": entry["source"],
            "target": entry["target"],
            "discovery_source": entry["discovery_source"],
        }
    if kind == "changed":
        brief["changed"] = field_changes(entry["changes"])
    elif group == "services":
        brief.update(_brief(entry.get("state") or {}, ("team", "criticality", "discovered")))
    return brief


def diff_answer(diff: Json, *, max_items: int, since: str, until: str | None) -> Json:
    """What changed between two revisions (GET /graph/diff): the whole counts first,
    then at most `max_items` entries, filled in the order of `_DIFF_SECTIONS`."""
    counts = {group: diff[group]["counts"] for group in ("services", "edges", "cycles")}
    total = sum(sum(group.values()) for group in counts.values())
    summary: Json = {
        "since": since,
        "until": until or "now",
        "from": diff["from"],
        "to": diff["to"],
        **counts,
        "changes": total,
    }
    result: Json = {"summary": summary}
    budget = max_items
    listed = 0
    for name, group, kind in _DIFF_SECTIONS:
        shown = diff[group][kind][:budget]
        if shown:
            result[name] = [_diff_entry(group, kind, entry) for entry in shown]
            budget -= len(shown)
            listed += len(shown)
    summary["listed"] = listed
    if total == 0:
        summary["note"] = "Nothing changed between these revisions."
    if total > listed:
        order = ", ".join(name.replace("_", " ") for name, _, _ in _DIFF_SECTIONS)
        start, end = diff["from"]["revision"], diff["to"]["revision"]
        result["more"] = [
            f"{total - listed} more changes not listed (lists fill in this order: {order}): "
            f"call what_changed with {_raise_to(total, CHANGE_ITEMS_CAP, 'max_items')}.",
            "The whole difference: "
            + _reference("/graph/diff", {"from": start, "to": end, "format": "markdown"}),
        ]
    return result


def _change_entry(change: Mapping[str, Any]) -> Json:
    entry: Json = {
        "revision": change["revision"],
        "changed_at": change["changed_at"],
        "type": change["type"],
        "service_id": change["service_id"],
        **_brief(change, ("target_id", "discovery_source", "actor")),
    }
    previous = change.get("previous")
    state = change.get("state")
    kind = str(change["type"])
    if kind.startswith("cycle.") and isinstance(state, dict) and "cycle_path" in state:
        entry["cycle_path"] = _cut_path(state["cycle_path"])
    elif kind in ("edge.changed", "service.updated") and isinstance(previous, dict):
        # `previous` holds the values that changed, as they were.
        entry["fields"] = sorted(previous)
    return entry


def changes_answer(
    page: Json,
    *,
    service: str,
    max_items: int,
    since: str,
    until: str | None,
    until_revision: int | None = None,
    query: Mapping[str, Any] | None = None,
) -> Json:
    """The change feed of one service (GET /changes?service=, one page of up to
    FETCH_PAGE in revision order), cut to the latest `max_items`. The feed bounds
    `until` by time only: a revision `until` is applied here. `query`: the feed's
    parameters as asked (for the reference to the whole feed)."""
    changes: list[Json] = page["items"]
    complete = page.get("next_cursor") is None
    if until_revision is not None:
        within = [change for change in changes if change["revision"] <= until_revision]
        if len(within) < len(changes):
            complete = True  # the page went past `until`: nothing later is wanted
        changes = within
    listed = changes[-max_items:] if changes else []
    summary: Json = {
        "service": service,
        "since": since,
        "until": until or "now",
        "changes": len(changes),
        "complete": complete,
        "by_type": dict(
            sorted(Counter(str(c["type"]) for c in changes).items(), key=lambda i: (-i[1], i[0]))
        ),
        "actors": _top((change.get("actor") for change in changes), "actor", "changes"),
    }
    if changes:
        summary["revisions"] = {"first": changes[0]["revision"], "last": changes[-1]["revision"]}
    summary["listed"] = len(listed)
    more: list[str] = []
    if len(changes) > len(listed):
        more.append(
            f"{len(changes) - len(listed)} earlier changes not listed (the latest are listed): "
            f"call what_changed with {_raise_to(len(changes), CHANGE_ITEMS_CAP, 'max_items')}, "
            "or a later since."
        )
    if not complete:
        more.append(
            f"More than {len(changes):,} changes: the tool reads the first {FETCH_PAGE:,} after "
            "since and lists the latest of those; use a later since."
        )
    result: Json = {"summary": summary, "changes": [_change_entry(c) for c in listed]}
    if more:
        more.append("The whole feed: " + _reference("/changes", query or {"service": service}))
        result["more"] = more
    return result
