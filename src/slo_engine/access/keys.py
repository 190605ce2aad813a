"""API keys as text: how they are made, read and checked. Pure functions, no I/O.

A key looks like ``slo_3f9a1c0b7d2e_<43 characters>``:

* ``slo_``: a fixed prefix, so secret scanners (and people) recognise a leaked key;
* 12 hex digits: the key id, stored in clear and used to find the key's row;
* the secret: 32 random bytes (256 bits) in URL-safe base64.

Only the SHA-256 digest of the secret is stored. A deliberately slow password hash
(bcrypt, argon2) protects low-entropy human passwords against guessing; a 256-bit random
secret cannot be guessed, so a fast digest is as safe here and keeps verification in
microseconds, where bcrypt would spend 100-300 ms of CPU on every request.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from typing import NamedTuple

KEY_PREFIX = "slo_"
_KEY_ID_BYTES = 6
_SECRET_BYTES = 32
_KEY_PATTERN = re.compile(r"^slo_(?P<key_id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")


class Scope(enum.StrEnum):
    READ = "read"  # queries
    WRITE = "write"  # ingestion, alert updates
    ADMIN = "admin"  # key management; grants every other scope too


class PresentedKey(NamedTuple):
    key_id: str
    secret: str


class NewKey(NamedTuple):
    plaintext: str  # shown once, never stored
    key_id: str
    secret_digest: str


def generate_key() -> NewKey:
    """A fresh random key.

    >>> key = generate_key()
    >>> parse_key(key.plaintext).key_id == key.key_id, len(key.plaintext)
    (True, 60)
    """
    key_id = secrets.token_hex(_KEY_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return NewKey(f"{KEY_PREFIX}{key_id}_{secret}", key_id, digest(secret))


def parse_key(text: str) -> PresentedKey | None:
    """The parts of a well-formed key, or None.

    >>> parse_key("slo_0123456789ab_" + "x" * 43).key_id
    '0123456789ab'
    >>> parse_key("Bearer nonsense") is None
    True
    """
    match = _KEY_PATTERN.match(text)
    if match is None:
        return None
    return PresentedKey(match["key_id"], match["secret"])


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_digest: str) -> bool:
    """Constant-time comparison of the secret's digest with the stored one."""
    return hmac.compare_digest(digest(secret), stored_digest)


def grants(held: frozenset[Scope], needed: Scope) -> bool:
    """
    >>> grants(frozenset({Scope.ADMIN}), Scope.WRITE), grants(frozenset({Scope.READ}), Scope.WRITE)
    (True, False)
    """
    return needed in held or Scope.ADMIN in held
