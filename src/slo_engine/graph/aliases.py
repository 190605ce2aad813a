"""Aliases: the names sources report, mapped to one canonical service id. Pure, no I/O.

Two forms (docs/identity.md#aliases):

* an **exact alias** maps one reported name to a service id
  (``checkoutservice`` -> ``checkout``);
* a **rule** maps every name its regular expression matches whole to the expansion of
  its replacement (``(.+)\\.shop`` -> ``\\1``), capture groups and all.

Either may name a discovery source, and then applies only to that source's reports.
A name is resolved once, in this order, and the first that applies wins: the exact
alias for its source, the exact alias for every source, then the rules in their order
(a source's and every source's rules interleaved by position). What comes out is not
resolved again: aliases do not chain, so a mapping never depends on the order they
were added in. A rule whose expansion is not a valid service id leaves the name as it
is (the caller reports that).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from slo_engine.graph.model import SERVICE_ID_PATTERN, DiscoverySource

_VALID_ID = re.compile(SERVICE_ID_PATTERN)
# A replacement's group references: \1 .. \99, \g<1>, \g<name>.
_GROUP_REFERENCE = re.compile(r"\\(?:(\d{1,2})|g<([^>]*)>)")
# How many (name, source) resolutions one table remembers: a name is resolved for every
# edge that names it, and a large ingestion names each service many times.
_REMEMBERED = 65_536


class AliasRuleError(ValueError):
    """A rule that cannot apply: its pattern does not compile, or its replacement
    refers to a group the pattern does not have."""


def compile_rule(pattern: str, replacement: str) -> re.Pattern[str]:
    """The rule's pattern compiled, after checking its replacement against it.

    >>> compile_rule(r"(.+)\\.shop", r"\\1").pattern
    '(.+)\\\\.shop'
    >>> try:
    ...     compile_rule(r"(.+)", r"\\2")
    ... except AliasRuleError as error:
    ...     print(error)
    the replacement refers to group 2, which the pattern does not have
    """
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise AliasRuleError(f"the pattern does not compile: {error}") from None
    for number, name in _GROUP_REFERENCE.findall(replacement):
        reference = number or name
        known = (
            int(reference) <= compiled.groups
            if reference.isdigit()
            else reference in compiled.groupindex
        )
        if not known:
            raise AliasRuleError(
                f"the replacement refers to group {reference}, which the pattern does not have"
            )
    return compiled


@dataclass(frozen=True, slots=True)
class ExactAlias:
    alias: str
    service_id: str
    discovery_source: DiscoverySource | None = None


@dataclass(frozen=True, slots=True)
class AliasRule:
    pattern: str
    replacement: str
    discovery_source: DiscoverySource | None = None
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", compile_rule(self.pattern, self.replacement))

    def apply(self, name: str) -> str | None:
        """The rule's name for `name`, or None when the pattern does not match it whole."""
        match = self.compiled.fullmatch(name)
        return None if match is None else match.expand(self.replacement)


class AliasTable:
    """The aliases in force, answering "which service is this reported name?".

    Building it is O(aliases); resolving a name is O(1) for exact aliases and O(rules)
    regular-expression matches otherwise, each remembered (bounded).
    """

    def __init__(self, exact: Iterable[ExactAlias] = (), rules: Iterable[AliasRule] = ()):
        self._exact: dict[tuple[str, DiscoverySource | None], str] = {
            (a.alias, a.discovery_source): a.service_id for a in exact
        }
        self._rules = tuple(rules)
        self._resolve = functools.lru_cache(maxsize=_REMEMBERED)(self._resolved)

    def __bool__(self) -> bool:
        return bool(self._exact or self._rules)

    def resolve(self, name: str, source: DiscoverySource | None) -> str:
        """The service id of `name` as `source` reports it (None: a name no source
        scopes, e.g. a service's own id), or `name` itself.

        >>> table = AliasTable(
        ...     [ExactAlias("checkoutservice", "checkout")],
        ...     [AliasRule(r"(?P<app>.+)\\.shop", r"\\g<app>", DiscoverySource.SERVICE_MESH)],
        ... )
        >>> table.resolve("checkoutservice", DiscoverySource.OTEL_SERVICE_GRAPH)
        'checkout'
        >>> table.resolve("cart.shop", DiscoverySource.SERVICE_MESH)
        'cart'
        >>> table.resolve("cart.shop", DiscoverySource.JAEGER)
        'cart.shop'
        """
        if not self:
            return name
        return self._resolve(name, source)

    def _resolved(self, name: str, source: DiscoverySource | None) -> str:
        if source is not None and (exact := self._exact.get((name, source))) is not None:
            return exact
        if (exact := self._exact.get((name, None))) is not None:
            return exact
        for rule in self._rules:
            if rule.discovery_source is not None and rule.discovery_source != source:
                continue
            renamed = rule.apply(name)
            if renamed is not None:
                return renamed if _VALID_ID.match(renamed) else name
        return name

    def merges_service(self, service_id: str) -> str | None:
        """The service `service_id` is merged into: the canonical id of the name for
        every source (an alias scoped to one source renames that source's reports but
        keeps the node, which others may name); None when it stays itself."""
        canonical = self.resolve(service_id, None)
        return None if canonical == service_id else canonical
