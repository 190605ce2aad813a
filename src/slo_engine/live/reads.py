"""What every read answered from the live graph shares: read-your-writes, the revision
and freshness headers, and conditional requests.

* `min_revision` (query parameter): answer from graph revision `min_revision` or later.
  Every write answers the revision it committed (`X-Graph-Revision`, and `revision` in
  the ingestion body); a client that reads through another replica passes it on and the
  read waits, at most `MIN_REVISION_WAIT_SECONDS`, for this process to apply it, or gets
  a 503 problem with `Retry-After` (a revision never committed is a 400). A query
  parameter rather than a header: it shows in the OpenAPI of every read, typed clients
  get it as an argument, and links carry it.
* `X-Graph-Revision` names the revision the answer was computed at, and
  `X-Graph-Freshness` is `confirmed` while the process's change feed vouches for it, or
  `unconfirmed` (the database is unreachable: the answer is the last applied revision).
* `as_of` (query parameter, RFC 3339): answer from the graph as it was at that time
  (live/as_of.py): the revision committed last before it, with the same semantics and
  shapes; the answer names it in `X-Graph-Revision` and echoes the time in
  `X-Graph-As-Of`. A time older than HISTORY_RETENTION_DAYS, or before the history
  began, is a 410 problem.
* `ETag` is weak: `W/"<graph epoch>.<revision>.<request digest>"`, the digest over the
  path, the query and `Accept`. Two replicas at one revision give the same tag (their
  bytes may list neighbours in another order, hence weak). `If-None-Match` with the
  current tag is a 304 before any work, after the access check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from slo_engine.errors import BadRequestError, HistoryGoneError, SloEngineError
from slo_engine.graph.snapshot import GraphSnapshot
from slo_engine.infra.components import AppComponent, SettingsDep
from slo_engine.infra.conditional import NotModified, etag_matches
from slo_engine.infra.storable import QueryTime
from slo_engine.live.as_of import PastGraphs
from slo_engine.live.graph import LiveGraph

# The process's live graph, as a route dependency: `live: LiveGraphDep`.
LIVE_GRAPH: AppComponent[LiveGraph] = AppComponent("live_graph")
LiveGraphDep = Annotated[LiveGraph, Depends(LIVE_GRAPH)]

REVISION_HEADER = "X-Graph-Revision"
# The largest `min_revision` a read accepts (revisions are 64-bit signed in the table).
MAX_REVISION = 2**63 - 1
FRESHNESS_HEADER = "X-Graph-Freshness"
MIN_REVISION_DESCRIPTION = (
    "Answer from this graph revision or a later one (read-your-writes): pass the "
    "revision a write answered (`X-Graph-Revision`). The read waits for this replica to "
    "apply it, at most MIN_REVISION_WAIT_SECONDS, or answers 503 with Retry-After; a "
    "revision never committed is a 400."
)

# For route declarations: the 304 of a conditional read.
NOT_MODIFIED: dict[int | str, dict[str, str]] = {
    304: {"description": "Not modified: the answer with If-None-Match's ETag is current"}
}


# The process's past graphs ("as of" reads).
PAST_GRAPHS: AppComponent[PastGraphs] = AppComponent("past_graphs")
AS_OF_HEADER = "X-Graph-As-Of"
AS_OF_DESCRIPTION = (
    "Answer from the graph as it was at this time (RFC 3339 with an offset): the last "
    "revision committed at or before it, same semantics and shape; echoed in "
    "`X-Graph-As-Of`. Older than HISTORY_RETENTION_DAYS, or before the history began: 410."
)


@dataclass(frozen=True, slots=True)
class GraphRead:
    """A read request's view of the live graph, or of a past one (`as_of`)."""

    live: LiveGraph
    read_snapshot: GraphSnapshot | None
    request_digest: str
    as_of: datetime | None = None
    # Why `as_of` cannot be answered (410, 400). Raised when the endpoint reads the
    # snapshot, not by the dependency: FastAPI solves dependencies before it validates
    # the endpoint's own parameters, and a request with a bad service id must get that
    # 400, whatever its `as_of`.
    refusal: SloEngineError | None = None

    @property
    def snapshot(self) -> GraphSnapshot:
        if self.refusal is not None:
            raise self.refusal
        assert self.read_snapshot is not None
        return self.read_snapshot

    @property
    def current(self) -> bool:
        """The answer is of the live graph (answers of a past one are not cached:
        rebuilt from the change log, their observed figures are those last recorded)."""
        return self.as_of is None

    def etag(self, revision: int) -> str:
        return f'W/"{self.live.epoch}.{revision}.{self.request_digest}"'

    def headers(self, revision: int) -> dict[str, str]:
        """The answer's headers, for an answer computed at `revision` (read from the
        snapshot when the answer was computed: the live snapshot moves between awaits)."""
        headers = {**revision_headers(self.live, revision), "ETag": self.etag(revision)}
        if self.as_of is not None:
            headers[AS_OF_HEADER] = self.as_of.isoformat()
        return headers


def revision_headers(live: LiveGraph, revision: int) -> dict[str, str]:
    """What every graph read says of the graph it answered from: its revision, and
    whether the live graph is confirmed current."""
    return {
        REVISION_HEADER: str(revision),
        FRESHNESS_HEADER: "confirmed" if live.freshness().confirmed else "unconfirmed",
    }


def _request_digest(request: Request) -> str:
    scope = request.scope
    material = b"\n".join(
        (
            scope["path"].encode("utf-8", "surrogateescape"),
            scope.get("query_string", b""),
            request.headers.get("accept", "").encode("latin-1", "replace"),
        )
    )
    return hashlib.blake2b(material, digest_size=8).hexdigest()


async def graph_read(
    request: Request,
    live: LiveGraphDep,
    settings: SettingsDep,
    past: Annotated[PastGraphs, Depends(PAST_GRAPHS)],
    min_revision: Annotated[
        int | None, Query(ge=0, le=MAX_REVISION, description=MIN_REVISION_DESCRIPTION)
    ] = None,
    as_of: Annotated[QueryTime | None, Query(description=AS_OF_DESCRIPTION)] = None,
) -> GraphRead:
    """FastAPI dependency of the graph reads (declare it after the access check)."""
    if min_revision is not None:
        await live.wait_for(min_revision, settings.min_revision_wait_seconds)
    if as_of is not None:
        try:
            revision = await past.revision_at(as_of)
            snapshot = await past.snapshot(revision, live.peek())
        except (HistoryGoneError, BadRequestError) as refusal:
            return GraphRead(live, None, _request_digest(request), as_of, refusal)
        read = GraphRead(live, snapshot, _request_digest(request), as_of)
    else:
        read = GraphRead(live, live.snapshot, _request_digest(request))
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        revision = read.snapshot.revision
        if etag_matches(if_none_match, read.etag(revision)):
            raise NotModified(read.headers(revision))
    return read


# A graph read, as a route parameter (declare it after the access check).
GraphReadDep = Annotated[GraphRead, Depends(graph_read)]
