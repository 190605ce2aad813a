"""What a subscriber is sent: the change log's entries of one revision, as webhook
messages.

A revision (one committed write) becomes, per subscription, at most one message per
subscribed event type: `edge.added` lists every edge report the write added that the
subscription's filter matches, and so on, up to `MAX_ITEMS_PER_MESSAGE` items (the
count stays whole, `truncated` says so, and the change feed has the rest); and one
`graph.changed` summary with the counts by change type. Messages of one subscription
are delivered in revision order, and within a revision in the order of `EventType`.

The body follows the Standard Webhooks shape (`type`, `timestamp`, `data`). Building
it is pure: no I/O, O(entries of the revision) per subscription.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from slo_engine.graph.change_log import ChangeType, EntryOutline

# The change feed holds everything a message leaves out.
MAX_ITEMS_PER_MESSAGE = 1_000


class EventType(enum.StrEnum):
    """What a subscription can ask to be told, in the order a revision's messages go out."""

    SERVICE_ADDED = "service.added"
    EDGE_ADDED = "edge.added"
    EDGE_FRESH = "edge.fresh"
    EDGE_STALE = "edge.stale"
    EDGE_REMOVED = "edge.removed"
    SERVICE_REMOVED = "service.removed"
    CYCLE_OPENED = "cycle.opened"
    CYCLE_RESOLVED = "cycle.resolved"
    GRAPH_CHANGED = "graph.changed"  # one summary per revision: counts by change type


# The change-log entry each event type lists (`graph.changed` counts them all).
_EVENT_OF_CHANGE: dict[ChangeType, EventType] = {
    ChangeType.SERVICE_CREATED: EventType.SERVICE_ADDED,
    ChangeType.EDGE_REPORTED: EventType.EDGE_ADDED,
    ChangeType.EDGE_FRESH: EventType.EDGE_FRESH,
    ChangeType.EDGE_STALE: EventType.EDGE_STALE,
    ChangeType.EDGE_RETRACTED: EventType.EDGE_REMOVED,
    ChangeType.SERVICE_DELETED: EventType.SERVICE_REMOVED,
    ChangeType.CYCLE_OPENED: EventType.CYCLE_OPENED,
    ChangeType.CYCLE_RESOLVED: EventType.CYCLE_RESOLVED,
}
_ORDER = {event: position for position, event in enumerate(EventType)}


@dataclass(frozen=True, slots=True)
class Subscription:
    """What a subscriber asked for."""

    event_types: frozenset[EventType]
    services: frozenset[str] | None = None  # None: every service

    def matches(self, entry: EntryOutline) -> bool:
        """An entry of one of the services, an edge from or to one, a cycle through one."""
        if self.services is None:
            return True
        if entry.service_id in self.services or entry.target_id in self.services:
            return True
        path = (entry.cycle or {}).get("cycle_path") or ()
        return any(member in self.services for member in path)


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one subscriber; `body` is the exact bytes signed and sent."""

    event_type: EventType
    position: int  # the order within the revision
    body: bytes = field(repr=False)


def _item(entry: EntryOutline) -> dict[str, Any]:
    if entry.cycle is not None:
        return dict(entry.cycle)
    if entry.target_id is None:
        return {"service_id": entry.service_id}
    return {
        "source": entry.service_id,
        "target": entry.target_id,
        "discovery_source": entry.discovery_source,
    }


def _body(event: EventType, committed_at: datetime, data: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": event.value, "timestamp": committed_at.isoformat(), "data": data})


class RevisionMessages:
    """The messages one revision gives one subscription, built entry by entry in
    bounded memory: counts, and at most `MAX_ITEMS_PER_MESSAGE` items per event type,
    whatever the size of the write. O(1) per entry."""

    def __init__(self, subscription: Subscription, first: EntryOutline) -> None:
        self._subscription = subscription
        self.revision = first.revision
        self._committed_at = first.changed_at
        self._header = {"revision": first.revision, "actor": first.actor}
        self._items: dict[EventType, list[dict[str, Any]]] = {}
        self._listed: Counter[EventType] = Counter()
        self._changes: Counter[str] = Counter()

    def add(self, entry: EntryOutline) -> None:
        if not self._subscription.matches(entry):
            return
        self._changes[entry.type.value] += 1
        event = _EVENT_OF_CHANGE.get(entry.type)
        if event is None or event not in self._subscription.event_types:
            return
        self._listed[event] += 1
        items = self._items.setdefault(event, [])
        if len(items) < MAX_ITEMS_PER_MESSAGE:
            items.append(_item(entry))

    def messages(self) -> list[Message]:
        """In delivery order; none when no entry matched the subscription's filter."""
        if not self._changes:
            return []
        bodies: dict[EventType, dict[str, Any]] = {
            event: {
                **self._header,
                "count": self._listed[event],
                "truncated": self._listed[event] > len(items),
                "items": items,
            }
            for event, items in self._items.items()
        }
        if EventType.GRAPH_CHANGED in self._subscription.event_types:
            bodies[EventType.GRAPH_CHANGED] = {
                **self._header,
                "counts": dict(sorted(self._changes.items())),
            }
        return [
            Message(event, _ORDER[event], _body(event, self._committed_at, bodies[event]))
            for event in EventType
            if event in bodies
        ]


def messages_of_revision(
    subscription: Subscription, entries: Sequence[EntryOutline]
) -> list[Message]:
    """The messages the entries of one revision give one subscription."""
    if not entries:
        return []
    building = RevisionMessages(subscription, entries[0])
    for entry in entries:
        building.add(entry)
    return building.messages()
