"""The `kubernetes` source against a recorded Kubernetes API, into real databases.

A test HTTPS server on 127.0.0.1 (its certificate signed by a CA made for this run)
replays v1 ServiceList and apps/v1 DeploymentList/StatefulSetList answers, paged with
`continue`, to whoever presents the bearer token of the token file the settings name.
The source is built from the settings as the app builds it and run through the
discovery use case: the services land in the database as declared services, with
their team and `metadata.kubernetes`, next to what was stored before; no edge is made.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
import typer
from typer.testing import CliRunner

from slo_engine.catalog.repository import CatalogRepository
from slo_engine.discovery import service
from slo_engine.discovery.cli import discover
from slo_engine.discovery.repository import DiscoveryRepository
from slo_engine.discovery.wiring import build_discovery
from slo_engine.errors import SourceError
from slo_engine.graph.model import DependencyReport, Service
from slo_engine.infra.db import Database
from slo_engine.ingestion.schemas import ingestion_request
from slo_engine.ingestion.service import ingest
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings
from tests.tls_fixtures import Pki, make_pki

TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.sa-token.signature"


def _meta(
    name: str,
    namespace: str,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": f"0b6f6f5c-{abs(hash((name, namespace))) % 10**12:012d}",
        "resourceVersion": "482913",
        "creationTimestamp": "2026-11-02T09:14:27Z",
    }
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return meta


def _service(name: str, namespace: str, selector: dict[str, str], **meta: Any) -> dict[str, Any]:
    return {
        "metadata": _meta(name, namespace, **meta),
        "spec": {
            "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}],
            "selector": selector,
            "clusterIP": "10.96.14.21",
            "clusterIPs": ["10.96.14.21"],
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        },
        "status": {"loadBalancer": {}},
    }


def _deployment(name: str, namespace: str, replicas: int, **meta: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {**_meta(name, namespace, **meta), "generation": 3},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": {**labels, "pod-template-hash": "7d9f8b6c5"}},
                "spec": {"containers": [{"name": name, "image": f"registry.example/{name}:1.4.2"}]},
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {"observedGeneration": 3, "replicas": replicas, "readyReplicas": replicas},
    }


def _list(kind: str, api_version: str, items: list[Any], token: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"resourceVersion": "483001"}
    if token:
        metadata["continue"] = token
        metadata["remainingItemCount"] = 1
    return {"kind": kind, "apiVersion": api_version, "metadata": metadata, "items": items}


# (path, continue token or "") -> answer. The services come in two pages.
RECORDED: dict[tuple[str, str], dict[str, Any]] = {
    ("/api/v1/services", ""): _list(
        "ServiceList",
        "v1",
        [
            _service("kubernetes", "default", {}, labels={"component": "apiserver"}),
            _service(
                "checkout",
                "shop",
                {"app": "checkout"},
                labels={"app": "checkout", "app.kubernetes.io/part-of": "storefront"},
                annotations={"slo-engine.io/team": "payments"},
            ),
        ],
        "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDgzMDAxLCJzdGFydCI6InNob3AvY2hlY2tvdXRcdTAwMDAifQ",
    ),
    (
        "/api/v1/services",
        "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDgzMDAxLCJzdGFydCI6InNob3AvY2hlY2tvdXRcdTAwMDAifQ",
    ): _list(
        "ServiceList",
        "v1",
        [
            _service("ratings", "default", {"app": "ratings"}, labels={"team": "reviews"}),
            _service("kube-dns", "kube-system", {"k8s-app": "kube-dns"}),
        ],
        None,
    ),
    ("/apis/apps/v1/deployments", ""): _list(
        "DeploymentList",
        "apps/v1",
        [
            _deployment(
                "checkout",
                "shop",
                3,
                labels={"app": "checkout", "app.kubernetes.io/version": "1.4.2"},
            ),
            _deployment("reviews-v2", "bookinfo", 2, labels={"app": "reviews", "version": "v2"}),
            _deployment("coredns", "kube-system", 2),
        ],
        None,
    ),
    ("/apis/apps/v1/statefulsets", ""): _list(
        "StatefulSetList",
        "apps/v1",
        [
            {
                **_deployment("postgres", "shop", 1),
                "spec": {"replicas": 1, "serviceName": "postgres"},
            }
        ],
        None,
    ),
}


class FakeKubernetesApi(BaseHTTPRequestHandler):
    token = TOKEN
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        FakeKubernetesApi.seen.append(self.path)
        if self.headers.get("Authorization") != f"Bearer {FakeKubernetesApi.token}":
            self._json(401, _status(401, "Unauthorized", "Unauthorized"))
            return
        query = parse_qs(parts.query)
        if query.get("limit") != ["500"]:
            self._json(400, _status(400, "BadRequest", "limit expected"))
            return
        answer = RECORDED.get((parts.path, query.get("continue", [""])[0]))
        if answer is None:
            self._json(404, _status(404, "NotFound", "the server could not find the resource"))
            return
        self._json(200, answer)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("k8s-pki"))


@pytest.fixture
def api_url(pki: Pki) -> Iterator[str]:
    FakeKubernetesApi.token = TOKEN
    FakeKubernetesApi.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeKubernetesApi)
    server.socket = pki.server_context().wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda *args: None  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _settings(api_url: str, pki: Pki, token_file: Path, **more: Any) -> Settings:
    token_file.write_text(TOKEN + "\n")
    return Settings(
        kubernetes_discovery_enabled=True,
        kubernetes_api_url=api_url,
        kubernetes_bearer_token_file=str(token_file),
        kubernetes_ca_file=str(pki.ca_file),
        discovery_retries=0,
        **more,
    )


async def _graph(database: Database) -> tuple[dict[str, Service], list[DependencyReport]]:
    services, reports = await database.consistent_read(
        lambda session: CatalogRepository(session).load_graph()
    )
    return {s.service_id: s for s in services}, reports


def test_kubernetes_services_and_workloads_become_nodes_and_no_edge(
    api_url: str, pki: Pki, tmp_path: Path, database_url: str
) -> None:
    settings = _settings(api_url, pki, tmp_path / "token", database_url=database_url)

    async def run() -> tuple[dict[str, Service], list[DependencyReport], Any]:
        database = Database.from_settings(settings)
        discovery = build_discovery(settings)  # as the app builds it
        cache = LiveGraph()
        try:
            # Stored before: a declared target and an edge by hand.
            async with database.session_scope() as session:
                await ingest(
                    session,
                    cache,
                    ingestion_request(
                        {
                            "source": "manual",
                            "nodes": [
                                {
                                    "service_id": "checkout.shop",
                                    "team": "someone",
                                    "metadata": {"slo_target": 0.995},
                                }
                            ],
                            "edges": [{"source": "checkout.shop", "target": "postgres.shop"}],
                        }
                    ),
                    "test",
                )
            source = discovery.sources["kubernetes"]
            assert source.interval_minutes == 60
            run = await service.run_source(database, cache, source, datetime.now(UTC))
            assert run.result is not None and run.result.edges_upserted == 0
            services, reports = await _graph(database)
            async with database.session_scope() as session:
                status = (await DiscoveryRepository(session).statuses())["kubernetes"]
            return services, reports, status
        finally:
            await discovery.aclose()
            await database.dispose()

    services, reports, status = asyncio.run(run())

    assert set(services) == {
        "kubernetes",
        "ratings",
        "checkout.shop",
        "postgres.shop",
        "reviews-v2.bookinfo",
    }  # kube-system left out
    checkout = services["checkout.shop"]
    assert checkout.team == "payments" and not checkout.discovered
    assert checkout.metadata == {
        "slo_target": 0.995,  # the stored keys stay
        "kubernetes": {
            "namespace": "shop",
            "name": "checkout",
            "kinds": ["Deployment", "Service"],
            "labels": {
                "app": "checkout",
                "app.kubernetes.io/part-of": "storefront",
                "app.kubernetes.io/version": "1.4.2",
            },
            "service_type": "ClusterIP",
            "selector": {"app": "checkout"},
            "replicas": 3,
        },
    }
    assert services["ratings"].team == "reviews"
    assert services["reviews-v2.bookinfo"].metadata["kubernetes"]["kinds"] == ["Deployment"]
    assert services["postgres.shop"].metadata["kubernetes"]["kinds"] == ["StatefulSet"]
    assert not services["postgres.shop"].discovered  # declared now
    assert services["kubernetes"].team is None
    # The only edge is the one stored by hand: the source reports none.
    assert [(r.source, r.target, r.discovery_source) for r in reports] == [
        ("checkout.shop", "postgres.shop", "manual")
    ]
    assert status.consecutive_failures == 0 and status.last_nodes == 5 and status.last_edges == 0
    # Paged with limit and continue, with the token of the file.
    assert any("continue=" in path for path in FakeKubernetesApi.seen)


def test_namespaces_restrict_the_lists(api_url: str, pki: Pki, tmp_path: Path) -> None:
    RECORDED[("/api/v1/namespaces/shop/services", "")] = _list(
        "ServiceList", "v1", [_service("checkout", "shop", {"app": "checkout"})], None
    )
    RECORDED[("/apis/apps/v1/namespaces/shop/deployments", "")] = _list(
        "DeploymentList", "apps/v1", [], None
    )
    RECORDED[("/apis/apps/v1/namespaces/shop/statefulsets", "")] = _list(
        "StatefulSetList", "apps/v1", [], None
    )
    settings = _settings(api_url, pki, tmp_path / "token", kubernetes_namespaces="shop")

    async def run() -> list[str]:
        discovery = build_discovery(settings, only="kubernetes")
        try:
            found = await discovery.sources["kubernetes"].discover()
        finally:
            await discovery.aclose()
        return [n["service_id"] for n in found.request.nodes]

    assert asyncio.run(run()) == ["checkout.shop"]
    assert all("/namespaces/shop/" in path for path in FakeKubernetesApi.seen)


def test_a_wrong_token_or_an_untrusted_api_fails_without_the_token(
    api_url: str, pki: Pki, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    settings = _settings(api_url, pki, token_file)
    token_file.write_text("rotated-but-not-yet-accepted-token")

    async def run(chosen: Settings) -> None:
        discovery = build_discovery(chosen, only="kubernetes")
        try:
            await discovery.sources["kubernetes"].discover()
        finally:
            await discovery.aclose()

    with pytest.raises(SourceError) as caught:
        asyncio.run(run(settings))
    assert "HTTP 401" in str(caught.value)
    assert "rotated-but-not-yet-accepted-token" not in str(caught.value)

    # The token is read again on the next request: the rotation is picked up.
    FakeKubernetesApi.token = "rotated-but-not-yet-accepted-token"
    asyncio.run(run(settings))

    untrusted = settings.model_copy(update={"kubernetes_ca_file": str(pki.other_ca_file)})
    with pytest.raises(SourceError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(run(untrusted))


def test_slo_cli_discover_kubernetes_dry_run(
    api_url: str,
    pki: Pki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sqlite_template: Path,
) -> None:
    # `slo-cli discover` is discovery/cli.py's command; driven here on its own.
    app = typer.Typer()
    app.command()(discover)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{sqlite_template}")  # not written
    monkeypatch.setenv("KUBERNETES_BEARER_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("KUBERNETES_CA_FILE", str(pki.ca_file))
    monkeypatch.setenv("DISCOVERY_RETRIES", "0")

    runner = CliRunner()
    dry = runner.invoke(app, ["kubernetes", "--kubernetes-url", api_url, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.stdout)
    assert [n["service_id"] for n in planned["nodes"]] == [
        "checkout.shop",
        "kubernetes",
        "postgres.shop",
        "ratings",
        "reviews-v2.bookinfo",
    ]
    assert "edges" not in planned or planned["edges"] == []

    monkeypatch.setenv("KUBERNETES_CA_FILE", str(pki.other_ca_file))
    failed = runner.invoke(app, ["kubernetes", "--kubernetes-url", api_url, "--dry-run"])
    assert failed.exit_code == 1 and TOKEN not in failed.output
    assert "CERTIFICATE_VERIFY_FAILED" in failed.output

    monkeypatch.setenv("KUBERNETES_BEARER_TOKEN", TOKEN)  # and the file: refused
    refused = runner.invoke(app, ["kubernetes", "--kubernetes-url", api_url, "--dry-run"])
    assert refused.exit_code == 2 and TOKEN not in refused.output
    assert "KUBERNETES_BEARER_TOKEN and KUBERNETES_BEARER_TOKEN_FILE" in refused.output
