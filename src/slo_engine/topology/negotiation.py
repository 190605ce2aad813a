"""Which export format a request wants: `format=` if given, else its Accept header.

Accept is read as RFC 9110 (section 12.5.1) describes: each offered media type gets the
quality of the most specific media range that matches it (`type/subtype` over `type/*`
over `*/*`), and the offer with the highest quality above zero wins; ties go to the
order of `OFFERS` (JSON first: it is the API's own shape). A missing or empty header
accepts anything. Elements that do not parse (no `type/subtype`, a malformed q-value)
are skipped, so one bad element does not spoil the rest; when none is left, or nothing
offered is acceptable, the answer is 406 (NotAcceptableError), which tells a client its
header is wrong where silently answering JSON would not.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from slo_engine.errors import NotAcceptableError
from slo_engine.topology.formats import ExportFormat

# Offered media types, in order of preference. Graphviz's is registered with IANA;
# Mermaid's two are customary (neither is registered); Cytoscape.js has none, so
# `application/vnd.cytoscape+json` is ours (docs/exports.md), with the +json suffix so
# generic JSON tooling recognises it.
OFFERS: tuple[tuple[str, ExportFormat], ...] = (
    ("application/json", ExportFormat.JSON),
    ("text/vnd.graphviz", ExportFormat.DOT),
    ("text/vnd.mermaid", ExportFormat.MERMAID),
    ("text/x-mermaid", ExportFormat.MERMAID),
    ("application/vnd.cytoscape+json", ExportFormat.CYTOSCAPE),
)
# Each format's own media type: its first offer (answers to format= carry it).
MEDIA_TYPES: dict[ExportFormat, str] = {
    export_format: media_type for media_type, export_format in reversed(OFFERS)
}

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_RANGE = re.compile(rf"({_TOKEN})/({_TOKEN})")
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
# The detail of a 406 quotes the header, cut to this many characters.
_QUOTED_HEADER = 200
# Accept headers up to this length have their answer cached.
_CACHED_HEADER = 512


class Choice(NamedTuple):
    export_format: ExportFormat
    media_type: str


_JSON = Choice(ExportFormat.JSON, "application/json")


class MediaRange(NamedTuple):
    type: str
    subtype: str
    quality: float


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an Accept header that parse, with their q-values.

    Parameters other than q are ignored (none of our types takes any), as are
    extensions after q.

    >>> parse_accept("text/*;q=0.5, application/json, bogus, a/b;q=2")
    [MediaRange(type='text', subtype='*', quality=0.5), \
MediaRange(type='application', subtype='json', quality=1.0)]
    """
    ranges = []
    for element in header.split(","):
        media_range, *parameters = element.split(";")
        matched = _MEDIA_RANGE.fullmatch(media_range.strip())
        if matched is None:
            continue
        kind, subtype = matched.group(1).lower(), matched.group(2).lower()
        if kind == "*" and subtype != "*":
            continue
        quality: float | None = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                quality = float(value) if _QVALUE.fullmatch(value) else None
                break
        if quality is not None:
            ranges.append(MediaRange(kind, subtype, quality))
    return ranges


def _quality(media_type: str, ranges: list[MediaRange]) -> float:
    """The quality of the most specific range matching `media_type` (0 if none)."""
    kind, subtype = media_type.split("/")
    best_specificity, best_quality = -1, 0.0
    for media_range in ranges:
        if media_range.type == kind and media_range.subtype == subtype:
            specificity = 2
        elif media_range.type == kind and media_range.subtype == "*":
            specificity = 1
        elif media_range.type == "*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, best_quality = specificity, media_range.quality
    return best_quality


def _by_accept(header: str) -> Choice | None:
    # Clients send the same few headers again and again; a long one (rare, and possibly
    # crafted to fill the cache) is worked out each time.
    if len(header) <= _CACHED_HEADER:
        return _by_accept_cached(header)
    return _best(header)


@functools.lru_cache(maxsize=256)
def _by_accept_cached(header: str) -> Choice | None:
    return _best(header)


def _best(header: str) -> Choice | None:
    ranges = parse_accept(header)
    best: Choice | None = None
    best_quality = 0.0
    for media_type, export_format in OFFERS:
        quality = _quality(media_type, ranges)
        if quality > best_quality:
            best, best_quality = Choice(export_format, media_type), quality
    return best


def negotiate(requested: ExportFormat | None, accept: str | None) -> Choice:
    """The format to answer in and its media type; `format=` wins over Accept.

    >>> negotiate(None, "text/vnd.graphviz, application/json;q=0.5").export_format
    <ExportFormat.DOT: 'dot'>
    >>> negotiate(ExportFormat.MERMAID, "application/json").media_type
    'text/vnd.mermaid'
    """
    if requested is not None:
        return Choice(requested, MEDIA_TYPES[requested])
    if accept is None or accept == "*/*" or not accept.strip():
        return _JSON
    chosen = _by_accept(accept)
    if chosen is None:
        quoted = accept if len(accept) <= _QUOTED_HEADER else accept[:_QUOTED_HEADER] + "..."
        offered = ", ".join(media_type for media_type, _ in OFFERS)
        raise NotAcceptableError(
            f"Nothing in Accept: {quoted!r} can be produced. This endpoint answers "
            f"{offered}; or choose with format=json|dot|mermaid|cytoscape."
        )
    return chosen


def openapi_content() -> dict[str, dict[str, object]]:
    """The 200 response's media types, for a negotiating route's OpenAPI declaration.
    (JSON's schema comes from the route's response model.)"""
    content: dict[str, dict[str, object]] = {"application/json": {}}
    for media_type, export_format in OFFERS:
        if export_format is not ExportFormat.JSON:
            kind = "object" if media_type.endswith("json") else "string"
            content[media_type] = {"schema": {"type": kind}}
    return content
