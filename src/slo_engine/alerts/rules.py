"""Pure rules of circular-dependency alerts: identity of a cycle, and how the alerts on
record follow the components found in the graph."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from slo_engine.graph.model import AlertStatus

# Who resolves or reopens alerts when the graph itself changes.
SYSTEM_ACTOR = "system"

# Transitions a client may ask for; the same status again is an idempotent no-op.
ALLOWED_TRANSITIONS: dict[AlertStatus, frozenset[AlertStatus]] = {
    AlertStatus.OPEN: frozenset({AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED}),
    AlertStatus.ACKNOWLEDGED: frozenset({AlertStatus.OPEN, AlertStatus.RESOLVED}),
    AlertStatus.RESOLVED: frozenset({AlertStatus.OPEN}),
}


def canonical_key(members: Iterable[str]) -> str:
    """The identity of a component: sha256 of its sorted, unit-separated members.

    >>> canonical_key(["b", "a"]) == canonical_key(["a", "b"])
    True
    """
    return hashlib.sha256("\x1f".join(sorted(members)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What to do with the alerts on record so they match the components found."""

    create: list[str]  # keys of components with no alert yet
    reopen: list[str]  # keys whose alert was resolved but the component is back
    still_present: list[str]  # keys whose open or acknowledged alert is still true
    resolve: list[str]  # keys of open or acknowledged alerts whose component is gone


def reconcile(found: Iterable[str], on_record: Mapping[str, AlertStatus]) -> Reconciliation:
    """Compare the component keys found in the whole graph with the alerts on record.

    `on_record` must hold every open or acknowledged alert, and the resolved alerts of
    the keys in `found`. O(n) in the number of keys.

    >>> reconcile(["k1", "k2"], {"k2": AlertStatus.RESOLVED, "k3": AlertStatus.OPEN})
    Reconciliation(create=['k1'], reopen=['k2'], still_present=[], resolve=['k3'])
    """
    found_keys = list(dict.fromkeys(found))
    found_set = set(found_keys)
    create = [key for key in found_keys if key not in on_record]
    reopen = [key for key in found_keys if on_record.get(key) is AlertStatus.RESOLVED]
    still_present = [
        key
        for key in found_keys
        if on_record.get(key) in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
    ]
    resolve = [
        key
        for key, status in on_record.items()
        if key not in found_set and status is not AlertStatus.RESOLVED
    ]
    return Reconciliation(create, reopen, still_present, resolve)
