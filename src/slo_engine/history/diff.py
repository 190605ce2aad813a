"""The difference between the graph at two revisions, from the recorded states of the
things that changed between them (history/service.py reads them; no graph is rebuilt).

For each service and edge report that changed in (from, to], the change log gives its
state at `from` (if it existed then) and at `to` (if it exists then): present only at
`to` it was added, only at `from` removed, at both with a field that differs changed.
A thing with equal states at both (changed and changed back, or created and deleted in
between) is omitted.

Compared are the fields whose change the log records (graph/change_log.py): not the
bookkeeping times that move on every write without being a change of their own (a
report's `last_observed_at`, a service's `created_at` and `updated_at`), so an edge
changed and changed back is unchanged here as it is in the log.

Pure: no I/O. Every list is cut at `MAX_LIST_ENTRIES` (the counts stay whole).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from slo_engine.graph.change_log import BOOKKEEPING_FIELDS

# At most this many entries in each list of an answer (added, removed, changed, opened,
# resolved): an answer of a year of a large graph stays a bounded size.
MAX_LIST_ENTRIES = 10_000

State = Mapping[str, Any]
EdgeKey = tuple[str, str, str]  # caller, callee, discovery source
# The key of a thing: a service's id or an edge report's (caller, callee, source).
K = TypeVar("K", str, EdgeKey)


@dataclass(frozen=True, slots=True)
class FieldChange:
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class KeyedDiff(Generic[K]):
    """What changed among things of one kind, each list in key order and cut at the
    limit; the counts are of the whole lists."""

    added: list[tuple[K, State]]
    removed: list[tuple[K, State]]
    changed: list[tuple[K, dict[str, FieldChange]]]
    added_count: int
    removed_count: int
    changed_count: int

    @property
    def truncated(self) -> bool:
        return (len(self.added), len(self.removed), len(self.changed)) != (
            self.added_count,
            self.removed_count,
            self.changed_count,
        )


@dataclass(frozen=True, slots=True)
class Bound:
    """One end of a diff: a revision and when it was committed (None when the time of
    that revision is not kept, e.g. the revision before the first write)."""

    revision: int
    committed_at: datetime | None


@dataclass(frozen=True, slots=True)
class CycleEvent:
    """A cycle opened or resolved by the write of `revision`."""

    revision: int
    changed_at: datetime
    cycle_path: list[str]
    reason: str | None


@dataclass(frozen=True, slots=True)
class CycleEvents:
    """Cycle events in revision order, cut at the limit; the counts are whole."""

    opened: list[CycleEvent]
    resolved: list[CycleEvent]
    opened_count: int
    resolved_count: int

    @property
    def truncated(self) -> bool:
        return (len(self.opened), len(self.resolved)) != (self.opened_count, self.resolved_count)


@dataclass(frozen=True, slots=True)
class GraphDiff:
    start: Bound
    end: Bound
    services: KeyedDiff[str]
    edges: KeyedDiff[EdgeKey]
    cycles: CycleEvents

    @property
    def truncated(self) -> bool:
        """Some list was cut at MAX_LIST_ENTRIES."""
        return self.services.truncated or self.edges.truncated or self.cycles.truncated


def field_changes(old: State, new: State) -> dict[str, FieldChange]:
    """The recorded fields whose values differ between two states of one thing; a field
    absent from one state counts as null there. O(fields).

    >>> field_changes({"team": "a", "updated_at": "x"}, {"team": "b", "updated_at": "y"})
    {'team': FieldChange(old='a', new='b')}
    >>> field_changes({"protocol": None}, {})
    {}
    """
    changes: dict[str, FieldChange] = {}
    for name in sorted(old.keys() | new.keys()):
        if name in BOOKKEEPING_FIELDS:
            continue
        before, after = old.get(name), new.get(name)
        if before != after:
            changes[name] = FieldChange(before, after)
    return changes


def compare(
    before: Mapping[K, State], after: Mapping[K, State], limit: int = MAX_LIST_ENTRIES
) -> KeyedDiff[K]:
    """Things of one kind at two revisions, as given for the keys that changed between
    them: `before` their states at the first revision (keys absent did not exist then),
    `after` at the second. O(n log n + n * fields) for n keys (the sort gives each list
    its stable key order).

    >>> d = compare({"a": {"team": "x"}, "b": {}}, {"a": {"team": "y"}, "c": {}})
    >>> [k for k, _ in d.added], [k for k, _ in d.removed], [k for k, _ in d.changed]
    (['c'], ['b'], ['a'])
    """
    added: list[tuple[K, State]] = []
    removed: list[tuple[K, State]] = []
    changed: list[tuple[K, dict[str, FieldChange]]] = []
    added_count = removed_count = changed_count = 0
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old is None and new is not None:
            added_count += 1
            if len(added) < limit:
                added.append((key, new))
        elif new is None and old is not None:
            removed_count += 1
            if len(removed) < limit:
                removed.append((key, old))
        elif old is not None and new is not None:
            changes = field_changes(old, new)
            if changes:
                changed_count += 1
                if len(changed) < limit:
                    changed.append((key, changes))
    return KeyedDiff(added, removed, changed, added_count, removed_count, changed_count)


def cycle_event(revision: int, changed_at: datetime, state: State | None) -> CycleEvent:
    """A cycle entry's event (its state holds the path, and why it resolved if known)."""
    state = state or {}
    reason = state.get("reason")
    return CycleEvent(
        revision,
        changed_at,
        list(state.get("cycle_path") or []),
        None if reason is None else str(reason),
    )


