"""Jaeger (`jaeger`): the dependency links Jaeger computes from its traces.

`GET /api/dependencies?endTs=<ms>&lookback=<ms>` answers
`{"data": [{"parent": "a", "child": "b", "callCount": 12}, ...]}`; a Jaeger that only
serves the v3 API answers `/api/v3/dependencies` (asked with the same parameters when
the first path is a 404) with `{"dependencies": [...]}`. Both shapes are read; a link's
request rate is its call count over the lookback window.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from slo_engine.discovery.http import HttpStatusError, JsonGetter
from slo_engine.discovery.sources.base import Discovered, EdgeFigures, edge_ids
from slo_engine.errors import SourceError
from slo_engine.ingestion.schemas import ingestion_request


class JaegerSource:
    name = "jaeger"

    def __init__(self, base_url: str, getter: JsonGetter, interval_minutes: int) -> None:
        self._base = base_url.rstrip("/")
        self._getter = getter
        self.interval_minutes = interval_minutes

    async def discover(self) -> Discovered:
        lookback_ms = self.interval_minutes * 60_000
        params = [("endTs", str(int(time.time() * 1000))), ("lookback", str(lookback_ms))]
        try:
            answer = await self._getter.get(f"{self._base}/api/dependencies", params)
        except HttpStatusError as error:
            if error.status != 404:
                raise
            answer = await self._getter.get(f"{self._base}/api/v3/dependencies", params)
        return build_jaeger_graph(answer, lookback_ms / 1000)


def _links(answer: Any) -> list[Any]:
    if isinstance(answer, dict):
        for key in ("data", "dependencies"):
            if isinstance(answer.get(key), list):
                return list(answer[key])
        if answer.get("data") is None and "errors" in answer:
            raise SourceError(f"Jaeger answered with errors: {answer['errors']}")
    raise SourceError("Jaeger's answer has no dependency list ('data' or 'dependencies')")


def build_jaeger_graph(answer: Any, lookback_seconds: float) -> Discovered:
    warnings: list[str] = []
    counts: dict[tuple[str, str], float] = {}
    for link in _links(answer):
        try:
            parent, child = str(link["parent"]), str(link["child"])
            calls = float(link.get("callCount", 0))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise SourceError(f"Jaeger answered with a malformed link: {link!r}") from error
        key = edge_ids(parent, child, warnings)
        if key is not None and calls > 0:
            counts[key] = counts.get(key, 0.0) + calls
    edges = [
        {
            "source": s,
            "target": t,
            "attributes": EdgeFigures(
                requests_per_second=calls / lookback_seconds,
                attributes={"communication_mode": "sync"},
            ).as_attributes(),
        }
        for (s, t), calls in sorted(counts.items())
    ]
    request = ingestion_request(
        {"source": "jaeger", "observed_at": datetime.now(UTC), "edges": edges}
    )
    return Discovered(request, warnings)
