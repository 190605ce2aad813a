"""A real OpenID Connect issuer on 127.0.0.1 for the sign-in tests: the discovery
document and the key set (JWKS) over HTTP, keys generated per run, tokens minted with
them. Only what a resource server reads of an issuer; no login pages."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
            if self.path == "/.well-known/openid-configuration":
                state.discovery_requests += 1
                body = {"issuer": state.url, "jwks_uri": f"{state.url}/jwks"}
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
