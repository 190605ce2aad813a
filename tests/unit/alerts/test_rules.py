"""Pure rules of circular-dependency alerts: cycle identity and reconciliation."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from slo_engine.alerts.rules import ALLOWED_TRANSITIONS, Reconciliation, canonical_key, reconcile
from slo_engine.graph.model import SERVICE_ID_PATTERN, AlertStatus

ALNUM = "abcxyzABC019"
SERVICE_IDS = st.builds(
    str.__add__, st.sampled_from(ALNUM), st.text(alphabet=ALNUM + "._:-", max_size=6)
)

# --------------------------------------------------------------------------- canonical_key


def test_canonical_key_is_sha256_of_sorted_unit_separated_members() -> None:
    expected = hashlib.sha256(b"a\x1fb\x1fc").hexdigest()

    assert canonical_key(["c", "a", "b"]) == expected
    assert len(expected) == 64


def test_canonical_key_does_not_depend_on_order_or_container() -> None:
    key = canonical_key(["svc-b", "svc-a", "svc-c"])

    assert canonical_key(["svc-a", "svc-b", "svc-c"]) == key
    assert canonical_key(("svc-c", "svc-b", "svc-a")) == key
    assert canonical_key(iter(["svc-b", "svc-c", "svc-a"])) == key


def test_canonical_key_tells_components_apart() -> None:
    keys = [
        canonical_key(["a", "b"]),
        canonical_key(["a", "b", "c"]),
        canonical_key(["ab"]),
        canonical_key(["a", "bc"]),
        canonical_key(["ab", "c"]),
        canonical_key(["a"]),
        canonical_key(["b"]),
    ]

    assert len(set(keys)) == len(keys)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(SERVICE_IDS, min_size=1, max_size=8, unique=True), st.randoms(use_true_random=False)
)
def test_canonical_key_is_order_independent(members: list[str], rng: Any) -> None:
    assert all(re.fullmatch(SERVICE_ID_PATTERN, m) for m in members)
    shuffled = [*members]
    rng.shuffle(shuffled)

    assert canonical_key(shuffled) == canonical_key(members)


@settings(max_examples=150, deadline=None)
@given(
    st.frozensets(SERVICE_IDS, min_size=1, max_size=6),
    st.frozensets(SERVICE_IDS, min_size=1, max_size=6),
)
def test_canonical_key_is_distinct_for_distinct_member_sets(
    first: frozenset[str], second: frozenset[str]
) -> None:
    assert (canonical_key(first) == canonical_key(second)) == (first == second)


# --------------------------------------------------------------------------- reconcile


def test_reconcile_docstring_example() -> None:
    plan = reconcile(["k1", "k2"], {"k2": AlertStatus.RESOLVED, "k3": AlertStatus.OPEN})

    assert plan == Reconciliation(create=["k1"], reopen=["k2"], still_present=[], resolve=["k3"])


def test_reconcile_creates_alerts_for_new_components() -> None:
    plan = reconcile(["k1", "k2"], {})

    assert plan == Reconciliation(create=["k1", "k2"], reopen=[], still_present=[], resolve=[])


def test_reconcile_reopens_a_resolved_alert_whose_component_is_back() -> None:
    plan = reconcile(["k1"], {"k1": AlertStatus.RESOLVED})

    assert plan == Reconciliation(create=[], reopen=["k1"], still_present=[], resolve=[])


def test_reconcile_keeps_open_and_acknowledged_alerts_still_present() -> None:
    plan = reconcile(["k1", "k2"], {"k1": AlertStatus.OPEN, "k2": AlertStatus.ACKNOWLEDGED})

    assert plan == Reconciliation(create=[], reopen=[], still_present=["k1", "k2"], resolve=[])


def test_reconcile_resolves_open_and_acknowledged_alerts_that_are_gone() -> None:
    plan = reconcile([], {"k1": AlertStatus.OPEN, "k2": AlertStatus.ACKNOWLEDGED})

    assert plan == Reconciliation(create=[], reopen=[], still_present=[], resolve=["k1", "k2"])


def test_reconcile_leaves_resolved_alerts_that_are_not_found_alone() -> None:
    plan = reconcile(["k1"], {"k1": AlertStatus.OPEN, "old": AlertStatus.RESOLVED})

    assert plan == Reconciliation(create=[], reopen=[], still_present=["k1"], resolve=[])


def test_reconcile_counts_a_key_found_twice_once() -> None:
    plan = reconcile(["k1", "k2", "k1", "k2"], {"k2": AlertStatus.RESOLVED})

    assert plan == Reconciliation(create=["k1"], reopen=["k2"], still_present=[], resolve=[])


def test_reconcile_all_cases_at_once() -> None:
    on_record = {
        "open-kept": AlertStatus.OPEN,
        "ack-kept": AlertStatus.ACKNOWLEDGED,
        "open-gone": AlertStatus.OPEN,
        "ack-gone": AlertStatus.ACKNOWLEDGED,
        "resolved-back": AlertStatus.RESOLVED,
        "resolved-gone": AlertStatus.RESOLVED,
    }

    plan = reconcile(["new", "open-kept", "resolved-back", "ack-kept"], on_record)

    assert plan.create == ["new"]
    assert plan.reopen == ["resolved-back"]
    assert plan.still_present == ["open-kept", "ack-kept"]
    assert plan.resolve == ["open-gone", "ack-gone"]


KEYS = st.sampled_from([f"k{i}" for i in range(12)])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(KEYS, max_size=15),
    st.dictionaries(KEYS, st.sampled_from(list(AlertStatus)), max_size=12),
)
def test_reconcile_partitions_found_keys_and_resolves_only_live_missing_alerts(
    found: list[str], on_record: dict[str, AlertStatus]
) -> None:
    plan = reconcile(found, on_record)

    distinct = list(dict.fromkeys(found))
    acted_on = [*plan.create, *plan.reopen, *plan.still_present]
    # Every key found lands in exactly one of create / reopen / still_present.
    assert sorted(acted_on) == sorted(distinct)
    assert set(plan.create) == {k for k in distinct if k not in on_record}
    assert set(plan.reopen) == {k for k in distinct if on_record.get(k) is AlertStatus.RESOLVED}
    assert set(plan.still_present) == {
        k for k in distinct if on_record.get(k) in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
    }
    assert set(plan.resolve) == {
        k
        for k, status in on_record.items()
        if k not in distinct and status is not AlertStatus.RESOLVED
    }
    assert len(plan.resolve) == len(set(plan.resolve))
    # Lists keep the order keys were found in.
    for keys in (plan.create, plan.reopen, plan.still_present):
        assert keys == [k for k in distinct if k in set(keys)]


# --------------------------------------------------------------------------- transitions


def test_allowed_transitions() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(AlertStatus)
    assert ALLOWED_TRANSITIONS[AlertStatus.OPEN] == {
        AlertStatus.ACKNOWLEDGED,
        AlertStatus.RESOLVED,
    }
    assert ALLOWED_TRANSITIONS[AlertStatus.ACKNOWLEDGED] == {
        AlertStatus.OPEN,
        AlertStatus.RESOLVED,
    }
    assert ALLOWED_TRANSITIONS[AlertStatus.RESOLVED] == {AlertStatus.OPEN}
    assert all(status not in targets for status, targets in ALLOWED_TRANSITIONS.items())
