"""The Helm chart rendered (with tests/deploy/helm_subset.py) for the default values and
with every option on, each manifest validated against the Kubernetes schema of its kind
(kubernetes-validate, offline, strict)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.helm_subset import render

CHART = Path(__file__).resolve().parents[2] / "helm" / "slo-engine"
KUBERNETES = "1.30.0"


def manifests(overrides: dict[str, Any]) -> list[dict[str, Any]]:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for dotted, value in overrides.items():
        target = values
        *parents, last = dotted.split(".")
        for part in parents:
            target = target[part]
        target[last] = value
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    context = {
        "Values": values,
        "Release": {"Name": "slo", "Namespace": "observability"},
        "Chart": {
            "Name": chart["name"],
            "Version": chart["version"],
            "AppVersion": chart["appVersion"],
        },
    }
    found = []
    for template in sorted((CHART / "templates").glob("*.yaml")):
        rendered = render(template.read_text(), copy.deepcopy(context))
        found += [doc for doc in yaml.safe_load_all(rendered) if doc]
    return found


ALL_ON = {
    "autoscaling.enabled": True,
    "serviceMonitor.enabled": True,
    "networkPolicy.enabled": True,
}


@pytest.mark.parametrize("overrides", [{}, ALL_ON], ids=["defaults", "all-options"])
def test_every_manifest_is_valid_kubernetes(overrides: dict[str, Any]) -> None:
    documents = manifests(overrides)
    kinds = sorted(doc["kind"] for doc in documents)
    assert {"ConfigMap", "Deployment", "Job", "Secret", "Service"} <= set(kinds)
    for document in documents:
        if document["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a CRD: no schema in kubernetes-validate
        kubernetes_validate.validate(document, KUBERNETES, strict=True)
    if overrides:
        assert {"HorizontalPodAutoscaler", "ServiceMonitor", "NetworkPolicy"} <= set(kinds)


def test_probes_hook_and_hardening() -> None:
    documents = {(d["kind"], d["metadata"]["name"]): d for d in manifests({})}
    pod = documents[("Deployment", "slo")]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/v1/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/health/ready"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["limits"]["memory"] == "1Gi"
    job = documents[("Job", "slo-migrate")]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    assert documents[("PodDisruptionBudget", "slo")]["spec"]["minAvailable"] == 1
    config = documents[("ConfigMap", "slo-config")]["data"]
    assert all(isinstance(v, str) for v in config.values())  # env values must be strings


def test_the_validation_would_catch_a_broken_manifest() -> None:
    (deployment,) = [d for d in manifests({"replicaCount": "two"}) if d["kind"] == "Deployment"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)
