"""Webhook delivery across real server processes sharing one database (both engines):
two replicas deliver every message exactly once between them, in revision order; a
server killed (SIGKILL) mid-delivery loses nothing, and the replica that takes over
sends again at most the one message that was in flight (at least once, as
docs/history.md states), with the same `webhook-id` for the receiver to drop."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from slo_engine.access.keys import Scope
from tests.e2e.conftest import INGEST, make_key
from tests.e2e.test_webhooks import Receiver, start_receiver
from tests.local_servers import served_env, start_api, wait_until


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    with start_receiver(tmp_path) as started:
        yield started


class Servers:
    """`slo-cli serve` processes on one database, stopped at the end."""

    def __init__(self, database_url: str, tmp_path: Path, **env: str) -> None:
        self._env = served_env(
            database_url, WEBHOOK_DELIVERY_ENABLED="true", WEBHOOK_POLL_SECONDS="0.05", **env
        )
        self._tmp_path = tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> str:
        log = self._tmp_path / f"server-{len(self.processes)}.log"
        process, url = start_api(self._env, log)
        self.processes.append(process)
        return url

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


def received(receiver: Receiver) -> list[tuple[str, int]]:
    """(webhook-id, revision) of each request the receiver got, in arrival order."""
    found = []
    for request in receiver.requests():
        assert request["verified"], request
        body = json.loads(request["body"])
        found.append((request["headers"]["webhook-id"], body["data"]["revision"]))
    return found


def write(url: str, key: dict[str, str], n: int) -> int:
    response = httpx.post(
        f"{url}{INGEST}",
        headers=key,
        json={"source": "manual", "edges": [{"source": f"s{n}", "target": f"t{n}"}]},
    )
    assert response.status_code == 200, response.text
    revision: int = response.json()["revision"]
    return revision


def subscribe(url: str, key: dict[str, str], receiver: Receiver) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/api/v1/webhooks",
        headers=key,
        json={"url": f"{receiver.url}/hook", "event_types": ["graph.changed"]},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.control(secret=created["secret"])
    return created


def test_two_replicas_deliver_each_message_once_in_revision_order(
    database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    key = {"X-API-Key": make_key(database_url, "replicas", Scope.ADMIN)}
    servers = Servers(database_url, tmp_path)
    try:
        a, b = servers.start(), servers.start()
        subscribe(a, key, receiver)
        revisions = [write((a, b)[n % 2], key, n) for n in range(20)]
        receiver.wait_for(20, timeout=30)
        time.sleep(1.0)  # room for a duplicate to show, were there one
        got = received(receiver)
        assert [revision for _, revision in got] == revisions
        assert len({message_id for message_id, _ in got}) == 20
    finally:
        servers.stop()


def test_a_server_killed_mid_delivery_loses_nothing(
    database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    key = {"X-API-Key": make_key(database_url, "killed", Scope.ADMIN)}
    # A 2 s attempt bound: the lease a killed server held expires after 14 s.
    servers = Servers(database_url, tmp_path, WEBHOOK_TIMEOUT_SECONDS="2")
    try:
        first = servers.start()
        webhook = subscribe(first, key, receiver)
        receiver.control(delay=1.0)  # each request is answered a second after it arrives
        revisions = [write(first, key, n) for n in range(6)]
        receiver.wait_for(2)  # the second message is in flight now
        servers.processes[0].send_signal(signal.SIGKILL)
        servers.processes[0].wait()
        in_flight = received(receiver)[-1][0]
        receiver.control(delay=0.0)
        second = servers.start()
        wait_until(
            lambda: len({m for m, _ in received(receiver)}) == 6, 40, "every message delivered"
        )
        time.sleep(0.5)
        got = received(receiver)
        # Nothing lost, in revision order of first arrival...
        first_arrivals = list(dict.fromkeys(got))
        assert [revision for _, revision in first_arrivals] == revisions
        # ...and nothing sent twice but the message in flight at the kill.
        twice = {message_id for message_id, n in Counter(m for m, _ in got).items() if n > 1}
        assert twice <= {in_flight}
        # The receiver logs a request before it answers: the last outcome follows.
        log = f"{second}/api/v1/webhooks/{webhook['id']}/deliveries"
        wait_until(
            lambda: (
                [d["status"] for d in httpx.get(log, headers=key).json()["items"]]
                == ["delivered"] * 6
            ),
            10,
            "every message recorded as delivered",
        )
    finally:
        servers.stop()
