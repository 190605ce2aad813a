"""Aliases: the names sources report, mapped to one canonical service id. Pure, no I/O.

Two forms (docs/identity.md#aliases):

* an **exact alias** maps one reported name to a service id
  (``checkoutservice`` -> ``checkout``);
* a **rule** maps every name its regular expression matches whole to the expansion of
  its replacement (``(.+)\\.shop`` -> ``\\1``). Rules are compiled outside the core
  (catalog/alias_rules.py: a linear-time engine); here a rule is anything that says
  what it makes of a name.

Either may name a discovery source, and then applies only to that source's reports.
A name is resolved once, in this order, and the first that applies wins: the exact
alias for its source, the exact alias for every source, then the rules in their order
(a source's and every source's rules interleaved by position); a rule's output is then
looked up once among the exact aliases (a rule may produce a name that has one). What
comes out is not resolved again: aliases do not chain, so a mapping never depends on the
order they were added in. A rule whose expansion is not a valid service id leaves the
name as it is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from slo_engine.graph.model import SERVICE_ID_PATTERN, DiscoverySource

_VALID_ID = re.compile(SERVICE_ID_PATTERN)
# How many (name, source) resolutions one table remembers: a name is resolved for every
# edge that names it, and a large ingestion names each service many times; as many as
# the service ids catalog/identity.py keeps (a 250,000-service graph).
_REMEMBERED = 262_144


def is_service_id(name: str) -> bool:
    """Whether `name` is a valid service id, whole (no trailing newline either).

    >>> is_service_id("cart"), is_service_id("cart\\n"), is_service_id("-cart")
    (True, False, False)
    """
    return _VALID_ID.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class ExactAlias:
    alias: str
    service_id: str
    discovery_source: DiscoverySource | None = None


class RenameRule(Protocol):
    """A rule of the table: for one source (None: every source), a name it renames."""

    @property
    def discovery_source(self) -> DiscoverySource | None: ...

    def apply(self, name: str) -> str | None:
        """The rule's name for `name`, or None when it does not match `name` whole."""
        ...


class AliasTable:
    """The aliases in force, answering "which service is this reported name?".

    Building it is O(aliases); resolving a name is O(1) for exact aliases and O(rules)
    rule applications otherwise (each linear in the name), remembered (bounded).
    """

    def __init__(self, exact: Iterable[ExactAlias] = (), rules: Iterable[RenameRule] = ()) -> None:
        self._exact: dict[tuple[str, DiscoverySource | None], str] = {
            (a.alias, a.discovery_source): a.service_id for a in exact
        }
        self._rules = tuple(rules)
        self._resolve = functools.lru_cache(maxsize=_REMEMBERED)(self._resolved)

    def __bool__(self) -> bool:
        return bool(self._exact or self._rules)

    def resolve(self, name: str, source: DiscoverySource | None) -> str:
        """The service id of `name` as `source` reports it (None: a name no source
        scopes, e.g. a service's own id), or `name` itself."""
        if not self:
            return name
        return self._resolve(name, source)

    def _exact_of(self, name: str, source: DiscoverySource | None) -> str | None:
        if source is not None and (exact := self._exact.get((name, source))) is not None:
            return exact
        return self._exact.get((name, None))

    def _resolved(self, name: str, source: DiscoverySource | None) -> str:
        if (exact := self._exact_of(name, source)) is not None:
            return exact
        for rule in self._rules:
            if rule.discovery_source is not None and rule.discovery_source != source:
                continue
            renamed = rule.apply(name)
            if renamed is not None:
                if not is_service_id(renamed):
                    return name
                return self._exact_of(renamed, source) or renamed
        return name

    def merges_service(self, service_id: str) -> str | None:
        """The service `service_id` is merged into: the canonical id of the name for
        every source (an alias scoped to one source renames that source's reports but
        keeps the node, which others may name); None when it stays itself."""
        canonical = self.resolve(service_id, None)
        return None if canonical == service_id else canonical
