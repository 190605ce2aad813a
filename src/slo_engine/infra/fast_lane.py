"""A fast lane for the hottest read routes: their common request shape answered without
FastAPI's per-request dependency resolution.

Under load a cached depth-3 read spent ~43% of its event-loop time in FastAPI's
`solve_dependencies` (py-spy on one worker under wrk, docs/performance.md): per request
it walks the dependency tree, builds cache keys, classifies every callable and validates
each parameter through pydantic, for a route whose own work is a few dictionary lookups.
A route declared with `@fast_lane(lane)` first offers each request to `lane`, which parses
the request's *common, well-formed* shape itself (known query parameters, each once,
with canonical values) and calls the very functions FastAPI would call (the access
check, the graph read, the endpoint) with what FastAPI would pass them. Anything else
(an unknown or repeated parameter, a value the lane does not recognise, dependency
overrides in tests) makes the lane return None before any side effect, and the request
takes FastAPI's full path, which validates and answers it as always. So the lane changes
no answer, only what the common one costs; a test holds
both paths to the same status, headers and bytes for a corpus of requests.

A lane runs inside the route's handler: errors it raises reach the app's exception
handlers exactly as the endpoint's do. A lane declares the route dependencies it calls
itself; the route refuses to start if its own differ, and the app must give the route
none through `FastAPI(dependencies=...)` or `include_router(dependencies=...)` (a test
checks). Lanes are open only when `create_app` says so (`LANES_OPEN`): with tracing on,
FastAPI's operation spans (dependencies, endpoint) are part of the answer's trace, and
the lane would skip them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Request, Response
from fastapi.routing import APIRoute

from slo_engine.infra.components import AppComponent

# Answers the request, or None (before any side effect) to leave it to FastAPI.
FastLane = Callable[[Request], Awaitable[Response | None]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

# Whether lanes may answer (installed by create_app; closed when absent).
LANES_OPEN: AppComponent[bool] = AppComponent("fast_lanes_open")


class _Lane:
    __slots__ = ("calls", "lane")

    def __init__(self, lane: FastLane, calls: tuple[Callable[..., Any], ...]) -> None:
        self.lane = lane
        self.calls = calls


_LANES: dict[Callable[..., Any], _Lane] = {}


def fast_lane(
    lane: FastLane, *, calls: tuple[Callable[..., Any], ...]
) -> Callable[[Endpoint], Endpoint]:
    """Declare `lane` for the endpoint below it (under the route decorator); `calls`:
    the route dependencies (`dependencies=[Depends(...)]`) the lane calls itself."""

    def register(endpoint: Endpoint) -> Endpoint:
        _LANES[endpoint] = _Lane(lane, calls)
        return endpoint

    return register


def plain_query(request: Request, known: frozenset[str]) -> dict[str, str] | None:
    """The query parameters as one value per name, parsed as Starlette parses them, or
    None when a name is not in `known` or comes more than once (FastAPI's path decides
    what those mean).

    >>> from starlette.requests import Request
    >>> def query(text: bytes) -> dict[str, str] | None:
    ...     request = Request({"type": "http", "query_string": text})
    ...     return plain_query(request, frozenset({"depth", "format"}))
    >>> query(b"depth=2&format=dot"), query(b"depth=%33&format="), query(b"")
    ({'depth': '2', 'format': 'dot'}, {'depth': '3', 'format': ''}, {})
    >>> query(b"depth=2&depth=3"), query(b"depth=2&other=1")
    (None, None)
    """
    query_string: bytes = request.scope.get("query_string", b"")
    if not query_string:
        return {}
    values: dict[str, str] = {}
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name not in known or name in values:
            return None
        values[name] = value
    return values


def whole_number(text: str | None, low: int, high: int) -> int | None:
    """`text` as an integer in [low, high] when written plainly (ASCII digits, no sign,
    no leading zero), else None: the lane leaves every other spelling to pydantic.

    >>> [whole_number(text, 1, 10) for text in ("3", "10", "0", "11", "03", "+3", "", "٣")]
    [3, 10, None, None, None, None, None, None]
    >>> whole_number("1" * 5000, 1, 10) is None
    True
    """
    if text is None or not text.isascii() or not text.isdigit():
        return None
    if len(text) > len(str(high)):  # and int() refuses 4,300 digits or more
        return None
    if len(text) > 1 and text[0] == "0":
        return None
    value = int(text)
    return value if low <= value <= high else None


class FastLaneRoute(APIRoute):
    """An `APIRoute` whose handler offers each request to its endpoint's fast lane first
    (`APIRouter(route_class=FastLaneRoute)`; endpoints without a lane are unchanged)."""

    # How many requests a lane took (answered, or failed with an error the app's handlers
    # answer): tests check that the lane is really taken.
    lane_answers = 0

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        standard = super().get_route_handler()
        declared = _LANES.get(self.endpoint)
        if declared is None:
            return standard
        own = tuple(depends.dependency for depends in self.dependencies)
        if own != declared.calls:
            raise RuntimeError(
                f"the fast lane of {self.path} calls {declared.calls}, the route declares "
                f"{own}: they must be the same"
            )
        lane = declared.lane

        async def handler(request: Request) -> Response:
            app = request.app
            if getattr(app.state, LANES_OPEN.name, False) and not app.dependency_overrides:
                try:
                    answer = await lane(request)
                except Exception:
                    FastLaneRoute.lane_answers += 1
                    raise
                if answer is not None:
                    FastLaneRoute.lane_answers += 1
                    return answer
            return await standard(request)

        return handler
