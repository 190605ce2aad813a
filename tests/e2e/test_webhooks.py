"""Webhooks end to end: subscriptions over HTTP, messages delivered to a real receiver
process on 127.0.0.1 that checks each signature with the Standard Webhooks reference
library, in revision order, retried, failing, redelivered; redirects not followed; a
signature checked with openssl. Both engines."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from slo_engine.app import create_app
from tests.e2e.conftest import edge, ingest, settings_for
from tests.local_servers import free_port, wait_until

RECEIVER = Path(__file__).parent.parent / "webhook_receiver.py"
EDGE_EVENTS = ["edge.added", "edge.removed", "graph.changed"]


@dataclass
class Receiver:
    """A receiver process: its URL, and what it recorded."""

    url: str
    log: Path

    def control(self, **behaviour: Any) -> None:
        httpx.post(f"{self.url}/control", json=behaviour, timeout=5).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests()]

    def wait_for(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.requests()) >= count, timeout, f"{count} webhook requests")
        return self.requests()


@contextlib.contextmanager
def start_receiver(tmp_path: Path, name: str = "receiver") -> Iterator[Receiver]:
    port = free_port()
    log = tmp_path / f"{name}.jsonl"
    process = subprocess.Popen([sys.executable, str(RECEIVER), str(port), str(log)])
    receiver = Receiver(f"http://127.0.0.1:{port}", log)
    try:
        wait_until(lambda: log.exists() and receiver.control() is None, 10, "the receiver")
        yield receiver
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    with start_receiver(tmp_path) as started:
        yield started


def delivering_client(database_url: str, admin_key: str, **settings: Any) -> TestClient:
    """An app whose dispatcher looks for messages every 50 ms."""
    app = create_app(settings_for(database_url, webhook_poll_seconds=0.05, **settings))
    return TestClient(
        app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {admin_key}"}
    )


def subscribe(client: TestClient, receiver: Receiver, **body: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/webhooks",
        json={"url": f"{receiver.url}/hook", "event_types": EDGE_EVENTS, **body},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.control(secret=created["secret"])
    return created


def deliveries(client: TestClient, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def all_delivered(client: TestClient, webhook_id: str, count: int) -> list[dict[str, Any]]:
    """The delivery log once its `count` messages are recorded as delivered: the
    receiver logs a request before it answers, so the outcome follows its log line."""
    wait_until(
        lambda: [d["status"] for d in deliveries(client, webhook_id)] == ["delivered"] * count,
        10,
        f"{count} messages recorded as delivered",
    )
    return deliveries(client, webhook_id)


def test_a_subscription_is_made_listed_and_deleted_and_its_secret_shown_once(
    client: TestClient,
) -> None:
    response = client.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example/x", "event_types": ["cycle.opened"]},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store"
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert created["status"] == "active" and created["created_by"] == "e2e-admin"
    listed = client.get("/api/v1/webhooks").json()["items"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert (
        "secret" not in listed[0]
        and "secret" not in client.get(f"/api/v1/webhooks/{created['id']}").json()
    )
    assert client.delete(f"/api/v1/webhooks/{created['id']}").status_code == 200
    assert client.get(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert client.delete(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert client.get("/api/v1/webhooks").json()["items"] == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example/x", "pattern"),
        ("https://elsewhere.example/x", "not in WEBHOOK_ALLOWED_HOSTS"),
        ("https:///x", "no host"),
        ("http://hooks.example:99999/x", "not a URL"),
        ("http://xn--llowed-3ve.example/x", "not a URL"),
    ],
)
def test_a_url_that_may_not_receive_webhooks_is_refused(
    database_url: str, admin_key: str, url: str, why: str
) -> None:
    app = create_app(settings_for(database_url, webhook_allowed_hosts="hooks.example"))
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        response = client.post("/api/v1/webhooks", json={"url": url, "event_types": EDGE_EVENTS})
        assert response.status_code == 422, response.text
        assert why in response.text
        assert response.json()["errors"][0]["pointer"] == "/url"
        assert client.get("/api/v1/webhooks").json()["items"] == []
        # The allowed host itself, and nothing else, is accepted.
        allowed = {"url": "https://hooks.example/x", "event_types": EDGE_EVENTS}
        assert client.post("/api/v1/webhooks", json=allowed).status_code == 201


def test_bad_subscriptions_and_ids_get_problems(client: TestClient) -> None:
    for body in (
        {"url": "https://h.example/x", "event_types": []},
        {"url": "https://h.example/x", "event_types": ["edge.exploded"]},
        {"url": "https://h.example/x", "event_types": ["edge.added"], "services": ["no spaces"]},
        {"url": "https://h.example/x", "event_types": ["edge.added"], "secret": "mine"},
        {"url": "https://h.example/x", "event_types": ["edge.added"], "description": "a\u0000"},
    ):
        response = client.post("/api/v1/webhooks", json=body)
        assert response.status_code == 422, (body, response.text)
    assert client.get("/api/v1/webhooks/not-an-id").status_code == 400
    assert client.get("/api/v1/webhooks/wh_" + "0" * 32).status_code == 404
    assert client.get("/api/v1/webhooks/wh_" + "0" * 32 + "/deliveries").status_code == 404
    missing = f"/api/v1/webhooks/wh_{'0' * 32}/deliveries/msg_{'0' * 32}/redeliver"
    assert client.post(missing).status_code == 404
    assert client.get("/api/v1/webhooks").json()["items"] == []


def test_changes_are_delivered_signed_and_in_revision_order(
    database_url: str, admin_key: str, receiver: Receiver
) -> None:
    with delivering_client(database_url, admin_key) as client:
        before = ingest(client, [("web", "api")])  # before the subscription: not sent
        webhook = subscribe(client, receiver)
        assert webhook["read_through_revision"] == before["revision"]
        first = ingest(client, [("api", "db"), ("api", "cache")])
        gone = client.delete("/api/v1/services/web/dependencies/api").json()
        requests = receiver.wait_for(4)
        assert all(r["verified"] for r in requests)
        bodies = [json.loads(r["body"]) for r in requests]
        assert [(b["type"], b["data"]["revision"]) for b in bodies] == [
            ("edge.added", first["revision"]),
            ("graph.changed", first["revision"]),
            ("edge.removed", gone["revision"]),
            ("graph.changed", gone["revision"]),
        ]
        added = bodies[0]["data"]
        assert added["count"] == 2 and not added["truncated"]
        assert {(i["source"], i["target"]) for i in added["items"]} == {
            ("api", "db"),
            ("api", "cache"),
        }
        assert bodies[2]["data"]["items"] == [
            {"source": "web", "target": "api", "discovery_source": "manual"}
        ]
        assert bodies[3]["data"]["counts"] == {"edge.retracted": 1}
        # The log says what happened to each, newest first.
        log = all_delivered(client, webhook["id"], 4)
        assert [d["message_id"] for d in reversed(log)] == [
            r["headers"]["webhook-id"] for r in requests
        ]
        assert all(d["response_status"] == 200 and d["attempts"] == 1 for d in log)


def test_a_service_filter_sends_only_the_changes_that_touch_its_services(
    database_url: str, admin_key: str, receiver: Receiver
) -> None:
    with delivering_client(database_url, admin_key) as client:
        subscribe(client, receiver, services=["payments"], event_types=["edge.added"])
        ingest(client, [("web", "api")])  # nothing of payments: no message
        mixed = ingest(client, [("checkout", "payments"), ("web", "search")])
        requests = receiver.wait_for(1)
        assert len(requests) == 1
        body = json.loads(requests[0]["body"])
        assert body["data"]["revision"] == mixed["revision"]
        assert body["data"]["items"] == [
            {"source": "checkout", "target": "payments", "discovery_source": "manual"}
        ]


def test_a_failing_receiver_is_retried_then_the_subscription_fails_until_redelivery(
    database_url: str, admin_key: str, receiver: Receiver
) -> None:
    # Backoff from 0.1 s, given up 1.8 s after the first attempt.
    with delivering_client(
        database_url,
        admin_key,
        webhook_retry_first_seconds=0.1,
        webhook_retry_longest_seconds=0.4,
        webhook_retry_hours=0.0005,
    ) as client:
        webhook = subscribe(client, receiver, event_types=["edge.added"])
        url = f"/api/v1/webhooks/{webhook['id']}"
        ingest(client, [("z", "a")])
        (delivered,) = receiver.wait_for(1)
        receiver.control(status=500)
        ingest(client, [("a", "b")])
        wait_until(
            lambda: client.get(url).json()["status"] == "failing",
            20,
            "the subscription to be failing",
        )
        failed, _ = deliveries(client, webhook["id"])
        assert failed["status"] == "failed" and failed["response_status"] == 500
        attempts = receiver.requests()[1:]
        assert failed["attempts"] == len(attempts) >= 3
        # Every attempt is the same message, signed anew.
        assert {r["headers"]["webhook-id"] for r in attempts} == {failed["message_id"]}
        assert {r["body"] for r in attempts} == {attempts[0]["body"]}
        # A later change waits behind the failed one: nothing is sent while failing.
        later = ingest(client, [("b", "c")])
        wait_until(lambda: len(deliveries(client, webhook["id"])) == 3, 10, "the later message")
        # Redelivering the earlier, delivered message queues it, but the subscription
        # stays failing while the failed one is not redelivered: nothing goes out.
        receiver.control(status=204)
        earlier = delivered["headers"]["webhook-id"]
        again = client.post(f"{url}/deliveries/{earlier}/redeliver")
        assert again.status_code == 202 and again.json()["status"] == "failing"
        time.sleep(0.5)
        assert len(receiver.requests()) == 1 + len(attempts)
        # The failed one redelivered: active again, and the queued messages go in order.
        redelivered = client.post(f"{url}/deliveries/{failed['message_id']}/redeliver")
        assert redelivered.status_code == 202 and redelivered.json()["status"] == "active"
        received = receiver.wait_for(len(attempts) + 4)[1 + len(attempts) :]
        assert [r["headers"]["webhook-id"] for r in received[:2]] == [
            earlier,
            failed["message_id"],
        ]
        assert json.loads(received[2]["body"])["data"]["revision"] == later["revision"]
        all_delivered(client, webhook["id"], 3)


def test_subscriptions_are_bounded_in_number(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("slo_engine.webhooks.service.MAX_WEBHOOKS", 2)
    body = {"url": "https://h.example/x", "event_types": ["edge.added"]}
    assert [client.post("/api/v1/webhooks", json=body).status_code for _ in range(3)] == [
        201,
        201,
        409,
    ]
    assert len(client.get("/api/v1/webhooks").json()["items"]) == 2


def test_a_redirect_is_not_followed(
    database_url: str, admin_key: str, receiver: Receiver, tmp_path: Path
) -> None:
    with (
        start_receiver(tmp_path, "elsewhere") as elsewhere,
        delivering_client(database_url, admin_key, webhook_retry_first_seconds=30) as client,
    ):
        receiver.control(redirect=f"{elsewhere.url}/hook")
        webhook = subscribe(client, receiver, event_types=["edge.added"])
        ingest(client, [("a", "b")])
        receiver.wait_for(1)
        wait_until(lambda: deliveries(client, webhook["id"])[0]["attempts"] == 1, 10, "the attempt")
        (attempt,) = deliveries(client, webhook["id"])
        assert attempt["status"] == "pending"
        assert attempt["response_status"] == 302
        assert attempt["last_error"] == "redirect not followed"
        assert elsewhere.requests() == []


def docs_recipe(after: str, fence: str) -> str:
    """A recipe of docs/history.md ("Verifying a message"), as written there: the first
    block fenced as `fence` after the text `after`."""
    docs = (Path(__file__).parents[2] / "docs" / "history.md").read_text()
    return docs.split(after, 1)[1].split(f"```{fence}\n", 1)[1].split("```", 1)[0]


def test_a_signature_checks_out_with_the_docs_recipes(
    database_url: str, admin_key: str, receiver: Receiver, tmp_path: Path
) -> None:
    with delivering_client(database_url, admin_key) as client:
        webhook = subscribe(client, receiver, event_types=["edge.added"])
        ingest(client, [("a", "b")])
        (request,) = receiver.wait_for(1)
    headers = request["headers"]
    (tmp_path / "body.json").write_bytes(request["body"].encode())
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", docs_recipe("With `openssl`", "sh")],
        cwd=tmp_path,
        env={
            "PATH": os.environ["PATH"],
            "SECRET": webhook["secret"],
            "WEBHOOK_ID": headers["webhook-id"],
            "WEBHOOK_TIMESTAMP": headers["webhook-timestamp"],
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert headers["webhook-signature"] == "v1," + done.stdout.strip()
    # The standard-library verifier, and that it refuses a body changed by one byte.
    recipe: dict[str, Any] = {}
    exec(docs_recipe("Or by hand", "python"), recipe)
    body = request["body"].encode()
    assert recipe["verify"](webhook["secret"], headers, body)
    assert not recipe["verify"](webhook["secret"], headers, body.replace(b"a", b"c", 1))


def test_edge_events_carry_what_the_entry_says(
    database_url: str, admin_key: str, receiver: Receiver
) -> None:
    """An edge reported by a second source is a second `edge.added` (per source)."""
    with delivering_client(database_url, admin_key) as client:
        subscribe(client, receiver, event_types=["edge.added"])
        ingest(client, [edge("a", "b", criticality="soft")])
        ingest(client, [("a", "b")], source="jaeger")
        bodies = [json.loads(r["body"]) for r in receiver.wait_for(2)]
        assert [b["data"]["items"][0]["discovery_source"] for b in bodies] == [
            "manual",
            "jaeger",
        ]
