"""The `kubernetes` source's pure part (listed objects in, the ingest request out) and
where it finds the API and its credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slo_engine.discovery.sources.kubernetes import (
    KubernetesOptions,
    build_kubernetes_graph,
    kubernetes_connection,
)
from slo_engine.discovery.wiring import build_discovery
from slo_engine.settings import Settings


def obj(name: Any, namespace: str | None = None, **more: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, **more.pop("meta", {})}
    if namespace is not None:
        meta["namespace"] = namespace
    return {"metadata": meta, **more}


OPTIONS = KubernetesOptions(exclude_namespaces=("kube-system",))


def test_names_like_the_mesh_and_merges_a_service_with_its_workload() -> None:
    found = build_kubernetes_graph(
        [
            ("Service", obj("reviews", "bookinfo", spec={"type": "ClusterIP"})),
            ("Deployment", obj("reviews-v2", "bookinfo", spec={"replicas": 2})),
            ("Service", obj("ratings", "default", spec={"selector": {"app": "ratings"}})),
            ("Deployment", obj("ratings", None, spec={"replicas": 1})),
            ("Service", obj("kube-dns", "kube-system")),
        ],
        OPTIONS,
    )
    nodes = {n["service_id"]: n for n in found.request.nodes}
    assert list(nodes) == ["ratings", "reviews-v2.bookinfo", "reviews.bookinfo"]
    assert nodes["ratings"]["metadata"] == {
        "kubernetes": {
            "namespace": "default",
            "name": "ratings",
            "kinds": ["Deployment", "Service"],
            "selector": {"app": "ratings"},
            "replicas": 1,
        }
    }
    assert found.request.source == "kubernetes"
    assert found.request.edges == [] and found.request.mode == "merge"
    assert found.metadata_key == "kubernetes"


def test_team_from_the_annotation_then_the_label_and_the_workload_wins() -> None:
    annotated = {"annotations": {"slo-engine.io/team": " payments "}, "labels": {"team": "x"}}
    found = build_kubernetes_graph(
        [
            ("Deployment", obj("checkout", "shop", meta={"labels": {"team": "checkout-team"}})),
            ("Service", obj("checkout", "shop", meta={"labels": {"team": "svc-team"}})),
            ("Service", obj("cart", "shop", meta=annotated)),
            ("StatefulSet", obj("db", "shop", meta={"labels": {"owner": "dba"}})),
        ],
        KubernetesOptions(),
    )
    nodes = {n["service_id"]: n for n in found.request.nodes}
    assert nodes["checkout.shop"]["team"] == "checkout-team"
    assert nodes["cart.shop"]["team"] == "payments"
    assert "team" not in nodes["db.shop"]  # none given: a stored team is kept
    labels = (nodes["checkout.shop"].get("metadata") or {})["kubernetes"]["labels"]
    assert labels == {"team": "checkout-team"}

    custom = KubernetesOptions(team_annotation="example.com/owner", team_label="owner")
    found = build_kubernetes_graph(
        [("StatefulSet", obj("db", "shop", meta={"labels": {"owner": "dba"}}))], custom
    )
    assert found.request.nodes[0].get("team") == "dba"


def test_objects_that_cannot_be_named_are_skipped_with_a_warning() -> None:
    found = build_kubernetes_graph(
        [
            ("Service", {"metadata": "nope"}),
            ("Service", obj(42, "shop")),
            ("Deployment", obj("///", "default")),
            ("Service", obj("ok", "shop", meta={"labels": ["not", "a", "map"]})),
        ],
        KubernetesOptions(),
    )
    assert [n["service_id"] for n in found.request.nodes] == ["ok.shop"]
    assert len(found.warnings) == 3


def test_an_empty_cluster_is_a_run_with_a_warning() -> None:
    found = build_kubernetes_graph([], KubernetesOptions())
    assert found.request.nodes == [] and found.warnings


def test_in_cluster_defaults(tmp_path: Path) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("sa-token")
    (account / "ca.crt").write_text("-----BEGIN CERTIFICATE-----")
    environ = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}

    found = kubernetes_connection(Settings(), environ, account)
    assert found is not None
    url, auth = found
    assert url == "https://10.96.0.1:443"
    assert auth.bearer_token_file == account / "token" and auth.ca_file == account / "ca.crt"

    ipv6 = kubernetes_connection(Settings(), {"KUBERNETES_SERVICE_HOST": "fd00::1"}, account)
    assert ipv6 is not None and ipv6[0] == "https://[fd00::1]:443"
    assert kubernetes_connection(Settings(), {}, account) is None

    # Configured auth settings win over the service account's.
    chosen = Settings(kubernetes_basic_auth_username="u", kubernetes_basic_auth_password="p")
    found = kubernetes_connection(chosen, environ, account)
    assert found is not None
    assert found[1].bearer_token_file is None and found[1].basic_username == "u"
    assert found[1].ca_file == account / "ca.crt"

    # An address given: its own settings only, never the pod's token.
    found = kubernetes_connection(
        Settings(kubernetes_api_url="https://k8s.example:6443/"), environ, account
    )
    assert found is not None and found[0] == "https://k8s.example:6443"
    assert not found[1].has_credentials and found[1].ca_file is None


def test_enabled_outside_a_cluster_without_an_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ValueError, match="KUBERNETES_API_URL"):
        build_discovery(Settings(kubernetes_discovery_enabled=True))
    assert "kubernetes" not in build_discovery(Settings(), only="kubernetes").sources
