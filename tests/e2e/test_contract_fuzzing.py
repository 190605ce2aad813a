"""Contract fuzzing: Schemathesis against a real `slo-cli serve`, on every engine, with
an API key of each scope.

The server's own OpenAPI document is the contract. Schemathesis (`st run`) runs every
check it has (`--checks all`: no server errors; statuses, content types, headers and
bodies as documented; schema-valid data accepted and schema-invalid data refused;
authentication not ignored; a 405's Allow listing the path's methods; ...) in all its
phases: examples, coverage, fuzzing, and the stateful phase, which chains calls along
the links it infers from the document (ids and names from one answer into the operations
that take them). The database holds a real topology first (the Online Boutique, and a
traced call that closes a cycle), so calls reach real services and a real open alert,
not only 404s.

The seed is fixed and the example count bounded, so a run is reproducible and fits CI.
A failure shows Schemathesis's report: each failing case, the check that failed, and a
curl command that reproduces it (keys are printed as [Filtered]: use one of your own).

What the OpenAPI document declares and a blind fuzzer cannot know (a cursor it made up is
a 400, a key's expiry in the past is a 422) is declared per operation in
schemathesis.toml; the hooks in schemathesis_hooks.py keep the fuzzer from revoking the
key it authenticates with. Nothing else is relaxed: the expected result is no failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from slo_engine.access.keys import Scope
from tests.e2e.conftest import INGEST, make_key
from tests.e2e.schemathesis_hooks import DECOY_KEY_NAME, PROTECTED_PREFIX
from tests.local_servers import served_env, start_api

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "schemathesis.toml"
HOOKS = HERE / "schemathesis_hooks.py"

# Fixed: the same cases on every run, so a failure in CI reproduces locally.
SEED = 20251202
# Per operation and phase. With it, each run (one engine, one scope) takes 15-22 s on
# two cores, and the whole file (six runs) about two minutes.
MAX_EXAMPLES = 15
# The explorer (HTML) and /metrics (Prometheus text) are not the JSON API.
EXCLUDED_PATHS = "^/ui|^/metrics"
RUN_TIMEOUT_SECONDS = 240

SCOPES = (Scope.READ, Scope.WRITE, Scope.ADMIN)
# Ingests the topology before the run (the write scope is enough; it is protected too).
SEEDING_KEY_NAME = f"{PROTECTED_PREFIX}seeding"


def _edge(source: str, target: str, criticality: str, protocol: str = "grpc") -> dict[str, Any]:
    attributes = {"communication_mode": "sync", "criticality": criticality, "protocol": protocol}
    return {"source": source, "target": target, "attributes": attributes}


# Google's Online Boutique: 12 services and the 16 calls between them, as declared.
BOUTIQUE: dict[str, Any] = {
    "source": "manual",
    "nodes": [
        {"service_id": "frontend", "team": "storefront", "criticality": "critical"},
        {"service_id": "checkoutservice", "team": "checkout", "criticality": "critical"},
        {"service_id": "paymentservice", "team": "payments", "criticality": "critical"},
        {"service_id": "cartservice", "team": "checkout", "criticality": "high"},
        {"service_id": "productcatalogservice", "team": "catalog", "criticality": "high"},
        {"service_id": "currencyservice", "team": "payments", "criticality": "high"},
        {"service_id": "shippingservice", "team": "fulfilment", "criticality": "high"},
        {"service_id": "emailservice", "team": "fulfilment", "criticality": "medium"},
        {"service_id": "recommendationservice", "team": "catalog", "criticality": "low"},
        {"service_id": "adservice", "team": "ads", "criticality": "low"},
        {
            "service_id": "redis-cart",
            "team": "checkout",
            "criticality": "high",
            "metadata": {"kind": "datastore"},
        },
        {"service_id": "loadgenerator", "team": "platform", "criticality": "low"},
    ],
    "edges": [
        _edge("loadgenerator", "frontend", "hard", "http"),
        _edge("frontend", "productcatalogservice", "hard"),
        _edge("frontend", "currencyservice", "hard"),
        _edge("frontend", "cartservice", "hard"),
        _edge("frontend", "recommendationservice", "soft"),
        _edge("frontend", "shippingservice", "hard"),
        _edge("frontend", "checkoutservice", "hard"),
        _edge("frontend", "adservice", "soft"),
        _edge("checkoutservice", "productcatalogservice", "hard"),
        _edge("checkoutservice", "shippingservice", "hard"),
        _edge("checkoutservice", "paymentservice", "hard"),
        _edge("checkoutservice", "emailservice", "soft"),
        _edge("checkoutservice", "currencyservice", "hard"),
        _edge("checkoutservice", "cartservice", "hard"),
        _edge("recommendationservice", "productcatalogservice", "hard"),
        _edge("cartservice", "redis-cart", "hard", "redis"),
    ],
}
# What tracing saw and nobody declared: payment calls the frontend back, which closes a
# cycle, so there is an open alert to read and PATCH.
TRACED_CALLBACK: dict[str, Any] = {
    "source": "otel_service_graph",
    "edges": [
        {
            "source": "paymentservice",
            "target": "frontend",
            "attributes": {"request_rate": 3.5, "error_rate": 0.01},
        }
    ],
}


def schemathesis_cli() -> Path:
    """`st`, installed next to this Python with the dev extras (like Hypothesis)."""
    st = Path(sys.executable).with_name("st")
    assert st.exists(), f"no {st}: install the dev extras (pip install -e '.[dev]')"
    return st


def seed(url: str, key: str) -> None:
    """The Online Boutique and a traced call that closes a cycle (one open alert)."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        declared = client.post(INGEST, json=BOUTIQUE)
        assert declared.status_code == 200, declared.text
        assert declared.json()["nodes_upserted"] == 12
        traced = client.post(INGEST, json=TRACED_CALLBACK)
        assert traced.status_code == 200, traced.text
        assert len(traced.json()["circular_dependencies_detected"]) == 1


