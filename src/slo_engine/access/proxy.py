"""People signed in by an authenticating proxy in front of the service (oauth2-proxy,
an ingress with external auth): the proxy names the person in a header.

Honoured only from `AUTH_TRUSTED_PROXIES` (addresses or networks): the header is set by
the proxy after it signed the person in, and anyone reaching the service around the proxy
could set it too, so from any other address it is ignored (and the request needs an API
key or a token like any other). The address is the connection's peer as the server sees
it. The person's groups come from `AUTH_PROXY_GROUPS_HEADER` when set (names separated
by commas or spaces, oauth2-proxy's `X-Forwarded-Groups`), mapped to scopes like a
token's (access/group_scopes.py); without it every person gets what
`AUTH_READ_GROUPS` gives everyone (`*`, read, by default).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from slo_engine.access.group_scopes import GroupScopes, groups_from_claim
from slo_engine.access.service import Principal
from slo_engine.errors import AuthenticationError, PermissionDeniedError
from slo_engine.sign_in_policy import Network

MAX_USER_LENGTH = 255


@dataclass(frozen=True, slots=True)
class TrustedProxy:
    user_header: str
    groups_header: str | None
    networks: tuple[Network, ...]
    group_scopes: GroupScopes

    def trusts(self, client: str | None) -> bool:
        """
        >>> from slo_engine.sign_in_policy import parse_networks
        >>> everyone = GroupScopes.parse("", "", "*")
        >>> proxy = TrustedProxy("x-user", None, parse_networks("10.0.0.0/8"), everyone)
        >>> proxy.trusts("10.1.2.3"), proxy.trusts("192.168.0.1"), proxy.trusts("unknown")
        (True, False, False)
        """
        if client is None:
            return False
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def principal(self, client: str | None, headers: Mapping[str, str]) -> Principal | None:
        """The person the proxy names, or None when the request does not come through a
        trusted proxy naming one (then it is checked like any other)."""
        user = headers.get(self.user_header)
        if user is None or not self.trusts(client):
            return None
        user = user.strip()
        if not 0 < len(user) <= MAX_USER_LENGTH:
            raise AuthenticationError(
                f"The proxy's {self.user_header} header does not name a person.",
                reason="malformed",
            )
        groups = (
            groups_from_claim(headers.get(self.groups_header, "")) if self.groups_header else ()
        )
        scopes = self.group_scopes.scopes_for(groups)
        if not scopes:
            raise PermissionDeniedError(
                f"'{user}' is signed in, but none of its groups is given a scope here."
            )
        return Principal(name=user, key_id=f"proxy:{user}", scopes=scopes)
