"""The in-process buckets stay bounded whatever the number of clients."""

from __future__ import annotations

import pytest

from slo_engine.access.ratelimit import memory
from slo_engine.access.ratelimit.memory import InProcessBuckets
from slo_engine.rate_policy import parse_rate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(memory.time, "monotonic", fake.monotonic)
    return fake


def test_full_buckets_are_dropped_and_change_no_decision(clock: Clock) -> None:
    buckets = InProcessBuckets()
    policy = parse_rate("1/second")
    for client in range(memory._PRUNE_ABOVE):
        assert buckets.take(f"client-{client}", policy).allowed
    assert not buckets.take("client-0", policy).allowed  # empty, and remembered
    clock.now += 2  # every bucket is full again
    assert buckets.take("newcomer", policy).allowed  # past the bound: pruned
    assert len(buckets._buckets) == 1
    assert buckets.take("client-0", policy).allowed  # a full bucket: as before


def test_a_flood_of_new_clients_keeps_the_map_bounded(clock: Clock) -> None:
    buckets = InProcessBuckets()
    policy = parse_rate("1/hour")  # nobody refills during the flood
    for client in range(memory._PRUNE_ABOVE * 3):
        clock.now += 0.001
        buckets.take(f"client-{client}", policy)
    assert len(buckets._buckets) <= memory._PRUNE_ABOVE
    # The most recent clients are still remembered as empty.
    assert not buckets.take(f"client-{memory._PRUNE_ABOVE * 3 - 1}", policy).allowed
