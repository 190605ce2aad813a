"""One object per distinct value among the rows of one graph read.

The whole graph is a quarter of a million report rows, and a driver hands back a new
object for every value of every row: 250,000 `datetime`s for the 7 distinct observation
times of a real graph, 250,000 `"grpc"` strings for 3 protocols, a float object per
figure. Sharing equal values while rows are converted cuts the live graph by ~50 MB at
that size (measured on the benchmark's 50,000-service graph), at one dict lookup each.
Values are immutable (str, float, int, datetime), so sharing them changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


class Interner:
    """Equal values map to the first object seen; only immutable types are shared."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[tuple[type, Any], Any] = {}

    def text(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self._seen.setdefault((str, value), value)  # type: ignore[no-any-return]

    def time(self, value: datetime) -> datetime:
        return self._seen.setdefault((datetime, value), value)  # type: ignore[no-any-return]

    def number(self, value: float | None) -> float | None:
        """Floats only (1 == 1.0 == True as keys: an int must never stand for a float),
        and zeros kept as they are (0.0 == -0.0, and JSON writes them differently).

        >>> interner = Interner()
        >>> a, b = interner.number(float("1.5")), interner.number(float("1.5"))
        >>> a is b, str(interner.number(-0.0)), interner.number(None)
        (True, '-0.0', None)
        """
        if type(value) is not float or value == 0.0:
            return value
        return self._seen.setdefault((float, value), value)  # type: ignore[no-any-return]
