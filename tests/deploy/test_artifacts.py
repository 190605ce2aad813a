"""The deployment files, checked offline: the compose file and the CI workflow against
their published schemas (vendored in check-jsonschema), every YAML file with yamllint.
(No Docker engine here: the image itself is built by the GitHub workflow, and the
Dockerfile is checked there by hadolint; docs/deployment.md says what ran where.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
YAML_FILES = [
    "docker-compose.yml",
    ".github/workflows/ci.yml",
    "deploy/prometheus.yml",
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ("vendor.compose-spec", "docker-compose.yml"),
        ("vendor.github-workflows", ".github/workflows/ci.yml"),
    ],
)
def test_file_matches_its_schema(schema: str, path: str) -> None:
    result = run("check_jsonschema", "--builtin-schema", schema, path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_yaml_is_clean() -> None:
    config = (
        "{extends: default, rules: {line-length: {max: 110}, document-start: disable, "
        "truthy: {check-keys: false}}}"
    )
    result = run("yamllint", "--strict", "-d", config, *YAML_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_with_a_healthcheck_and_no_migration_by_default() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "\nUSER 10001:10001" in text
    assert "\nHEALTHCHECK " in text and "/api/v1/health" in text
    assert 'ENTRYPOINT ["slo-cli"]' in text and 'CMD ["serve"]' in text
    assert text.count("FROM ") == 2  # multi-stage: build tools stay in the first stage
