"""Which scopes a person gets from the groups their sign-in names. Pure, no I/O.

People sign in through an OpenID Connect issuer (access/oidc.py) or an authenticating
proxy (access/proxy.py); either names the person's groups (a token claim, a header).
Three lists of group names map them to this service's scopes: `AUTH_ADMIN_GROUPS`,
`AUTH_WRITE_GROUPS`, `AUTH_READ_GROUPS`. `*` in a list means every signed-in person.
Write implies read here (a person who may ingest may also look), which API keys do not
assume: a key carries exactly the scopes it was made with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from slo_engine.access.keys import Scope
from slo_engine.sign_in_policy import group_list

EVERYONE = "*"


def groups_from_claim(value: object) -> tuple[str, ...]:
    """The groups a claim or header value names: a list of strings, or one string of
    names separated by spaces or commas (the OAuth `scope` claim's form, and what
    proxies send). Anything else names no group.

    >>> groups_from_claim(["sre", 3, "ops"]), groups_from_claim("a b,c"), groups_from_claim(7)
    (('sre', 'ops'), ('a', 'b', 'c'), ())
    """
    if isinstance(value, str):
        return tuple(part for part in value.replace(",", " ").split() if part)
    if isinstance(value, list | tuple):
        return tuple(item for item in value if isinstance(item, str) and item)
    return ()


@dataclass(frozen=True, slots=True)
class GroupScopes:
    admin: frozenset[str]
    write: frozenset[str]
    read: frozenset[str]

    @classmethod
    def parse(cls, admin: str, write: str, read: str) -> GroupScopes:
        return cls(group_list(admin), group_list(write), group_list(read))

    def scopes_for(self, groups: Iterable[str]) -> frozenset[Scope]:
        """
        >>> mapping = GroupScopes.parse("admins", "sre", "*")
        >>> names = lambda scopes: sorted(str(scope) for scope in scopes)
        >>> names(mapping.scopes_for(["sre"])), names(mapping.scopes_for([]))
        (['read', 'write'], ['read'])
        >>> names(GroupScopes.parse("admins", "", "").scopes_for(["admins"]))
        ['admin']
        >>> GroupScopes.parse("", "", "viewers").scopes_for(["other"])
        frozenset()
        """
        held = set(groups)
        if _names_any(self.admin, held):
            return frozenset({Scope.ADMIN})
        if _names_any(self.write, held):
            return frozenset({Scope.READ, Scope.WRITE})
        if _names_any(self.read, held):
            return frozenset({Scope.READ})
        return frozenset()


def _names_any(listed: frozenset[str], held: set[str]) -> bool:
    return EVERYONE in listed or not listed.isdisjoint(held)