# --- the readable summary (format=markdown) ---------------------------------------------


def _code(text: str) -> str:
    """Text as inline Markdown code, in a fence longer than any run of backticks inside
    it (so no value can end the span or start other Markdown). O(len(text))."""
    text = text.replace("\r", " ").replace("\n", " ")
    longest = run = 0
    for character in text:
        run = run + 1 if character == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def _value(value: Any) -> str:
    """A recorded value as inline code, in JSON (a string quoted, null as null)."""
    return _code(json.dumps(value, ensure_ascii=False))


def _edge(key: EdgeKey) -> str:
    source, target, discovery_source = key
    return f"{_code(source)} → {_code(target)} ({discovery_source})"


def _changes(changes: dict[str, FieldChange]) -> str:
    return "; ".join(
        f"{name} {_value(change.old)} → {_value(change.new)}" for name, change in changes.items()
    )


def _bound(bound: Bound) -> str:
    when = "" if bound.committed_at is None else f" ({bound.committed_at.isoformat()})"
    return f"revision {bound.revision}{when}"


def _section(lines: list[str], title: str, entries: Sequence[str], count: int) -> None:
    if not count:
        return
    lines += ["", f"## {title} ({count})", ""]
    lines += [f"- {entry}" for entry in entries]
    if len(entries) < count:
        lines.append(f"- … and {count - len(entries)} more (the list is cut at {len(entries)})")


def _keyed_sections(
    lines: list[str], things: str, diff: KeyedDiff[K], name: Callable[[K], str]
) -> None:
    """The added, removed and changed sections of one kind of thing."""
    _section(lines, f"{things} added", [name(k) for k, _ in diff.added], diff.added_count)
    _section(lines, f"{things} removed", [name(k) for k, _ in diff.removed], diff.removed_count)
    changed = [f"{name(k)}: {_changes(c)}" for k, c in diff.changed]
    _section(lines, f"{things} changed", changed, diff.changed_count)


def render_markdown(diff: GraphDiff) -> str:
    """A short readable summary: the revisions, the counts, then each list. O(answer)."""
    services, edges, cycles = diff.services, diff.edges, diff.cycles
    lines = [
        f"# Graph changes from revision {diff.start.revision} to {diff.end.revision}",
        "",
        f"From {_bound(diff.start)} to {_bound(diff.end)}.",
        "",
        "| | added | removed | changed |",
        "|---|---:|---:|---:|",
        f"| services | {services.added_count} | {services.removed_count} "
        f"| {services.changed_count} |",
        f"| edge reports | {edges.added_count} | {edges.removed_count} | {edges.changed_count} |",
        "",
        f"Cycles: {cycles.opened_count} opened, {cycles.resolved_count} resolved.",
    ]
    if diff.truncated:
        lines += ["", f"Lists are cut at {MAX_LIST_ENTRIES:,} entries each; the counts are whole."]
    _keyed_sections(lines, "Services", services, _code)
    _keyed_sections(lines, "Edge reports", edges, _edge)
    for title, events, count in (
        ("Cycles opened", cycles.opened, cycles.opened_count),
        ("Cycles resolved", cycles.resolved, cycles.resolved_count),
    ):
        _section(
            lines,
            title,
            [
                f"revision {e.revision}: {' → '.join(_code(s) for s in e.cycle_path)}"
                # The reason names an API key (free text): kept on its line.
                + ("" if e.reason is None else f" ({' '.join(e.reason.split())})")
                for e in events
            ],
            count,
        )
    return "\n".join(lines) + "\n"
