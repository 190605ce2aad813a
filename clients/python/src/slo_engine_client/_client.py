"""`SloEngineClient` and `AsyncSloEngineClient`: the same methods, blocking or awaited."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from slo_engine_client import _calls
from slo_engine_client import models as m
from slo_engine_client._calls import Include, Time
from slo_engine_client._operations import Call
from slo_engine_client._retry import RetryEvent, RetryPolicy
from slo_engine_client.errors import InvalidResponse, TransportError, problem_error

__version__ = "0.1.0"

M = TypeVar("M", bound=BaseModel)
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_RETRY_WAIT = 60.0
# The largest page the list operations answer.
PAGE_LIMIT = 1000

RetryHook = Callable[[RetryEvent], None]


class _Base:
    """What both clients share: configuration, the requests, reading the answers."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float | httpx.Timeout,
        max_retries: int,
        max_retry_wait: float,
        retry: RetryPolicy | None,
        headers: Mapping[str, str] | None,
        on_retry: RetryHook | None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy(max_retries=max_retries, max_wait=max_retry_wait)
        self.on_retry = on_retry
        self._rng = random.Random()
        self._headers = {"User-Agent": f"slo-engine-client/{__version__}", **(headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    def _request(self, http: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
        headers = {} if call.accept is None else {"Accept": call.accept}
        return http.build_request(
            call.method,
            call.path,
            params=call.params(),
            json=call.body,
            headers=headers,
        )

    def _retry_delay(
        self, request: httpx.Request, outcome: httpx.Response | httpx.TransportError, state: _Tries
    ) -> float | None:
        delay = self.retry.delay(request.method, outcome, state.retries, state.waited, self._rng)
        if delay is None:
            return None
        state.retries += 1
        state.waited += delay
        if self.on_retry is not None:
            status = outcome.status_code if isinstance(outcome, httpx.Response) else None
            error = None if isinstance(outcome, httpx.Response) else outcome
            self.on_retry(
                RetryEvent(request.method, str(request.url), state.retries, delay, status, error)
            )
        return delay

    @staticmethod
    def _model(response: httpx.Response, model: type[M]) -> M:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            raise InvalidResponse(
                f"{response.request.method} {response.request.url.path} answered "
                f"{response.status_code} with a body that is not a {model.__name__}: {error}",
                response,
            ) from error


def _success(response: httpx.Response) -> bool:
    """2xx, or 304 Not Modified (an answer to If-None-Match). Redirects are not
    followed: the API answers none, so one comes from something in between."""
    return 200 <= response.status_code < 300 or response.status_code == 304


class _Tries:
    __slots__ = ("retries", "waited")

    def __init__(self) -> None:
        self.retries = 0
        self.waited = 0.0


class SloEngineClient(_Base):
    """A blocking client of the slo-engine HTTP API:

        with SloEngineClient("http://127.0.0.1:8000", api_key="slo_...") as client:
            subgraph = client.dependencies("checkout", depth=2)

    `api_key` is sent as `Authorization: Bearer`. A 429 or 503 is retried after its
    Retry-After (else with exponential backoff and jitter), at most `max_retries` times
    and `max_retry_wait` seconds of waiting per call; a failed connection too, and for
    GETs a lost answer; `retry` (a `RetryPolicy`) sets every bound instead. `on_retry`
    is told of each wait before it. Refusals raise `ProblemError` subclasses
    (errors.py) carrying the server's problem document; `headers` are sent with every
    request; `transport` replaces the network (tests, proxies).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        on_retry: RetryHook | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            retry=retry,
            headers=headers,
            on_retry=on_retry,
        )
        self._http = httpx.Client(
            base_url=self.base_url, headers=self._headers, timeout=timeout, transport=transport
        )
        self._sleep: Callable[[float], None] = time.sleep

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -------------------------------------------------------------- sending

    def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """The answer of a 2xx (or a 304 to a conditional request); retries as the
        policy allows; raises the refusal's `ProblemError` or a `TransportError`."""
        state = _Tries()
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as error:
                delay = self._retry_delay(request, error, state)
                if delay is None:
                    raise TransportError(self.base_url, error) from error
                self._sleep(delay)
                continue
            if _success(response):
                return response
            try:
                response.read()
            finally:
                response.close()
            delay = self._retry_delay(request, response, state)
            if delay is None:
                raise problem_error(response)
            self._sleep(delay)

    def _json(self, call: Call, model: type[M]) -> M:
        return self._model(self._send(self._request(self._http, call)), model)

    def _text(self, call: Call) -> str:
        return self._send(self._request(self._http, call)).text

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Any request (`path` from the base URL, e.g. /api/v1/services) with the same
        key, retries and errors as the typed methods: the answer of a 2xx, or a 304 (to
        a request sent with If-None-Match); anything else raises."""
        query = {name: value for name, value in (params or {}).items() if value is not None}
        request = self._http.build_request(
            method, path, params=query, json=json, headers=dict(headers or {})
        )
        return self._send(request)

    # -------------------------------------------------------------- reads

    def liveness(self) -> m.Liveness:
        """getLiveness: the process answers (no key needed)."""
        return self._json(_calls.liveness(), m.Liveness)

    def service(
        self,
        service_id: str,
        *,
        include: Include = None,
        include_stale: bool | None = None,
        min_revision: int | None = None,
        as_of: Time | None = None,
    ) -> m.ServiceDetailOut:
        """getService: one service; `include` ("impact", "availability", or both in a
        list) adds its blast radius and availability ceiling to the answer."""
        call = _calls.service(service_id, include, include_stale, min_revision, as_of)
        return self._json(call, m.ServiceDetailOut)

    def dependencies(
        self,
        service_id: str,
        *,
        direction: m.Direction | str | None = None,
        depth: int | None = None,
        include_stale: bool | None = None,
        max_nodes: int | None = None,
        include: Include = None,
        min_revision: int | None = None,
        as_of: Time | None = None,
    ) -> m.SubgraphOut:
        """getDependencies: what `service_id` depends on (downstream, the default), what
        depends on it (upstream) or both, `depth` hops far (server default 3); `include`
        ("impact", "availability", or both) adds the root's insights to the answer."""
        call = _calls.dependencies(
            service_id,
            direction,
            depth,
            include_stale,
            max_nodes,
            min_revision,
            as_of,
            include=include,
        )
        return self._json(call, m.SubgraphOut)

    def export_dependencies(
        self,
        service_id: str,
        export_format: m.ExportFormat | str,
        *,
        direction: m.Direction | str | None = None,
        depth: int | None = None,
        include_stale: bool | None = None,
        max_nodes: int | None = None,
        as_of: Time | None = None,
    ) -> str:
        """getDependencies with `format=`: the subgraph as JSON, DOT, Mermaid or
        Cytoscape.js text."""
        call = _calls.dependencies(
            service_id, direction, depth, include_stale, max_nodes, None, as_of, export_format
        )
        return self._text(call)

    def impact(
        self,
        service_id: str,
        *,
        depth: int | None = None,
        include_stale: bool | None = None,
        max_affected: int | None = None,
        min_revision: int | None = None,
        as_of: Time | None = None,
    ) -> m.ImpactOut:
        """getImpact: who is down or degraded if `service_id` goes down."""
        call = _calls.impact(service_id, depth, include_stale, max_affected, min_revision, as_of)
        return self._json(call, m.ImpactOut)

    def availability(
        self,
        service_id: str,
        *,
        include_stale: bool | None = None,
        max_terms: int | None = None,
        min_revision: int | None = None,
        as_of: Time | None = None,
    ) -> m.AvailabilityOut:
        """getAvailability: the availability ceiling of `service_id` and its arithmetic."""
        call = _calls.availability(service_id, include_stale, max_terms, min_revision, as_of)
        return self._json(call, m.AvailabilityOut)

    def graph(
        self,
        *,
        include_stale: bool | None = None,
        cursor: str | None = None,
        limit: int | None = None,
        min_revision: int | None = None,
        as_of: Time | None = None,
    ) -> m.GraphPageOut:
        """getGraph: one page of the whole graph (services in id order, and the edges
        from them); pass `next_cursor` back as `cursor`."""
        call = _calls.graph(include_stale, cursor, limit, min_revision, as_of)
        return self._json(call, m.GraphPageOut)

    def export_graph(
        self,
        export_format: m.ExportFormat | str,
        *,
        include_stale: bool | None = None,
        as_of: Time | None = None,
    ) -> Iterator[str]:
        """getGraph with `format=dot|mermaid|cytoscape`: the whole graph streamed as the
        server writes it, at one revision. The request is sent at the first `next()`."""
        call = _calls.graph(include_stale, None, None, None, as_of, export_format)
        response = self._send(self._request(self._http, call), stream=True)
        try:
            yield from response.iter_text()
        except httpx.TransportError as error:
            raise TransportError(self.base_url, error) from error
        finally:
            response.close()

    def services(
        self,
        *,
        team: str | None = None,
        criticality: m.ServiceCriticality | str | None = None,
        discovered: bool | None = None,
        search: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
        as_of: Time | None = None,
    ) -> m.ServicePage:
        """listServices: one page of services, filtered; pass `next_cursor` back."""
        call = _calls.services(team, criticality, discovered, search, cursor, limit, as_of)
        return self._json(call, m.ServicePage)

    def iter_services(
        self,
        *,
        team: str | None = None,
        criticality: m.ServiceCriticality | str | None = None,
        discovered: bool | None = None,
        search: str | None = None,
        page_size: int = PAGE_LIMIT,
        as_of: Time | None = None,
    ) -> Iterator[m.ServiceOut]:
        """Every service the filters admit, page after page."""
        cursor: str | None = None
        while True:
            page = self.services(
                team=team,
                criticality=criticality,
                discovered=discovered,
                search=search,
                cursor=cursor,
                limit=page_size,
                as_of=as_of,
            )
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def cycles(
        self,
        *,
        status: m.AlertStatus | str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.AlertPage:
        """listCycleAlerts: one page of circular-dependency alerts, newest first."""
        return self._json(_calls.cycles(status, cursor, limit), m.AlertPage)

    def iter_cycles(
        self, *, status: m.AlertStatus | str | None = None, page_size: int = PAGE_LIMIT
    ) -> Iterator[m.AlertOut]:
        """Every circular-dependency alert (of `status`), page after page."""
        cursor: str | None = None
        while True:
            page = self.cycles(status=status, cursor=cursor, limit=page_size)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def cycle(self, alert_id: str) -> m.AlertOut:
        """getCycleAlert: one circular-dependency alert."""
        return self._json(_calls.cycle(alert_id), m.AlertOut)

    def changes(
        self,
        *,
        since_revision: int | None = None,
        since: Time | None = None,
        until: Time | None = None,
        service: str | None = None,
        types: Sequence[m.ChangeType | str] | m.ChangeType | str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.ChangePage:
        """listChanges: one page of the change feed, oldest first."""
        call = _calls.changes(since_revision, since, until, service, types, cursor, limit)
        return self._json(call, m.ChangePage)

    def iter_changes(
        self,
        *,
        since_revision: int | None = None,
        since: Time | None = None,
        until: Time | None = None,
        service: str | None = None,
        types: Sequence[m.ChangeType | str] | m.ChangeType | str | None = None,
        page_size: int = PAGE_LIMIT,
    ) -> Iterator[m.ChangeOut]:
        """Every change the filters admit, page after page."""
        cursor: str | None = None
        while True:
            page = self.changes(
                since_revision=since_revision,
                since=since,
                until=until,
                service=service,
                types=types,
                cursor=cursor,
                limit=page_size,
            )
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def diff(self, from_: int | Time, to: int | Time | None = None) -> m.GraphDiffOut:
        """getGraphDiff: what changed between two revisions or times (`to`: now)."""
        return self._json(_calls.diff(from_, to, m.DiffFormat.JSON), m.GraphDiffOut)

    def diff_markdown(self, from_: int | Time, to: int | Time | None = None) -> str:
        """getGraphDiff as Markdown."""
        return self._text(_calls.diff(from_, to, m.DiffFormat.MARKDOWN))

    # -------------------------------------------------------------- writes

    def ingest(self, request: m.IngestionRequest | Mapping[str, Any]) -> m.IngestionResponse:
        """ingestGraph: services and edges one source reports (the `write` scope)."""
        return self._json(_calls.ingest(request), m.IngestionResponse)

    def retract(
        self,
        source_id: str,
        target_id: str,
        *,
        discovery_source: m.DiscoverySource | str | None = None,
    ) -> m.RetractionResponse:
        """retractDependency: `source_id -> target_id` is no longer reported."""
        call = _calls.retract(source_id, target_id, discovery_source)
        return self._json(call, m.RetractionResponse)

    def delete_service(self, service_id: str, *, cascade: bool = False) -> m.RetractionResponse:
        """deleteService (the `admin` scope)."""
        return self._json(_calls.delete_service(service_id, cascade), m.RetractionResponse)

    def update_cycle(
        self, alert_id: str, status: str, *, actor: str | None = None, note: str | None = None
    ) -> m.AlertOut:
        """updateCycleAlert: acknowledge, resolve or reopen an alert."""
        return self._json(_calls.update_cycle(alert_id, status, actor, note), m.AlertOut)


class AsyncSloEngineClient(_Base):
    """The same client for asyncio: every method awaited, the iterators `async for`."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        on_retry: RetryHook | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            retry=retry,
            headers=headers,
            on_retry=on_retry,
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers, timeout=timeout, transport=transport
        )
        self._sleep: Callable[[float], Any] = asyncio.sleep

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -------------------------------------------------------------- sending

    async def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        state = _Tries()
        while True:
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as error:
                delay = self._retry_delay(request, error, state)
                if delay is None:
                    raise TransportError(self.base_url, error) from error
                await self._sleep(delay)
                continue
            if _success(response):
                return response
            try:
                await response.aread()
            finally:
                await response.aclose()
            delay = self._retry_delay(request, response, state)
            if delay is None:
                raise problem_error(response)
            await self._sleep(delay)

    async def _json(self, call: Call, model: type[M]) -> M:
        return self._model(await self._send(self._request(self._http, call)), model)

    async def _text(self, call: Call) -> str:
        return (await self._send(self._request(self._http, call))).text

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Any request, with the key, retries and errors of the typed methods."""
        query = {name: value for name, value in (params or {}).items() if value is not None}
        request = self._http.build_request(
            method, path, params=query, json=json, headers=dict(headers or {})
        )
        return await self._send(request)

    # -------------------------------------------------------------- reads

    async def liveness(self) -> m.Liveness:
        return await self._json(_calls.liveness(), m.Liveness)

    async def service(
        self,
        service_id: str,
        *,
        include: Include = None,
        include_stale: bool | None = None,
        min_revision: int | None = None,
        as_of: Time | None = None,
    ) -> m.ServiceDetailOut:
        call = _calls.service(service_id, include, include_stale, min_revision, as_of)
        return await self._json(call, m.ServiceDetailOut)

    async def dependencies(
        self,
        service_id: str,
        *,
        direction: m.Direction | str | None = None,
        depth: int | None = None,
        include_stale: bool | None = None,
        max_nodes: int | None = None,
        include: Include = None,
        min_revision: int | None = None,
        as_of: Time | None = None,
    ) -> m.SubgraphOut:
        call = _calls.dependencies(
            service_id,
            direction,
            depth,
            include_stale,
            max_nodes,
            min_revision,
            as_of,
            include=include,
        )
        return await self._json(call, m.SubgraphOut)

    async def export_dependencies(
        self,
        service_id: str,
        export_format: m.ExportFormat | str,
        *,
        direction: m.Direction | str | None = None,
        depth: int | None = None,
        include_stale: bool | None = None,
        max_nodes: int | None = None,
        as_of: Time | None = None,
    ) -> str:
        call = _calls.dependencies(
            service_id, direction, depth, include_stale, max_nodes, None, as_of, export_format
        )
        return await self._text(call)

    async def impact(
        self,
        service_id: str,
        *,
        depth: int | None = None,
        include_stale: bool | None = None,
        max_affected: int | None = None,
        min_revision: int | None = None,
        as_of: Time | None = None,
    ) -> m.ImpactOut:
        call = _calls.impact(service_id, depth, include_stale, max_affected, min_revision, as_of)
        return await self._json(call, m.ImpactOut)

    async def availability(
        self,
        service_id: str,
        *,
        include_stale: bool | None = None,
        max_terms: int | None = None,
        min_revision: int | None = None,
        as_of: Time | None = None,
    ) -> m.AvailabilityOut:
        call = _calls.availability(service_id, include_stale, max_terms, min_revision, as_of)
        return await self._json(call, m.AvailabilityOut)

    async def graph(
        self,
        *,
        include_stale: bool | None = None,
        cursor: str | None = None,
        limit: int | None = None,
        min_revision: int | None = None,
        as_of: Time | None = None,
    ) -> m.GraphPageOut:
        call = _calls.graph(include_stale, cursor, limit, min_revision, as_of)
        return await self._json(call, m.GraphPageOut)

    async def export_graph(
        self,
        export_format: m.ExportFormat | str,
        *,
        include_stale: bool | None = None,
        as_of: Time | None = None,
    ) -> AsyncIterator[str]:
        call = _calls.graph(include_stale, None, None, None, as_of, export_format)
        response = await self._send(self._request(self._http, call), stream=True)
        try:
            async for chunk in response.aiter_text():
                yield chunk
        except httpx.TransportError as error:
            raise TransportError(self.base_url, error) from error
        finally:
            await response.aclose()

    async def services(
        self,
        *,
        team: str | None = None,
        criticality: m.ServiceCriticality | str | None = None,
        discovered: bool | None = None,
        search: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
        as_of: Time | None = None,
    ) -> m.ServicePage:
        call = _calls.services(team, criticality, discovered, search, cursor, limit, as_of)
        return await self._json(call, m.ServicePage)

    async def iter_services(
        self,
        *,
        team: str | None = None,
        criticality: m.ServiceCriticality | str | None = None,
        discovered: bool | None = None,
        search: str | None = None,
        page_size: int = PAGE_LIMIT,
        as_of: Time | None = None,
    ) -> AsyncIterator[m.ServiceOut]:
        cursor: str | None = None
        while True:
            page = await self.services(
                team=team,
                criticality=criticality,
                discovered=discovered,
                search=search,
                cursor=cursor,
                limit=page_size,
                as_of=as_of,
            )
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def cycles(
        self,
        *,
        status: m.AlertStatus | str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.AlertPage:
        return await self._json(_calls.cycles(status, cursor, limit), m.AlertPage)

    async def iter_cycles(
        self, *, status: m.AlertStatus | str | None = None, page_size: int = PAGE_LIMIT
    ) -> AsyncIterator[m.AlertOut]:
        cursor: str | None = None
        while True:
            page = await self.cycles(status=status, cursor=cursor, limit=page_size)
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def cycle(self, alert_id: str) -> m.AlertOut:
        return await self._json(_calls.cycle(alert_id), m.AlertOut)

    async def changes(
        self,
        *,
        since_revision: int | None = None,
        since: Time | None = None,
        until: Time | None = None,
        service: str | None = None,
        types: Sequence[m.ChangeType | str] | m.ChangeType | str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.ChangePage:
        call = _calls.changes(since_revision, since, until, service, types, cursor, limit)
        return await self._json(call, m.ChangePage)

    async def iter_changes(
        self,
        *,
        since_revision: int | None = None,
        since: Time | None = None,
        until: Time | None = None,
        service: str | None = None,
        types: Sequence[m.ChangeType | str] | m.ChangeType | str | None = None,
        page_size: int = PAGE_LIMIT,
    ) -> AsyncIterator[m.ChangeOut]:
        cursor: str | None = None
        while True:
            page = await self.changes(
                since_revision=since_revision,
                since=since,
                until=until,
                service=service,
                types=types,
                cursor=cursor,
                limit=page_size,
            )
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def diff(self, from_: int | Time, to: int | Time | None = None) -> m.GraphDiffOut:
        return await self._json(_calls.diff(from_, to, m.DiffFormat.JSON), m.GraphDiffOut)

    async def diff_markdown(self, from_: int | Time, to: int | Time | None = None) -> str:
        return await self._text(_calls.diff(from_, to, m.DiffFormat.MARKDOWN))

    # -------------------------------------------------------------- writes

    async def ingest(self, request: m.IngestionRequest | Mapping[str, Any]) -> m.IngestionResponse:
        return await self._json(_calls.ingest(request), m.IngestionResponse)

    async def retract(
        self,
        source_id: str,
        target_id: str,
        *,
        discovery_source: m.DiscoverySource | str | None = None,
    ) -> m.RetractionResponse:
        call = _calls.retract(source_id, target_id, discovery_source)
        return await self._json(call, m.RetractionResponse)

    async def delete_service(
        self, service_id: str, *, cascade: bool = False
    ) -> m.RetractionResponse:
        return await self._json(_calls.delete_service(service_id, cascade), m.RetractionResponse)

    async def update_cycle(
        self, alert_id: str, status: str, *, actor: str | None = None, note: str | None = None
    ) -> m.AlertOut:
        return await self._json(_calls.update_cycle(alert_id, status, actor, note), m.AlertOut)
