"""Configuration from the environment and a `.env` file (names as in design.md).

Read once, in `create_app` or the CLI, never at import time.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from slo_engine.rate_policy import InvalidRateError, parse_rate
from slo_engine.sign_in_policy import (
    ACCEPTABLE_ALGORITHMS,
    frame_ancestors,
    oidc_scope,
    parse_networks,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./slo_engine.db"

# The discovery sources that talk HTTP, by setting prefix: each has the same
# authentication settings (`<prefix>_BEARER_TOKEN`, ...; discovery/http_auth.py).
HTTP_SOURCE_PREFIXES = ("prometheus", "jaeger", "backstage", "kubernetes")
# An HTTP header name is an RFC 9110 token.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")


def parse_http_headers(raw: str, setting: str) -> dict[str, str]:
    """`<prefix>_HEADERS`: a JSON object of header names to text values. Errors name the
    setting and the header, never a value (header values are often credentials)."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise ValueError(f"{setting} is not JSON (expected an object of headers)") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"{setting} must be a JSON object of header names to values")
    headers: dict[str, str] = {}
    for name, value in parsed.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"{setting}: {name[:64]!r} is not a valid header name")
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise ValueError(
                f"{setting}: the value of {name} must be text without control characters"
            )
        if name.lower() in {k.lower() for k in headers}:
            raise ValueError(f"{setting}: header {name} is given twice")
        headers[name] = value
    return headers


def _readable(path: str, setting: str) -> None:
    try:
        with open(path, "rb") as file:
            file.read(1)
    except OSError as error:
        raise ValueError(f"{setting}: cannot read {path} ({error.strerror or error})") from None


