"""Signing as the Standard Webhooks specification says, with its reference library
(`standardwebhooks`): `webhook-id` (the message's id, the same on every retry, for the
receiver to drop duplicates), `webhook-timestamp` (seconds since the epoch, of this
attempt) and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
`id.timestamp.body` keyed with the secret's bytes). docs/history.md shows a receiver's
check in Python and with openssl.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks import Webhook as StandardWebhook

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32


def new_secret() -> str:
    """A secret as the specification writes them: `whsec_` and base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def signed_headers(secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The three headers of one delivery attempt at `at`."""
    signature = StandardWebhook(secret).sign(message_id, at, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
