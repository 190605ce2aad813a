"""Instant queries against Prometheus' HTTP API (`GET /api/v1/query`).

An answer counts only when it is complete: `status` must be `success`, the result a
vector, and there must be no `warnings` (Prometheus adds them to partial answers, e.g.
when a remote store or a shard did not answer). Anything else is a `SourceError`.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from slo_engine.discovery.http import JsonGetter
from slo_engine.errors import SourceError


class Sample(NamedTuple):
    labels: dict[str, str]
    value: float


class PrometheusClient:
    def __init__(self, base_url: str, getter: JsonGetter) -> None:
        self._url = base_url.rstrip("/") + "/api/v1/query"
        self._getter = getter

    async def query(self, promql: str) -> list[Sample]:
        answer = await self._getter.get(self._url, [("query", promql)])
        return parse_vector(answer, promql)


def parse_vector(answer: Any, promql: str = "") -> list[Sample]:
    """The samples of an instant-vector answer; NaN and infinite values are dropped.

    >>> parse_vector({"status": "success", "data": {"resultType": "vector", "result": [
    ...     {"metric": {"client": "a"}, "value": [1700000000, "2.5"]}]}})
    [Sample(labels={'client': 'a'}, value=2.5)]
    """
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error") if isinstance(answer, dict) else None
        raise SourceError(f"Prometheus refused {promql!r}: {error or 'no success status'}")
    if answer.get("warnings"):
        raise SourceError(f"Prometheus answered {promql!r} partially: {answer['warnings']}")
    data = answer.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector":
        raise SourceError(f"Prometheus answered {promql!r} with something not a vector")
    samples = []
    for item in data.get("result") or []:
        try:
            labels = {str(k): str(v) for k, v in item["metric"].items()}
            value = float(item["value"][1])
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
            raise SourceError(f"Prometheus answered {promql!r} with a malformed sample") from error
        if math.isfinite(value):
            samples.append(Sample(labels, value))
    return samples
