"""Alias rules compiled: regular expressions run by RE2 (the `google-re2` package).

Rules are applied to every name of every ingestion, under the graph write lock. Python's
`re` backtracks: a pattern such as ``(a+)+b`` takes exponential time over a 255-character
name, so one careless rule could stall every write. RE2 matches in time linear in the
name whatever the pattern, and refuses what it cannot do so (backreferences,
lookarounds), which aliases do not need.

A replacement is a template: ``\\1`` .. ``\\99``, ``\\g<1>``, ``\\g<name>`` for the
pattern's groups, ``\\\\`` for a backslash; any other backslash is refused when the rule
is made, so a stored rule always expands (a group that took part in no match expands
to nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import re2

from slo_engine.graph.model import DiscoverySource

# Checked once per rule; what may follow a backslash in a replacement.
_TEMPLATE_PART = re.compile(r"\\(?:(\d{1,2})|g<([^<>]*)>|(\\))|\\|[^\\]+", re.DOTALL)
# Memory RE2 may use per compiled pattern (its default is 8 MiB): aliases are small.
_MAX_PATTERN_MEMORY = 1024 * 1024


class AliasRuleError(ValueError):
    """A rule that cannot apply: its pattern is not one RE2 runs, or its replacement is
    not a template of the pattern's groups."""


# A parsed replacement: literal text, or a group (by number) to put in its place.
Template = tuple[str | int, ...]


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the caller's error, not a log line
    options.max_mem = _MAX_PATTERN_MEMORY
    return options


def _template(replacement: str, groups: int, names: dict[str, int]) -> Template:
    parts: list[str | int] = []
    for match in _TEMPLATE_PART.finditer(replacement):
        number, name, backslash = match.groups()
        text = match.group(0)
        if number is not None or name is not None:
            reference = number if number is not None else name
            index = int(reference) if reference.isdigit() else names.get(reference)
            if index is None or index > groups:
                raise AliasRuleError(
                    f"the replacement refers to group {reference}, which the pattern does not have"
                )
            parts.append(index)
        elif backslash is not None:
            parts.append("\\")
        elif text == "\\":
            raise AliasRuleError(
                "the replacement has a backslash that is not \\N, \\g<name> or \\\\"
            )
        else:
            parts.append(text)
    return tuple(parts)


def compile_rule(pattern: str, replacement: str) -> tuple[Any, Template]:
    """The rule's pattern compiled by RE2 and its replacement parsed; AliasRuleError
    says why a rule cannot be one.

    >>> compiled, template = compile_rule(r"(?P<app>.+)\\.shop", r"\\g<app>")
    >>> template
    (1,)
    >>> for bad in (r"(.+)", r"\\2"), (r"(?=x)", "x"), ("a", "\\\\q"):
    ...     try:
    ...         compile_rule(*bad)
    ...     except AliasRuleError as error:
    ...         print(error)
    the replacement refers to group 2, which the pattern does not have
    the pattern is not one RE2 runs: invalid perl operator: (?=
    the replacement has a backslash that is not \\N, \\g<name> or \\\\
    """
    try:
        compiled = re2.compile(pattern, _options())
    except re2.error as error:
        reason = error.args[0] if error.args else error
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise AliasRuleError(f"the pattern is not one RE2 runs: {reason}") from None
    return compiled, _template(replacement, compiled.groups, dict(compiled.groupindex))


@dataclass(frozen=True, slots=True)
class AliasRule:
    """A rule of the alias table (graph/aliases.py `RenameRule`)."""

    pattern: str
    replacement: str
    discovery_source: DiscoverySource | None = None
    _compiled: Any = field(init=False, repr=False, compare=False)  # an RE2 pattern
    _template: Template = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled, template = compile_rule(self.pattern, self.replacement)
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_template", template)

    def apply(self, name: str) -> str | None:
        """The rule's name for `name`, or None when the pattern does not match it whole.

        >>> AliasRule(r"(?P<app>[a-z]+)\\.shop", r"\\g<app>").apply("cart.shop")
        'cart'
        >>> AliasRule(r"(?P<app>[a-z]+)\\.shop", r"\\g<app>").apply("cart.shop.eu") is None
        True
        """
        match = self._compiled.fullmatch(name)
        if match is None:
            return None
        return "".join(
            part if isinstance(part, str) else (match.group(part) or "") for part in self._template
        )