@pytest.fixture
def fuzz_target(database_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[Scope, str]]]:
    """A real server on a seeded database, and an API key of each scope for the fuzzer
    (named PROTECTED_PREFIX + scope), plus the decoy the hooks revoke instead of them."""
    keys = {
        scope: make_key(database_url, f"{PROTECTED_PREFIX}{scope.value}", scope) for scope in SCOPES
    }
    seeding_key = make_key(database_url, SEEDING_KEY_NAME, Scope.WRITE)
    make_key(database_url, DECOY_KEY_NAME, Scope.READ)
    env = served_env(database_url)
    process, url = start_api(env, tmp_path / "server.log")
    try:
        seed(url, seeding_key)
        yield url, keys
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("scope", SCOPES, ids=[scope.value for scope in SCOPES])
def test_the_api_keeps_its_openapi_contract(
    fuzz_target: tuple[str, dict[Scope, str]], scope: Scope, tmp_path: Path
) -> None:
    st = schemathesis_cli()
    url, keys = fuzz_target
    key = keys[scope]
    report = tmp_path / "schemathesis-junit.xml"
    command = [
        str(st),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        # Every phase, the stateful one (links between operations) included.
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        # One worker: the operations run in one order, so the database each one sees is
        # the same on every run too.
        "--workers",
        "1",
        "--exclude-path-regex",
        EXCLUDED_PATHS,
        "--header",
        f"Authorization: Bearer {key}",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        # A request the server does not answer within this is a failure, not a hang.
        "--request-timeout",
        "10",
        "--no-color",
    ]
    started = time.monotonic()
    try:
        result = subprocess.run(
            command,
            # Its working directory is the test's own: nothing is written into the tree.
            cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(
            f"st run with a {scope.value} key did not finish in {RUN_TIMEOUT_SECONDS} s:\n"
            f"{_text(timeout.stdout)}\n{_text(timeout.stderr)}"
        )
    elapsed = time.monotonic() - started
    output = f"{result.stdout}\n{result.stderr}"
    # Schemathesis's whole report, shown under "Captured stdout call" when the test fails:
    # each failing case with the check that failed and a curl command reproducing it.
    print(f"st run with a {scope.value} key: exit {result.returncode} in {elapsed:.1f} s")
    print(output)
    found = [line.strip() for line in output.splitlines() if re.match(r"\s*❌ ST\d+", line)]
    assert result.returncode == 0, (
        f"Schemathesis found contract violations with a {scope.value} key "
        f"({'; '.join(found) or 'see its output'}); its report is in the captured stdout "
        f"below, and in {report}"
    )

    # Not a vacuous pass: every operation of the document was tested, none failed.
    suite = ElementTree.parse(report).getroot()
    tested = {case.get("name") for case in suite.iter("testcase")}
    assert operations(url) <= tested, sorted(operations(url) - tested)
    assert suite.get("failures") == "0" and suite.get("errors") == "0", output

    # The fuzzer's keys outlived the run (the hooks kept it from revoking them), so
    # everything after a DELETE was tested authenticated, not answered 401.
    listed = httpx.get(
        f"{url}/api/v1/api-keys",
        headers={"Authorization": f"Bearer {keys[Scope.ADMIN]}"},
        timeout=10,
    )
    assert listed.status_code == 200, listed.text
    revoked = {item["name"] for item in listed.json()["items"] if item["revoked_at"]}
    assert not {name for name in revoked if name.startswith(PROTECTED_PREFIX)}, revoked


def operations(url: str) -> set[str]:
    """`METHOD /path` of every operation the OpenAPI document lists and the run covers."""
    document = httpx.get(f"{url}/openapi.json", timeout=10).json()
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        if not re.search(EXCLUDED_PATHS, path)
        for method in item
        if method in methods
    }


def _text(stream: str | bytes | None) -> str:
    if isinstance(stream, bytes):
        return stream.decode(errors="replace")
    return stream or ""
