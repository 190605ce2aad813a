"""A real OpenID Connect issuer on 127.0.0.1 for the sign-in tests: the discovery
document and the key set (JWKS) over HTTP, keys generated per run, tokens minted with
them; and, for the explorer's browser sign-in, the authorization code flow with PKCE
(S256 only) for registered public clients: /authorize signs in `login_as` at once (no
login page) and sends the browser back with a code, /token exchanges it (checking the
client, the redirect URI and the code verifier) or a refresh token for tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUDIENCE = "slo-engine"


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


def rsa_key() -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(f"rsa-{uuid.uuid4().hex[:8]}", "RS256", private)


def ec_key() -> SigningKey:
    return SigningKey(
        f"ec-{uuid.uuid4().hex[:8]}", "ES256", ec.generate_private_key(ec.SECP256R1())
    )


@dataclass
class Issuer:
    url: str
    keys: list[SigningKey]
    jwks_requests: int = 0
    discovery_requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    # The browser sign-in: client id -> its one redirect URI; who /authorize signs in;
    # how long its tokens last; the grant types /token was asked for, in order.
    clients: dict[str, str] = field(default_factory=dict)
    login_as: dict[str, Any] = field(
        default_factory=lambda: {"sub": "alice", "preferred_username": "alice"}
    )
    token_seconds: int = 300
    # Set: /authorize refuses sign-ins with this description (access_denied).
    denial: str | None = None
    # Set: the discovery document names its token endpoint on this other origin.
    token_origin: str | None = None
    token_grants: list[str] = field(default_factory=list)
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _refresh_tokens: set[str] = field(default_factory=set)

    @property
    def issuer(self) -> str:
        return self.url

    def publish(self, *keys: SigningKey) -> None:
        """Publish exactly these keys from now on (a rotation)."""
        with self.lock:
            self.keys = list(keys)

    def mint(self, key: SigningKey | None = None, *, kid: str | None = "", **claims: Any) -> str:
        """A token signed by `key` (the first published by default) with standard claims
        for this service, overridden or removed (value None) by `claims`."""
        key = key or self.keys[0]
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "jane@example.com",
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        body = {name: value for name, value in body.items() if value is not None}
        headers = None if kid is None else {"kid": key.kid if kid == "" else kid}
        return jwt.encode(body, key.private, algorithm=key.algorithm, headers=headers)

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        """(status, headers) of GET /authorize: a redirect back with a code, or with an
        error where the redirect URI is the client's own, else a 400."""
        client, redirect = query.get("client_id", ""), query.get("redirect_uri", "")
        if self.clients.get(client) != redirect:
            return 400, {}
        answer: dict[str, str] = {"state": query.get("state", "")}
        if self.denial is not None:
            answer["error"] = "access_denied"
            answer["error_description"] = self.denial
        elif query.get("response_type") != "code":
            answer["error"] = "unsupported_response_type"
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            answer["error"] = "invalid_request"
            answer["error_description"] = "PKCE with S256 is required"
        else:
            code = secrets.token_urlsafe(24)
            with self.lock:
                self._codes[code] = {**query, "login": dict(self.login_as)}
            answer["code"] = code
        return 302, {"Location": f"{redirect}?{urlencode(answer)}"}

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """(status, body) of POST /token."""
        grant = form.get("grant_type", "")
        with self.lock:
            self.token_grants.append(grant)
            if grant == "refresh_token":
                # Rotation: a refresh token works once, as strict issuers have it.
                used = form.get("refresh_token", "")
                if used not in self._refresh_tokens:
                    return 400, {"error": "invalid_grant"}
                self._refresh_tokens.discard(used)
                login = self.login_as
                return 200, self._tokens(form.get("client_id", ""), login, None)
            asked = self._codes.pop(form.get("code", ""), None)  # a code works once
        if grant != "authorization_code" or asked is None:
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if (
            form.get("client_id") != asked["client_id"]
            or form.get("redirect_uri") != asked["redirect_uri"]
            or challenge.decode() != asked["code_challenge"]
        ):
            return 400, {"error": "invalid_grant", "error_description": "PKCE check failed"}
        with self.lock:
            return 200, self._tokens(asked["client_id"], asked["login"], asked.get("nonce"))

    def _tokens(self, client: str, login: dict[str, Any], nonce: str | None) -> dict[str, Any]:
        refresh = secrets.token_urlsafe(24)
        self._refresh_tokens.add(refresh)
        lifetime = {"exp": int(time.time()) + self.token_seconds}
        return {
            "token_type": "Bearer",
            "expires_in": self.token_seconds,
            "access_token": self.mint(**login, **lifetime),
            "id_token": self.mint(**login, **lifetime, aud=client, nonce=nonce),
            "refresh_token": refresh,
        }

    def stop(self) -> None:
        """Stop answering (an issuer outage); the port is closed."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@contextmanager
def running_issuer(*keys: SigningKey) -> Iterator[Issuer]:
    """An issuer serving on a free port of 127.0.0.1 until the block ends."""
    state = Issuer(url="", keys=list(keys) or [rsa_key(), ec_key()])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path)
            if path.path == "/authorize":
                query = {name: values[0] for name, values in parse_qs(path.query).items()}
                status, headers = state.authorize(query)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path == "/.well-known/openid-configuration":
                state.discovery_requests += 1
                body = {
                    "issuer": state.url,
                    "jwks_uri": f"{state.url}/jwks",
                    "authorization_endpoint": f"{state.url}/authorize",
                    "token_endpoint": f"{state.token_origin or state.url}/token",
                    "code_challenge_methods_supported": ["S256"],
                }
            elif self.path == "/jwks":
                with state.lock:
                    state.jwks_requests += 1
                    body = {"keys": [key.public_jwk() for key in state.keys]}
            else:
                self.send_error(404)
                return
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            if self.path != "/token":
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = {
                name: values[0]
                for name, values in parse_qs(self.rfile.read(length).decode()).items()
            }
            status, body = state.token(form)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            # The page's token request is cross-origin, as at a real issuer.
            self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    state.server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        state.stop()
