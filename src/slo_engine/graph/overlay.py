"""An adjacency seen with extra edges added, without copying it.

A write scans for cycles over the snapshot's fresh adjacency plus its own new edges
(ingestion/service.py) before anything is applied: a read-only view over both, so no
write copies the snapshot's lists. It works on any adjacency mapping, not only the
snapshot's, hence a module of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence


class OverlayAdjacency(Mapping[str, Sequence[str]]):
    """Read-only adjacency = a base adjacency plus extra edges, without copying the base."""

    def __init__(self, base: Mapping[str, Sequence[str]], extra: Mapping[str, Sequence[str]]):
        self._base = base
        self._extra = extra

    def __getitem__(self, node: str) -> Sequence[str]:
        base = self._base.get(node)
        extra = self._extra.get(node)
        if extra is None:
            if base is None:
                raise KeyError(node)
            return base
        return [*base, *extra] if base else extra

    def __iter__(self) -> Iterator[str]:
        yield from self._base
        for node in self._extra:
            if node not in self._base:
                yield node

    def __len__(self) -> int:
        return sum(1 for _ in self)