class Settings(BaseSettings):
    # hide_input_in_errors: a refused setting is named, its value never echoed (tokens,
    # passwords, headers, database URLs with their password).
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, hide_input_in_errors=True
    )

    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_statement_timeout_seconds: float = Field(default=30.0, gt=0)
    # Connecting, and waiting for a pooled connection, are given up after this (503).
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # The live graph's periodic check against the database, besides PostgreSQL's
    # notifications and SQLite's local check: the most a lost notification delays a
    # change reaching this process (live/change_feed.py).
    live_graph_backstop_seconds: float = Field(default=1.0, gt=0, le=60)
    # How long a read with `min_revision` waits for this process to apply that revision
    # before a 503 (read-your-writes across replicas).
    min_revision_wait_seconds: float = Field(default=5.0, gt=0, le=60)
    redis_url: str | None = None
    redis_cache_ttl: int = Field(default=300, ge=1)
    # Subgraph answer cache: off, memory (per process) or redis (shared; needs REDIS_URL).
    query_cache: Literal["off", "memory", "redis"] = "memory"
    query_cache_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_workers: int = Field(default=1, ge=1)
    max_request_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # The request line and headers together (431 beyond; `slo-cli serve` only).
    max_request_header_bytes: int = Field(default=32 * 1024, ge=1024)
    # Every /api/v1 endpoint but health needs an API key. Off only for local experiments
    # and the auth-overhead benchmark; clients are then rate-limited by address.
    auth_enabled: bool = True
    rate_limit_ingestion: str = "10/minute"
    rate_limit_query: str = "60/minute"
    # Failed authentications per client address, and per stored key presented with a
    # wrong secret (429 beyond; access/failures.py).
    rate_limit_auth_failures: str = "20/minute"
    # People sign in (docs/access.md): bearer tokens from an OpenID Connect issuer,
    # checked with its published keys (access/oidc.py); AUDIENCE is required with it.
    auth_oidc_issuer: str | None = None
    auth_oidc_audience: str | None = None
    auth_oidc_jwks_url: str | None = None  # None: the issuer's discovery document's
    auth_oidc_algorithms: str = "RS256,ES256"
    auth_oidc_subject_claim: str = "sub"
    auth_oidc_groups_claim: str = "groups"
    auth_oidc_jwks_cache_seconds: float = Field(default=300.0, gt=0)
    # A key id not among the keys kept makes at most one fetch per this many seconds.
    auth_oidc_jwks_refresh_floor_seconds: float = Field(default=10.0, ge=0.1, le=3600)
    auth_oidc_leeway_seconds: float = Field(default=30.0, ge=0, le=300)
    auth_oidc_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # ... or an authenticating proxy naming the person in a header, honoured only from
    # these addresses or networks (access/proxy.py).
    auth_proxy_header: str | None = None
    auth_proxy_groups_header: str | None = None
    auth_trusted_proxies: str = ""
    # Signed-in people's scopes from their groups (comma-separated; `*`: everyone).
    auth_admin_groups: str = ""
    auth_write_groups: str = ""
    auth_read_groups: str = "*"
    # Bound on each Redis step of the rate limiter, and the pause before trying Redis
    # again after it failed (the in-process buckets answer meanwhile).
    redis_timeout_seconds: float = Field(default=0.25, gt=0)
    redis_retry_interval_seconds: float = Field(default=5.0, gt=0)
    # Discovery (docs/discovery.md). A source runs when it is configured.
    otel_graph_ingest_interval_minutes: int = Field(default=15, ge=1)
    service_mesh_enabled: bool = False  # Istio metrics in the same Prometheus
    service_mesh_ingest_interval_minutes: int = Field(default=15, ge=1)
    jaeger_url: str | None = None
    jaeger_ingest_interval_minutes: int = Field(default=15, ge=1)
    backstage_url: str | None = None
    backstage_token: SecretStr | None = None  # the same as BACKSTAGE_BEARER_TOKEN
    backstage_catalog_path: str | None = None  # catalog-info.yaml files or a directory
    backstage_ingest_interval_minutes: int = Field(default=60, ge=1)
    # Kubernetes (services and workloads as nodes, no edges). The API's address defaults
    # to the in-cluster one (KUBERNETES_SERVICE_HOST/PORT), and its credentials to the
    # pod's service account token and CA when KUBERNETES_* auth settings give none.
    kubernetes_discovery_enabled: bool = False
    kubernetes_api_url: str | None = None
    kubernetes_namespaces: str = ""  # comma-separated; empty: all namespaces
    kubernetes_exclude_namespaces: str = "kube-system,kube-public,kube-node-lease"
    kubernetes_team_annotation: str = "slo-engine.io/team"
    kubernetes_team_label: str = "team"  # read when the annotation is absent
    kubernetes_ingest_interval_minutes: int = Field(default=60, ge=1)
    # Authentication of the HTTP sources, per source (docs/discovery.md "Authentication"):
    # a bearer token or a file holding one (re-read on every request), basic auth, extra
    # headers (a JSON object), a CA bundle and a client certificate for TLS.
    # PROMETHEUS_TENANT is sent as X-Scope-OrgID (Mimir, Cortex, Loki-style tenancy).
    prometheus_tenant: str | None = None
    prometheus_bearer_token: SecretStr | None = None
    prometheus_bearer_token_file: str | None = None
    prometheus_basic_auth_username: str | None = None
    prometheus_basic_auth_password: SecretStr | None = None
    prometheus_basic_auth_password_file: str | None = None
    prometheus_headers: SecretStr | None = None
    prometheus_ca_file: str | None = None
    prometheus_client_cert_file: str | None = None
    prometheus_client_key_file: str | None = None
    jaeger_bearer_token: SecretStr | None = None
    jaeger_bearer_token_file: str | None = None
    jaeger_basic_auth_username: str | None = None
    jaeger_basic_auth_password: SecretStr | None = None
    jaeger_basic_auth_password_file: str | None = None
    jaeger_headers: SecretStr | None = None
    jaeger_ca_file: str | None = None
    jaeger_client_cert_file: str | None = None
    jaeger_client_key_file: str | None = None
    backstage_bearer_token: SecretStr | None = None
    backstage_bearer_token_file: str | None = None
    backstage_basic_auth_username: str | None = None
    backstage_basic_auth_password: SecretStr | None = None
    backstage_basic_auth_password_file: str | None = None
    backstage_headers: SecretStr | None = None
    backstage_ca_file: str | None = None
    backstage_client_cert_file: str | None = None
    backstage_client_key_file: str | None = None
    kubernetes_bearer_token: SecretStr | None = None
    kubernetes_bearer_token_file: str | None = None
    kubernetes_basic_auth_username: str | None = None
    kubernetes_basic_auth_password: SecretStr | None = None
    kubernetes_basic_auth_password_file: str | None = None
    kubernetes_headers: SecretStr | None = None
    kubernetes_ca_file: str | None = None
    kubernetes_client_cert_file: str | None = None
    kubernetes_client_key_file: str | None = None
    discovery_max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    discovery_retries: int = Field(default=3, ge=0, le=10)
    # Aliases (docs/identity.md#aliases): a YAML or JSON file of exact aliases and rules
    # (a ConfigMap, say), checked at start and synced every ALIASES_FILE_INTERVAL_SECONDS;
    # its aliases replace the file's earlier ones, those added through the API stay.
    aliases_file: str | None = None
    aliases_file_interval_seconds: int = Field(default=60, ge=10, le=86_400)
    # Jobs: the scheduler runs in every API process; each run happens once per interval
    # cluster-wide.
    scheduler_enabled: bool = True
    stale_edge_threshold_hours: int = Field(default=168, ge=1)
    stale_check_interval_minutes: int = Field(default=60, ge=1)
    cycle_scan_interval_minutes: int = Field(default=60, ge=1)
    # The graph's history (docs/history.md): how long changes are kept, how often the
    # pruning job runs, and how many past graphs ("as of" reads) a process keeps built.
    history_retention_days: int = Field(default=90, ge=1, le=36_500)
    history_prune_interval_minutes: int = Field(default=60, ge=1)
    history_snapshots_kept: int = Field(default=2, ge=1, le=32)
    # Webhooks (docs/history.md). The hosts a subscription's URL may name
    # (comma-separated; `*.example.com` for its subdomains; empty: any host), and the
    # bounds of one delivery attempt: its whole time and the response bytes read.
    webhook_allowed_hosts: str = ""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_max_response_bytes: int = Field(default=64 * 1024, ge=0)
    # Retries: exponential backoff with jitter from the first step up to the longest,
    # for this many hours after the first attempt; then the subscription is failing.
    webhook_retry_first_seconds: float = Field(default=10.0, gt=0, le=86_400)
    webhook_retry_longest_seconds: float = Field(default=3600.0, gt=0, le=86_400)
    webhook_retry_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    # How often each process looks for messages to deliver; false: this process
    # delivers none (another replica does).
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    webhook_delivery_enabled: bool = True
    # Availability ceiling: the target of a service whose metadata gives no slo_target.
    default_slo_target: float = Field(default=0.999, gt=0.0, le=1.0)
    explorer_enabled: bool = True  # the web page at /ui/
    # Origins that may show the explorer in a frame (a Backstage page, a portal), e.g.
    # "https://backstage.example.com"; empty: none may (docs/explorer.md "Embedding").
    explorer_frame_ancestors: str = ""
    # Backstage's address: the explorer links each service to its catalog entity there.
    explorer_backstage_url: str | None = None
    # The explorer's own OpenID Connect sign-in (authorization code with PKCE, in the
    # browser): the client id registered at AUTH_OIDC_ISSUER for the page, a public
    # client whose redirect URI is <this service>/ui/ (docs/sign-in.md "The explorer").
    explorer_oidc_client_id: str | None = None
    explorer_oidc_scope: str = "openid profile email"
    # Which token the page sends: the access token, or the ID token where the issuer's
    # access tokens are not meant for this service (their `aud` is not
    # AUTH_OIDC_AUDIENCE; an ID token's is the client id).
    explorer_oidc_token: Literal["access_token", "id_token"] = "access_token"
    # Whole-graph DOT/Mermaid/Cytoscape exports streamed at once per process: each holds
    # a copy of the graph's keys and seconds of CPU (docs/exports.md); more get a 503.
    export_max_streams: int = Field(default=2, ge=1)
    # /docs (Swagger UI) and /redoc (ReDoc), served from the files of the installed
    # fastapi-offline package, never a CDN (api_docs/routes.py); false serves neither
    # (the OpenAPI document stays at /openapi.json).
    api_docs_enabled: bool = True
    log_level: str = "INFO"
    # None: JSON lines unless stderr is a terminal; true/false forces it.
    log_json: bool | None = None
    metrics_enabled: bool = True  # GET /metrics
    # After SIGTERM: readiness answers 503 and requests are still served for this long.
    shutdown_drain_seconds: float = Field(default=5.0, ge=0)
    otel_exporter_otlp_endpoint: str | None = None
    otel_trace_sample_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    prometheus_url: str | None = None
    prometheus_timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("auth_oidc_algorithms")
    @classmethod
    def _acceptable_algorithms(cls, value: str) -> str:
        named = [part.strip() for part in value.split(",") if part.strip()]
        refused = [name for name in named if name not in ACCEPTABLE_ALGORITHMS]
        if not named or refused:
            raise ValueError(
                f"{refused or value!r}: choose among {', '.join(sorted(ACCEPTABLE_ALGORITHMS))} "
                "(asymmetric signatures only)"
            )
        return ",".join(named)

    @field_validator("explorer_frame_ancestors")
    @classmethod
    def _frame_ancestors(cls, value: str) -> str:
        frame_ancestors(value)  # a bad origin raises ValueError
        return value

    @field_validator("explorer_oidc_scope")
    @classmethod
    def _oidc_scope(cls, value: str) -> str:
        return oidc_scope(value)

    @field_validator("explorer_backstage_url")
    @classmethod
    def _backstage_url(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"https?://[^\s\"'<>]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/") if value else None

    @field_validator("auth_trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)  # a bad address or network raises ValueError
        return value

    @model_validator(mode="after")
    def _sign_in_complete(self) -> Settings:
        if self.auth_oidc_issuer and not self.auth_oidc_audience:
            raise ValueError(
                "AUTH_OIDC_ISSUER needs AUTH_OIDC_AUDIENCE: a token meant for another "
                "service must not be accepted here"
            )
        if self.auth_oidc_issuer and not self.auth_oidc_issuer.startswith(("https://", "http://")):
            raise ValueError("AUTH_OIDC_ISSUER must be an http(s) URL")
        if self.explorer_oidc_client_id and not self.auth_oidc_issuer:
            raise ValueError(
                "EXPLORER_OIDC_CLIENT_ID needs AUTH_OIDC_ISSUER: the page signs in there"
            )
        if self.auth_proxy_header and not self.auth_trusted_proxies.strip():
            raise ValueError(
                "AUTH_PROXY_HEADER needs AUTH_TRUSTED_PROXIES: from any other address the "
                "header could be set by anyone"
            )
        return self

    @model_validator(mode="after")
    def _http_source_auth(self) -> Settings:
        """Each HTTP source's credentials make one consistent set, and their files can
        be read. Messages name settings and paths, never a secret."""
        for prefix in HTTP_SOURCE_PREFIXES:
            self._check_http_auth(prefix)
        return self

    def _check_http_auth(self, prefix: str) -> None:
        def value(name: str) -> object:
            return getattr(self, f"{prefix}_{name}", None)

        big = prefix.upper()
        tokens = [
            f"{big}_{name.upper()}"
            for name in ("bearer_token", "bearer_token_file", "token")
            if value(name) is not None
        ]
        if len(tokens) > 1:
            raise ValueError(f"set one of {' and '.join(tokens)}, not both")
        user, password = value("basic_auth_username"), value("basic_auth_password")
        password_file = value("basic_auth_password_file")
        if password is not None and password_file is not None:
            raise ValueError(
                f"set one of {big}_BASIC_AUTH_PASSWORD and {big}_BASIC_AUTH_PASSWORD_FILE"
            )
        if (user is None) != (password is None and password_file is None):
            raise ValueError(
                f"{big}_BASIC_AUTH_USERNAME and {big}_BASIC_AUTH_PASSWORD (or _FILE) go together"
            )
        if user is not None and tokens:
            raise ValueError(f"{big}: set a bearer token or basic auth, not both")
        raw_headers = value("headers")
        if isinstance(raw_headers, SecretStr):
            headers = parse_http_headers(raw_headers.get_secret_value(), f"{big}_HEADERS")
            named = {name.lower() for name in headers}
            if "authorization" in named and (tokens or user is not None):
                raise ValueError(
                    f"{big}_HEADERS sets Authorization, and so does {big}'s token or basic auth"
                )
            if "x-scope-orgid" in named and value("tenant") is not None:
                raise ValueError(f"{big}_HEADERS sets X-Scope-OrgID, and so does {big}_TENANT")
        if value("client_key_file") is not None and value("client_cert_file") is None:
            raise ValueError(f"{big}_CLIENT_KEY_FILE needs {big}_CLIENT_CERT_FILE")
        for name in (
            "bearer_token_file",
            "basic_auth_password_file",
            "ca_file",
            "client_cert_file",
            "client_key_file",
        ):
            path = value(name)
            if isinstance(path, str):
                _readable(path, f"{big}_{name.upper()}")

    @field_validator("rate_limit_ingestion", "rate_limit_query", "rate_limit_auth_failures")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        try:
            parse_rate(value)
        except InvalidRateError as error:
            raise ValueError(str(error)) from error
        return value
