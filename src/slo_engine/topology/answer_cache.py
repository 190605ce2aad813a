"""Cached subgraph answers, keyed by the graph revision they were computed at.

Every graph write bumps the revision in its transaction, and a request looks answers up
under the revision it read at its start, so no replica can serve an answer older than
the last write committed before the request began: there is nothing to invalidate.
Two stores: in process (an LRU bounded in bytes) or Redis (shared by the replicas,
`REDIS_CACHE_TTL`); a Redis error or timeout is a miss, never a failed query. Which one
pays for itself is measured by `make bench` (docs/performance.md, "Query cache").
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from slo_engine.infra.components import AppComponent

logger = logging.getLogger(__name__)

# With the version of the answers' shape: a release that changes what an answer holds
# (v2: the subgraph's `statistics.unlisted_neighbours`) bumps it, so that it never serves
# an answer an older release cached under the same revision (in Redis, shared and kept
# across restarts); the older replicas of a rolling upgrade keep to their own keys.
KEY_PREFIX = "slo-engine:answer:v2:"


def answer_key(
    revision: int,
    service_id: str,
    direction: str,
    depth: int,
    include_stale: bool,
    max_nodes: int,
    filters: str = "",
) -> str:
    """The key of an answer within one graph (the store adds the graph's epoch);
    `filters`: the traversal filter's canonical text, when there is one.

    >>> answer_key(7, "checkout", "downstream", 3, False, 10000)
    '7:downstream:3:0:10000:checkout'
    >>> answer_key(7, "checkout", "downstream", 3, False, 10000, "k=database;t=;c=;s=;x=")
    '7:downstream:3:0:10000:[k=database;t=;c=;s=;x=]checkout'
    """
    scope = f"[{filters}]" if filters else ""
    return f"{revision}:{direction}:{depth}:{int(include_stale)}:{max_nodes}:{scope}{service_id}"


class AnswerCache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def put(self, key: str, answer: bytes) -> None: ...


class MemoryAnswerCache:
    """Least recently used answers, at most `max_bytes` of them in total."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._size = 0
        self._answers: OrderedDict[str, bytes] = OrderedDict()

    async def get(self, key: str) -> bytes | None:
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        return answer

    async def put(self, key: str, answer: bytes) -> None:
        if len(answer) > self._max_bytes // 4 or key in self._answers:
            return  # one huge answer must not flush everything else
        self._answers[key] = answer
        self._size += len(answer)
        while self._size > self._max_bytes:
            _, evicted = self._answers.popitem(last=False)
            self._size -= len(evicted)


class RedisAnswerCache:
    """Answers shared by the replicas, under the graph's epoch (`graph_identity`): two
    databases sharing one Redis, or one emptied and restarted at revision 0, never
    read each other's answers. The epoch is the live graph's, read with the graph."""

    def __init__(
        self,
        client: Redis,
        ttl_seconds: int,
        timeout_seconds: float,
        epoch: Callable[[], str] = lambda: "unknown",
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._timeout = timeout_seconds
        self.epoch = epoch

    def _key(self, key: str) -> str:
        return f"{KEY_PREFIX}{self.epoch()}:{key}"

    async def get(self, key: str) -> bytes | None:
        try:
            answer = await asyncio.wait_for(self._client.get(self._key(key)), self._timeout)
        except (RedisError, OSError, TimeoutError) as error:
            logger.debug("answer cache: Redis get failed (%s); computing the answer", error)
            return None
        return answer if isinstance(answer, bytes) else None

    async def put(self, key: str, answer: bytes) -> None:
        try:
            await asyncio.wait_for(
                self._client.set(self._key(key), answer, ex=self._ttl), self._timeout
            )
        except (RedisError, OSError, TimeoutError) as error:
            logger.debug("answer cache: Redis set failed (%s)", error)


# The subgraph answer cache (QUERY_CACHE), None when it is off.
ANSWERS: AppComponent[AnswerCache | None] = AppComponent("answers")
