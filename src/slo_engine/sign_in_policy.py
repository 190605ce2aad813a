"""How people's sign-in is configured, as text: the rules `Settings` checks at start.
Pure parsing, no I/O (access/oidc.py, access/proxy.py and access/group_scopes.py use
them on requests).
"""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Token signature algorithms a deployment may allow: asymmetric only. A symmetric (HS*)
# token can be made by anyone holding the shared secret, and a key set's public key
# used as an HMAC secret is the classic JWT forgery.
ACCEPTABLE_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or networks; a bad one raises ValueError.

    >>> [str(n) for n in parse_networks("10.0.0.0/8, 127.0.0.1")]
    ['10.0.0.0/8', '127.0.0.1/32']
    """
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


def group_list(text: str) -> frozenset[str]:
    """A comma-separated list of group names, blanks dropped.

    >>> sorted(group_list(" sre, platform-admins ,,"))
    ['platform-admins', 'sre']
    """
    return frozenset(part.strip() for part in text.split(",") if part.strip())
