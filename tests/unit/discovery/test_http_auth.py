"""The HTTP sources' authentication settings: what is refused at start, and what the
client is given. Errors name the setting, never the secret."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from slo_engine.discovery.http_auth import HttpAuth
from slo_engine.errors import SourceError
from slo_engine.settings import Settings

SECRET = "s3cr3t-value-9d1e"


def refused(**values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings(**values)
    text = str(caught.value)
    assert SECRET not in text
    return text


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (
            {"prometheus_bearer_token": SECRET, "prometheus_bearer_token_file": "/etc/hostname"},
            "PROMETHEUS_BEARER_TOKEN and PROMETHEUS_BEARER_TOKEN_FILE",
        ),
        (
            {"backstage_token": SECRET, "backstage_bearer_token": SECRET},
            "BACKSTAGE_BEARER_TOKEN and BACKSTAGE_TOKEN",
        ),
        ({"jaeger_basic_auth_username": "u"}, "JAEGER_BASIC_AUTH_USERNAME"),
        ({"jaeger_basic_auth_password": SECRET}, "JAEGER_BASIC_AUTH_USERNAME"),
        (
            {
                "jaeger_basic_auth_username": "u",
                "jaeger_basic_auth_password": SECRET,
                "jaeger_bearer_token": SECRET,
            },
            "bearer token or basic auth",
        ),
        (
            {
                "prometheus_bearer_token": SECRET,
                "prometheus_headers": f'{{"Authorization": "{SECRET}"}}',
            },
            "PROMETHEUS_HEADERS sets Authorization",
        ),
        (
            {"prometheus_tenant": "a", "prometheus_headers": '{"x-scope-orgid": "b"}'},
            "PROMETHEUS_TENANT",
        ),
        ({"jaeger_headers": f'{{"Bad Header": "{SECRET}"}}'}, "'Bad Header' is not a valid"),
        ({"jaeger_headers": f'{{"X-Key": "{SECRET}\\n"}}'}, "value of X-Key"),
        ({"jaeger_headers": f'{{"X-Key": 1, "y": "{SECRET}"}}'}, "value of X-Key"),
        ({"jaeger_headers": f"not json {SECRET}"}, "JAEGER_HEADERS is not JSON"),
        ({"jaeger_headers": f'["{SECRET}"]'}, "JAEGER_HEADERS must be a JSON object"),
        ({"kubernetes_client_key_file": "/etc/hostname"}, "KUBERNETES_CLIENT_CERT_FILE"),
        (
            {"kubernetes_bearer_token_file": "/nonexistent/token"},
            "KUBERNETES_BEARER_TOKEN_FILE: cannot read /nonexistent/token",
        ),
        ({"backstage_ca_file": "/nonexistent/ca.crt"}, "BACKSTAGE_CA_FILE: cannot read"),
    ],
)
def test_inconsistent_or_unreadable_settings_are_refused(
    values: dict[str, Any], named: str
) -> None:
    assert named in refused(**values)


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("t")
    monkeypatch.setenv("JAEGER_BEARER_TOKEN_FILE", str(token))
    monkeypatch.setenv("JAEGER_BEARER_TOKEN", SECRET)
    assert "JAEGER_BEARER_TOKEN and JAEGER_BEARER_TOKEN_FILE" in refused()
    monkeypatch.delenv("JAEGER_BEARER_TOKEN")
    monkeypatch.setenv("PROMETHEUS_HEADERS", f'{{"X-Key": "{SECRET}"}}')
    monkeypatch.setenv("BACKSTAGE_TOKEN", SECRET)  # the older name still works
    settings = Settings()
    assert SECRET not in repr(settings)
    assert HttpAuth.from_settings(settings, "prometheus").extra_headers() == {"X-Key": SECRET}
    backstage = HttpAuth.from_settings(settings, "backstage")
    assert backstage.bearer_token is not None
    assert backstage.bearer_token.get_secret_value() == SECRET


def _authorization(auth: HttpAuth) -> str | None:
    flow = auth.auth()
    if flow is None:
        return None
    request = httpx.Request("GET", "https://example.com/")
    next(flow.auth_flow(request))
    value: str | None = request.headers.get("Authorization")
    return value


def test_the_client_is_given_the_header_and_files_are_read_each_time(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    auth = HttpAuth.from_settings(Settings(jaeger_bearer_token_file=str(token)), "jaeger")
    assert _authorization(auth) == "Bearer first"
    token.write_text("second")
    assert _authorization(auth) == "Bearer second"
    token.write_text("")
    with pytest.raises(SourceError, match=r"JAEGER_BEARER_TOKEN_FILE: .* is empty"):
        _authorization(auth)

    password = tmp_path / "password"
    password.write_text(SECRET)
    basic = HttpAuth.from_settings(
        Settings(
            prometheus_basic_auth_username="me", prometheus_basic_auth_password_file=str(password)
        ),
        "prometheus",
    )
    assert _authorization(basic) == "Basic " + base64.b64encode(f"me:{SECRET}".encode()).decode()
    assert _authorization(HttpAuth.from_settings(Settings(), "prometheus")) is None


def test_redact_blanks_every_secret_form(tmp_path: Path) -> None:
    basic = HttpAuth.from_settings(
        Settings(
            prometheus_basic_auth_username="me",
            prometheus_basic_auth_password=SECRET,
            prometheus_tenant="tenant-1",
            prometheus_headers='{"X-Api-Key": "key-123456"}',
        ),
        "prometheus",
    )
    encoded = base64.b64encode(f"me:{SECRET}".encode()).decode()
    text = basic.redact(f"echo: Basic {encoded}; {SECRET}; key-123456; tenant-1")
    assert text == "echo: Basic ***; ***; ***; tenant-1"


def test_tls_files_that_are_not_certificates_are_named(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.crt"
    bogus.write_text("not a certificate")
    auth = HttpAuth.from_settings(Settings(jaeger_ca_file=str(bogus)), "jaeger")
    with pytest.raises(ValueError, match="JAEGER_CA_FILE"):
        auth.verify()
    assert HttpAuth.from_settings(Settings(), "jaeger").verify() is True
