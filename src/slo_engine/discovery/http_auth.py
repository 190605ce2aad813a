"""How the HTTP discovery sources authenticate: one frozen description per source.

Every HTTP source (Prometheus and its kin Mimir, Cortex, Thanos, Grafana Cloud; Jaeger;
the Backstage catalog API; the Kubernetes API) reads the same settings under its prefix
(`PROMETHEUS_`, `JAEGER_`, `BACKSTAGE_`, `KUBERNETES_`): a bearer token or a file holding
one, basic auth, extra headers, a CA bundle and a client certificate (settings.py checks
them at start). `HttpAuth.from_settings` turns them into what an `httpx.AsyncClient`
takes: an `auth` that sets `Authorization` on every request, reading token and password
files again each time (Kubernetes projected service-account tokens are rotated in
place), the extra headers, and the `verify` SSL context.

Secrets stay out of errors, logs and spans: settings validation hides its input, URLs
are shown without userinfo (`http.shown_url`), and `HttpAuth.redact` blanks any secret
an error text could carry (an answer body echoing a header, say).
"""

from __future__ import annotations

import base64
import contextlib
import ssl
from collections.abc import Generator
from dataclasses import dataclass, replace
from pathlib import Path

import certifi
import httpx
from pydantic import SecretStr

from slo_engine.errors import SourceError
from slo_engine.settings import Settings, parse_http_headers

REDACTED = "***"


