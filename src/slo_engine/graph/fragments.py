"""Encoded JSON fragments of nodes and edges, kept per snapshot and bounded in bytes.

A subgraph answer is mostly the same edges and nodes as the answers before it, so the
read side keeps each one's encoding (topology/service.py) until a write changes it
(`GraphSnapshot.apply` discards those entries). Insertion-ordered eviction keeps a hit
to one dict lookup. Pure data structure, no I/O.
"""

from __future__ import annotations

import itertools
from typing import Generic, TypeVar

K = TypeVar("K")

# Bytes of encoded fragments kept per snapshot: edges (~450 bytes each) and nodes (~120).
# Room for the fragments of a few hundred typical answers (a depth-3 answer of the
# benchmark graph is ~120 edges), within the per-worker memory budget
# (docs/performance.md, "Memory").
EDGE_FRAGMENT_BYTES = 24 * 1024 * 1024
NODE_FRAGMENT_BYTES = 8 * 1024 * 1024
# What one entry costs besides its bytes, estimated: the key tuple (56 bytes), the bytes
# object's header (33) and the dict's slot and index (~30).
_ENTRY_OVERHEAD = 120


class FragmentCache(Generic[K]):
    """A map of encoded fragments bounded in bytes: when full, the older half is dropped.

    Eviction in insertion order (not least-recently-used) keeps a hit to one dict
    lookup; the entries that are hot are re-encoded once after an eviction.

    >>> cache = FragmentCache[str](capacity_bytes=2 * (_ENTRY_OVERHEAD + 1))
    >>> cache.put("a", b"1"); cache.put("b", b"2"); cache.put("c", b"3")
    >>> cache.get("a"), cache.get("c"), len(cache)
    (None, b'3', 2)
    """

    __slots__ = ("_capacity", "_entries", "_size")

    def __init__(self, capacity_bytes: int) -> None:
        if capacity_bytes < 1:
            raise ValueError("capacity_bytes must be at least 1")
        self._capacity = capacity_bytes
        self._size = 0
        self._entries: dict[K, bytes] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """The bytes the entries hold, with their estimated overhead."""
        return self._size

    def get(self, key: K) -> bytes | None:
        return self._entries.get(key)

    def put(self, key: K, fragment: bytes) -> None:
        entries = self._entries
        cost = len(fragment) + _ENTRY_OVERHEAD
        if cost > self._capacity // 2:
            return  # one huge fragment must not flush everything else
        if self._size + cost > self._capacity and key not in entries:
            # Dicts iterate in insertion order: the first half are the oldest.
            for old in list(itertools.islice(entries, max(1, len(entries) // 2))):
                self.discard(old)
        previous = entries.get(key)
        if previous is not None:
            self._size -= len(previous) + _ENTRY_OVERHEAD
        entries[key] = fragment
        self._size += cost

    def discard(self, key: K) -> None:
        # `pop`, not `del`: a heavy read in a worker thread may be evicting too.
        removed = self._entries.pop(key, None)
        if removed is not None:
            self._size -= len(removed) + _ENTRY_OVERHEAD
