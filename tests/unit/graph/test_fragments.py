"""The fragment cache of encoded nodes and edges: bounded in bytes."""

from __future__ import annotations

from slo_engine.graph.fragments import FragmentCache


def test_fragment_cache_stays_within_its_bytes() -> None:
    cache = FragmentCache[int](capacity_bytes=10_000)
    for key in range(1_000):
        cache.put(key, b"x" * (key % 300))
        assert cache.size_bytes <= 10_000
    assert 0 < len(cache) < 1_000
    assert cache.get(999) == b"x" * (999 % 300)  # the newest stays
    cache.put(-1, b"y" * 6_000)  # more than half the cache: never kept
    assert cache.get(-1) is None
    for key in list(range(1_000)):
        cache.discard(key)
    assert len(cache) == 0 and cache.size_bytes == 0
