"""People sign in with tokens from a real OpenID Connect issuer on 127.0.0.1 (keys made
per run): scopes from groups, every way a token can be wrong refused, key rotation
picked up, limits per person, API keys still working beside tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from tests.e2e.conftest import make_key, settings_for
from tests.oidc_issuer import AUDIENCE, Issuer, ec_key, rsa_key, running_issuer

SERVICES = "/api/v1/services"
INGEST = "/api/v1/services/dependencies"
KEYS = "/api/v1/api-keys"
# A key id the kept keys lack makes one fetch at most this often (short for the test).
REFRESH_FLOOR = 0.5
SMALL_GRAPH = {"source": "manual", "nodes": [], "edges": [{"source": "web", "target": "db"}]}


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


def sign_in_settings(database_url: str, issuer: Issuer, **overrides: Any) -> Any:
    values = {
        "auth_oidc_issuer": issuer.issuer,
        "auth_oidc_audience": AUDIENCE,
        "auth_admin_groups": "platform-admins",
        "auth_write_groups": "sre",
        "auth_oidc_jwks_refresh_floor_seconds": REFRESH_FLOOR,
    }
    return settings_for(database_url, **(values | overrides))


@pytest.fixture
def app_client(database_url: str, issuer: Issuer) -> Iterator[TestClient]:
    app = create_app(sign_in_settings(database_url, issuer))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hmac_token(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    header = _segment(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = _segment(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_segment(signature)}"


def refused(client: TestClient, token: str, detail: str) -> None:
    answer = client.get(SERVICES, headers=bearer(token))
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert detail in answer.json()["detail"], answer.json()


def test_groups_give_scopes(app_client: TestClient, issuer: Issuer) -> None:
    rsa, ec = issuer.keys
    reader = issuer.mint(rsa, sub="rita", groups=["viewers"])
    writer = issuer.mint(ec, sub="sam", groups=["sre", "viewers"])
    admin = issuer.mint(rsa, sub="ada", groups="platform-admins other")

    assert app_client.get(SERVICES, headers=bearer(reader)).status_code == 200
    denied = app_client.post(INGEST, json=SMALL_GRAPH, headers=bearer(reader))
    assert denied.status_code == 403
    assert "'rita' has the scopes [read]; this endpoint needs 'write'" in denied.json()["detail"]

    # ES256 as well as RS256; write implies read for people.
    assert app_client.post(INGEST, json=SMALL_GRAPH, headers=bearer(writer)).status_code == 200
    assert app_client.get(f"{SERVICES}/web", headers=bearer(writer)).status_code == 200
    assert app_client.get(KEYS, headers=bearer(writer)).status_code == 403

    assert app_client.get(KEYS, headers=bearer(admin)).status_code == 200


def test_no_group_given_a_scope_is_forbidden(database_url: str, issuer: Issuer) -> None:
    settings = sign_in_settings(database_url, issuer, auth_read_groups="viewers")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        outsider = client.get(SERVICES, headers=bearer(issuer.mint(sub="olga", groups=["x"])))
        assert outsider.status_code == 403
        assert "'olga' is signed in, but none of the groups" in outsider.json()["detail"]
        viewer = issuer.mint(sub="vic", groups=["viewers"])
        assert client.get(SERVICES, headers=bearer(viewer)).status_code == 200


def test_wrong_tokens_are_refused(app_client: TestClient, issuer: Issuer) -> None:
    rsa, ec = issuer.keys
    now = int(time.time())
    refused(app_client, issuer.mint(exp=now - 120), "expired")
    refused(app_client, issuer.mint(aud="another-service"), "not meant for this service")
    refused(app_client, issuer.mint(iss="https://elsewhere.example"), "another issuer")
    refused(app_client, issuer.mint(nbf=now + 600), "not valid yet")
    refused(app_client, issuer.mint(exp=None), "lacks a required claim")
    refused(app_client, issuer.mint(sub=None), "does not name a person")

    # Signed by a key the issuer does not publish, under a published key's id.
    stranger = rsa_key()
    stranger.kid = rsa.kid
    refused(app_client, issuer.mint(stranger), "signature does not verify")
    # ... and under an id nobody publishes.
    refused(app_client, issuer.mint(rsa_key()), "a key the issuer does not publish")
    # Two keys published: a token must say which.
    refused(app_client, issuer.mint(rsa, kid=None), "a key the issuer does not publish")

    # An HMAC token "signed" with the issuer's public key (the classic forgery: PyJWT
    # will not make one, so it is made by hand), and an unsigned one.
    claims = {"iss": issuer.issuer, "aud": AUDIENCE, "sub": "mallory", "exp": now + 300}
    public_pem = rsa.private.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    refused(app_client, hmac_token(claims, public_pem, rsa.kid), "signed with 'HS256'")
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": rsa.kid})
    refused(app_client, unsigned, "signed with 'none'")
    # An RSA key's id with the EC algorithm.
    mixed = jwt.encode(claims, ec.private, algorithm="ES256", headers={"kid": rsa.kid})
    answer = app_client.get(SERVICES, headers=bearer(mixed))
    assert answer.status_code == 401, answer.text

    refused(app_client, "eyJub3Q.a.token", "malformed")


def test_api_keys_work_beside_tokens(app_client: TestClient, database_url: str) -> None:
    key = make_key(database_url, "machine", Scope.READ)
    assert app_client.get(SERVICES, headers=bearer(key)).status_code == 200
    assert app_client.get(SERVICES, headers={"X-API-Key": key}).status_code == 200
    assert app_client.get(SERVICES).status_code == 401


def test_rotation_is_picked_up(app_client: TestClient, issuer: Issuer) -> None:
    old = issuer.keys[0]
    assert app_client.get(SERVICES, headers=bearer(issuer.mint(old))).status_code == 200
    fetched = issuer.jwks_requests
    assert fetched == 1

    new = ec_key()
    issuer.publish(new)  # the old key is retired
    time.sleep(REFRESH_FLOOR)
    assert app_client.get(SERVICES, headers=bearer(issuer.mint(new))).status_code == 200
    assert issuer.jwks_requests == fetched + 1  # the unknown id made one fetch
    # The retired key went with that fetch: its tokens are refused from now on.
    refused(app_client, issuer.mint(old), "a key the issuer does not publish")
    # Tokens with ids nobody publishes make at most one fetch per floor, however many.
    started, garbage = time.monotonic(), 40
    for _ in range(garbage):
        refused(app_client, issuer.mint(rsa_key()), "a key the issuer does not publish")
    allowed = int((time.monotonic() - started) / REFRESH_FLOOR) + 1
    assert issuer.jwks_requests - (fetched + 1) <= allowed < garbage


def test_limits_are_per_person(database_url: str, issuer: Issuer) -> None:
    settings = sign_in_settings(database_url, issuer, rate_limit_query="3/minute")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        jane = bearer(issuer.mint(sub="jane"))
        bob = bearer(issuer.mint(sub="bob"))
        assert [client.get(SERVICES, headers=jane).status_code for _ in range(4)] == [
            200,
            200,
            200,
            429,
        ]
        # Another person's bucket is their own, though both came from one client.
        assert client.get(SERVICES, headers=bob).status_code == 200
        # A new token of the same person is the same bucket.
        assert client.get(SERVICES, headers=bearer(issuer.mint(sub="jane"))).status_code == 429


def test_issuer_outage(database_url: str, issuer: Issuer) -> None:
    with TestClient(
        create_app(sign_in_settings(database_url, issuer)), raise_server_exceptions=False
    ) as client:
        token = issuer.mint()
        assert client.get(SERVICES, headers=bearer(token)).status_code == 200
        issuer.stop()
        # The keys fetched before go on being used...
        assert client.get(SERVICES, headers=bearer(issuer.mint())).status_code == 200
        # ... and a key id they lack is refused, not an error.
        refused(client, issuer.mint(rsa_key()), "a key the issuer does not publish")


def test_issuer_down_from_the_start_is_503(database_url: str) -> None:
    with running_issuer() as issuer:
        settings = sign_in_settings(database_url, issuer)
        token = issuer.mint()
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        answer = client.get(SERVICES, headers=bearer(token))
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert "Sign-in is unavailable" in answer.json()["detail"]


def test_backstage_user_tokens_with_backstage_as_the_issuer(
    database_url: str, issuer: Issuer
) -> None:
    """A token shaped as Backstage's auth backend signs them for its users (ES256,
    `aud` "backstage", `sub` the user's entity ref, the ownership refs in `ent`), with
    the service configured as docs/backstage.md says: AUTH_OIDC_AUDIENCE=backstage,
    AUTH_OIDC_GROUPS_CLAIM=ent, groups named by entity ref."""
    _, ec = issuer.keys
    settings = sign_in_settings(
        database_url,
        issuer,
        auth_oidc_audience="backstage",
        auth_oidc_groups_claim="ent",
        auth_write_groups="group:default/sre",
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:

        def token(**claims: Any) -> str:
            return issuer.mint(ec, aud="backstage", sub="user:default/alice", **claims)

        sre = token(ent=["user:default/alice", "group:default/sre"])
        assert client.post(INGEST, json=SMALL_GRAPH, headers=bearer(sre)).status_code == 200
        # Newer Backstage leaves `ent` out of user tokens: read for everyone signed in.
        plain = token()
        assert client.get(SERVICES, headers=bearer(plain)).status_code == 200
        denied = client.post(INGEST, json=SMALL_GRAPH, headers=bearer(plain))
        assert denied.status_code == 403
        assert "'user:default/alice' has the scopes [read]" in denied.json()["detail"]
        # A token Backstage made for another audience is not one for this service.
        refused(client, issuer.mint(ec, aud="other", sub="user:default/alice"), "not meant")