@dataclass(frozen=True)
class HttpAuth:
    """One source's credentials and TLS trust, as configured (files not yet read)."""

    prefix: str  # the settings' prefix, upper case: PROMETHEUS, JAEGER, ...
    bearer_token: SecretStr | None = None
    bearer_token_file: Path | None = None
    basic_username: str | None = None
    basic_password: SecretStr | None = None
    basic_password_file: Path | None = None
    headers: SecretStr | None = None  # the JSON object of <PREFIX>_HEADERS
    tenant: str | None = None  # X-Scope-OrgID
    ca_file: Path | None = None
    client_cert_file: Path | None = None
    client_key_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings, prefix: str) -> HttpAuth:
        def value(name: str) -> object:
            return getattr(settings, f"{prefix}_{name}", None)

        def path(name: str) -> Path | None:
            found = value(name)
            return Path(found) if isinstance(found, str) else None

        def secret(*names: str) -> SecretStr | None:
            for name in names:
                found = value(name)
                if isinstance(found, SecretStr):
                    return found
            return None

        username = value("basic_auth_username")
        tenant = value("tenant")
        return cls(
            prefix=prefix.upper(),
            # BACKSTAGE_TOKEN is the older name of BACKSTAGE_BEARER_TOKEN.
            bearer_token=secret("bearer_token", "token"),
            bearer_token_file=path("bearer_token_file"),
            basic_username=username if isinstance(username, str) else None,
            basic_password=secret("basic_auth_password"),
            basic_password_file=path("basic_auth_password_file"),
            headers=secret("headers"),
            tenant=tenant if isinstance(tenant, str) and tenant else None,
            ca_file=path("ca_file"),
            client_cert_file=path("client_cert_file"),
            client_key_file=path("client_key_file"),
        )

    @property
    def has_credentials(self) -> bool:
        """Whether anything sets `Authorization` (a token or basic auth)."""
        return bool(self.bearer_token or self.bearer_token_file or self.basic_username)

    def with_defaults(
        self, *, bearer_token_file: Path | None = None, ca_file: Path | None = None
    ) -> HttpAuth:
        """These fallbacks where nothing is configured (the Kubernetes service account's
        token and CA, when the pod has them)."""
        chosen = self
        if bearer_token_file is not None and not self.has_credentials:
            chosen = replace(chosen, bearer_token_file=bearer_token_file)
        if ca_file is not None and self.ca_file is None:
            chosen = replace(chosen, ca_file=ca_file)
        return chosen

    # -- what the client is given ------------------------------------------------

    def auth(self) -> httpx.Auth | None:
        return _Authorization(self) if self.has_credentials else None

    def extra_headers(self) -> dict[str, str]:
        headers = (
            parse_http_headers(self.headers.get_secret_value(), f"{self.prefix}_HEADERS")
            if self.headers is not None
            else {}
        )
        if self.tenant:
            headers["X-Scope-OrgID"] = self.tenant
        return headers

    def verify(self) -> ssl.SSLContext | bool:
        """True (the default trust store) or an SSL context with the configured CA
        bundle and client certificate. Raises ValueError naming the setting at fault."""
        if self.ca_file is None and self.client_cert_file is None:
            return True
        ca = self.ca_file or Path(certifi.where())
        try:
            context = ssl.create_default_context(cafile=str(ca))
        except (OSError, ssl.SSLError) as error:
            raise ValueError(
                f"{self.prefix}_CA_FILE: {ca} is not a readable PEM CA bundle ({_reason(error)})"
            ) from None
        if self.client_cert_file is not None:
            try:
                context.load_cert_chain(
                    str(self.client_cert_file),
                    str(self.client_key_file) if self.client_key_file else None,
                )
            except (OSError, ssl.SSLError) as error:
                raise ValueError(
                    f"{self.prefix}_CLIENT_CERT_FILE/{self.prefix}_CLIENT_KEY_FILE: not a "
                    f"usable certificate and key ({_reason(error)})"
                ) from None
        return context

    def client(self, timeout: float) -> httpx.AsyncClient:
        """An HTTP client sending these credentials. Redirects are not followed, so
        they never reach another host; proxies come from the environment as usual."""
        return httpx.AsyncClient(
            timeout=timeout,
            auth=self.auth(),
            headers=self.extra_headers(),
            verify=self.verify(),
            follow_redirects=False,
        )

    # -- keeping secrets out of texts ---------------------------------------------

    def secrets(self) -> list[str]:
        """The secret values as sent now (files read again; unreadable ones skipped)."""
        found: list[str] = []
        if self.bearer_token is not None:
            found.append(self.bearer_token.get_secret_value())
        for file in (self.bearer_token_file, self.basic_password_file):
            if file is not None:
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    found.append(file.read_text().strip())
        if self.basic_password is not None:
            found.append(self.basic_password.get_secret_value())
        if self.headers is not None:
            with contextlib.suppress(ValueError):
                found.extend(self.extra_headers().values())
        try:
            header = _Authorization(self).header() if self.has_credentials else None
        except SourceError:
            header = None
        if header is not None:
            found.append(header.partition(" ")[2])  # the base64 of user:password
        # Longest first, so that a secret containing another is blanked whole.
        return sorted({s for s in found if len(s) >= 4} - {self.tenant or ""}, key=len)[::-1]

    def redact(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, REDACTED)
        return text


class _Authorization(httpx.Auth):
    """Sets `Authorization` on each request, reading the secret files each time."""

    def __init__(self, auth: HttpAuth) -> None:
        self._auth = auth

    def header(self) -> str:
        auth = self._auth
        if auth.basic_username is not None:
            password = (
                auth.basic_password.get_secret_value()
                if auth.basic_password is not None
                else _read_secret(
                    auth.basic_password_file, f"{auth.prefix}_BASIC_AUTH_PASSWORD_FILE"
                )
            )
            pair = f"{auth.basic_username}:{password}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        token = (
            auth.bearer_token.get_secret_value()
            if auth.bearer_token is not None
            else _read_secret(auth.bearer_token_file, f"{auth.prefix}_BEARER_TOKEN_FILE")
        )
        return f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.header()
        yield request


def _read_secret(path: Path | None, setting: str) -> str:
    """A token or password file's content without its trailing newline. Read on every
    request: a rotated file is picked up, a file gone fails the run (never the secret
    in the message)."""
    assert path is not None
    try:
        secret = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise SourceError(f"{setting}: cannot read {path} ({reason})") from None
    if not secret:
        raise SourceError(f"{setting}: {path} is empty")
    return secret


def _reason(error: Exception) -> str:
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__
