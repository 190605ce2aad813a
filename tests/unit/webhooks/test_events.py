"""The messages a revision gives a subscription: which, in what order, filtered and
bounded; and the retry schedule."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from slo_engine.graph.change_log import ChangeType, EntryOutline
from slo_engine.webhooks.events import (
    MAX_ITEMS_PER_MESSAGE,
    EventType,
    Subscription,
    messages_of_revision,
)
from slo_engine.webhooks.retry import RetryPolicy

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def entry(
    change: ChangeType, source: str, target: str | None = None, cycle: list[str] | None = None
) -> EntryOutline:
    return EntryOutline(
        revision=7,
        changed_at=AT,
        actor="ci",
        type=change,
        service_id=source,
        target_id=target,
        discovery_source="manual" if target else None,
        cycle=None if cycle is None else {"cycle_path": cycle},
    )


def bodies(subscription: Subscription, entries: list[EntryOutline]) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(m.body) for m in messages_of_revision(subscription, entries)]


EVERYTHING = Subscription(frozenset(EventType))


def test_one_message_per_subscribed_type_in_event_order_then_the_summary() -> None:
    entries = [
        entry(ChangeType.EDGE_RETRACTED, "a", "b"),
        entry(ChangeType.EDGE_REPORTED, "c", "d"),
        entry(ChangeType.SERVICE_CREATED, "d"),
        entry(ChangeType.EDGE_CHANGED, "c", "e"),  # no event of its own: only counted
        entry(ChangeType.CYCLE_OPENED, "x", cycle=["x", "y", "x"]),
    ]
    sent = bodies(EVERYTHING, entries)
    assert [b["type"] for b in sent] == [
        "service.added",
        "edge.added",
        "edge.removed",
        "cycle.opened",
        "graph.changed",
    ]
    assert all(b["timestamp"] == AT.isoformat() and b["data"]["revision"] == 7 for b in sent)
    assert sent[3]["data"]["items"] == [{"cycle_path": ["x", "y", "x"]}]
    assert sent[-1]["data"]["counts"] == {
        "cycle.opened": 1,
        "edge.changed": 1,
        "edge.reported": 1,
        "edge.retracted": 1,
        "service.created": 1,
    }


def test_only_the_subscribed_types_are_sent() -> None:
    only_removed = Subscription(frozenset({EventType.EDGE_REMOVED}))
    entries = [entry(ChangeType.EDGE_REPORTED, "a", "b")]
    assert messages_of_revision(only_removed, entries) == []
    entries.append(entry(ChangeType.EDGE_RETRACTED, "a", "c"))
    assert [b["type"] for b in bodies(only_removed, entries)] == ["edge.removed"]


def test_the_service_filter_keeps_entries_of_edges_services_and_cycles_touching_it() -> None:
    payments = Subscription(frozenset(EventType), frozenset({"payments"}))
    entries = [
        entry(ChangeType.EDGE_REPORTED, "web", "api"),
        entry(ChangeType.EDGE_REPORTED, "checkout", "payments"),
        entry(ChangeType.SERVICE_CREATED, "payments"),
        entry(ChangeType.CYCLE_OPENED, "a", cycle=["a", "payments", "a"]),
        entry(ChangeType.CYCLE_OPENED, "b", cycle=["b", "c", "b"]),
    ]
    sent = {b["type"]: b["data"] for b in bodies(payments, entries)}
    assert sent["edge.added"]["items"] == [
        {"source": "checkout", "target": "payments", "discovery_source": "manual"}
    ]
    assert sent["cycle.opened"]["count"] == 1
    assert sum(sent["graph.changed"]["counts"].values()) == 3
    assert messages_of_revision(payments, entries[:1]) == []


def test_a_long_list_is_cut_with_its_count_whole() -> None:
    entries = [entry(ChangeType.EDGE_REPORTED, f"s{n}", "t") for n in range(2_500)]
    (added,) = bodies(Subscription(frozenset({EventType.EDGE_ADDED})), entries)
    assert added["data"]["count"] == 2_500 and added["data"]["truncated"] is True
    assert len(added["data"]["items"]) == MAX_ITEMS_PER_MESSAGE


@given(
    failures=st.integers(min_value=1, max_value=200),
    elapsed=st.integers(min_value=0, max_value=2 * 86_400),
    seed=st.integers(),
)
def test_a_retry_waits_between_half_and_all_of_its_step_within_the_window(
    failures: int, elapsed: int, seed: int
) -> None:
    policy = RetryPolicy(timedelta(seconds=10), timedelta(hours=1), timedelta(days=1))
    now = AT + timedelta(seconds=elapsed)
    retry_at = policy.next_attempt(failures, AT, now, random.Random(seed))
    if elapsed >= 86_400:
        assert retry_at is None
        return
    assert retry_at is not None
    step = min(timedelta(seconds=10) * 2 ** min(failures - 1, 40), timedelta(hours=1))
    assert step / 2 <= retry_at - now <= step
