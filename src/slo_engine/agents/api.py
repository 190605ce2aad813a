"""The tools' one way to ask slo-engine: a GET on its HTTP API through an httpx client
(a remote server's, or the app's own routes in process), with a refusal kept as the
service's problem details for the agent to read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from slo_engine.live.reads import REVISION_HEADER

API_PREFIX = "/api/v1"
# A depth-10 answer of a large graph takes a while; an agent waits, within reason.
TIMEOUT_SECONDS = 60.0


class ToolRefusalError(Exception):
    """The question could not be answered: `message` is what the agent reads."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def refusal_of(response: httpx.Response) -> ToolRefusalError:
    """The agent's reading of a non-200 answer: status, title and detail on the first
    line, then the problem details as the service sent them (RFC 9457), so a refusal
    says exactly what the HTTP API would; a body that is no problem (a proxy's page)
    is quoted, cut short."""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        text = response.text.strip()[:500] or response.reason_phrase
        return ToolRefusalError(f"slo-engine answered {response.status_code}: {text}")
    title = problem.get("title") or response.reason_phrase
    detail = problem.get("detail") or ""
    first = f"slo-engine refused the request ({response.status_code} {title}): {detail}"
    listed = [
        f"{entry.get('pointer') or '-'}: {entry.get('detail')}"
        for entry in problem.get("errors") or []
        if isinstance(entry, dict)
    ]
    if listed:
        first += " [" + "; ".join(listed) + "]"
    retry = response.headers.get("retry-after")
    if retry is not None:
        first += f" Retry after {retry} s."
    return ToolRefusalError(f"{first}\nProblem details: {orjson.dumps(problem).decode()}")


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    body: Any
    # The graph revision the answer was computed at (graph reads only).
    revision: str | None


def service_path(service_id: str, what: str) -> str:
    """`/services/{service_id}/{what}`, the id as one path segment whatever it holds.

    >>> service_path("a/b", "impact")
    '/services/a%2Fb/impact'
    """
    return f"/services/{quote(service_id, safe='')}/{what}"


async def get_json(client: httpx.AsyncClient, path: str, params: Mapping[str, Any]) -> ApiAnswer:
    """GET `API_PREFIX + path` with `params` (None left out); the JSON answer of a 200,
    else a `ToolRefusalError` with the service's problem details."""
    query = {name: value for name, value in params.items() if value is not None}
    try:
        response = await client.get(API_PREFIX + path, params=query)
    except httpx.HTTPError as error:
        raise ToolRefusalError(
            f"Could not reach slo-engine at {client.base_url}: {error or type(error).__name__}"
        ) from error
    if response.status_code != 200:
        raise refusal_of(response)
    try:
        body = response.json()
    except ValueError as error:
        raise ToolRefusalError(
            f"slo-engine answered 200 with a body that is not JSON "
            f"({response.headers.get('content-type')})."
        ) from error
    return ApiAnswer(body, response.headers.get(REVISION_HEADER))
