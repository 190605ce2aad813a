"""How people's sign-in is configured, as text: the rules `Settings` checks at start.
Pure parsing, no I/O (access/oidc.py, access/proxy.py and access/group_scopes.py use
them on requests).
"""

from __future__ import annotations

import ipaddress
import re

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


# A CSP host source the explorer may be framed by: a scheme and host (a leading `*.`
# allowed, as CSP allows), an optional port, nothing else. Quotes, semicolons and
# spaces cannot pass, so a setting cannot add another directive to the policy.
_FRAME_SOURCE = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?")


def frame_ancestors(text: str) -> tuple[str, ...]:
    """The origins allowed to embed the explorer, from `EXPLORER_FRAME_ANCESTORS`
    (separated by commas or spaces; `'self'` or `self` for the service's own origin);
    a bad one raises ValueError.

    >>> frame_ancestors("https://backstage.example.com, https://*.corp.example:8443 self")
    ('https://backstage.example.com', 'https://*.corp.example:8443', "'self'")
    >>> frame_ancestors("")
    ()
    """
    sources: list[str] = []
    for part in re.split(r"[\s,]+", text.strip()):
        if not part:
            continue
        if part in ("self", "'self'"):
            sources.append("'self'")
        elif _FRAME_SOURCE.fullmatch(part):
            sources.append(part.rstrip("/"))
        else:
            raise ValueError(
                f"{part!r} is not an origin such as https://backstage.example.com "
                "(scheme, host and optional port; no path)"
            )
    return tuple(sources)


def oidc_scope(text: str) -> str:
    """The OAuth scopes the explorer asks for, space-separated, `openid` always among
    them.

    >>> oidc_scope("profile, email groups")
    'openid profile email groups'
    """
    named = [part for part in re.split(r"[\s,]+", text.strip()) if part]
    if any(not re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]+", part) for part in named):
        raise ValueError(f"{text!r}: scope names are printable ASCII without quotes or backslashes")
    return " ".join(dict.fromkeys(["openid", *named]))
