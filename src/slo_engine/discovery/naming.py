"""How names found by discovery sources become service ids. Pure functions.

Service ids are 1-255 of ``[A-Za-z0-9._:-]`` starting with a letter or digit. Sources
name services freely (span attributes, workload labels, entity refs), so a name is kept
as it is when it fits and otherwise made to fit: each run of other characters becomes
one ``-``, leading non-alphanumerics are dropped, and the result is cut at 255. A name
with nothing left is skipped (the source reports it in its warnings).
"""

from __future__ import annotations

import re

from slo_engine.graph.model import SERVICE_ID_PATTERN

_VALID = re.compile(SERVICE_ID_PATTERN)
_OUTSIDE = re.compile(r"[^A-Za-z0-9._:-]+")
_LEADING = re.compile(r"^[^A-Za-z0-9]+")


def to_service_id(name: str) -> str | None:
    """
    >>> to_service_id("checkout"), to_service_id("My Service/v2"), to_service_id("__x")
    ('checkout', 'My-Service-v2', 'x')
    >>> to_service_id("///") is None
    True
    >>> to_service_id("cart" + chr(10))  # a trailing newline is not part of an id
    'cart-'
    """
    if _VALID.fullmatch(name):
        return name
    cleaned = _LEADING.sub("", _OUTSIDE.sub("-", name))[:255]
    return cleaned if cleaned and _VALID.fullmatch(cleaned) else None


def entity_ref_to_service_id(ref: str, default_kind: str = "component") -> tuple[str, str] | None:
    """A Backstage entity ref ``[kind:][namespace/]name`` as (kind, service id).

    The service id is the entity's name in the `default` namespace and
    ``namespace.name`` in any other (a `/` is not allowed in service ids); the kind is
    lower-cased and returned separately (it decides nothing about the id, so a Component
    and a Resource of the same name are the same service).

    >>> entity_ref_to_service_id("component:default/payments")
    ('component', 'payments')
    >>> entity_ref_to_service_id("resource:artists-db")
    ('resource', 'artists-db')
    >>> entity_ref_to_service_id("team-b/search")
    ('component', 'team-b.search')
    >>> entity_ref_to_service_id("Resource:Ops/Queue-1")
    ('resource', 'ops.queue-1')
    """
    text = ref.strip()
    kind = default_kind
    if ":" in text:
        kind, _, text = text.partition(":")
    namespace = "default"
    if "/" in text:
        namespace, _, text = text.partition("/")
    if not text:
        return None
    # Backstage compares refs case-insensitively; lower case makes them one id.
    name = text.lower() if namespace.lower() == "default" else f"{namespace}.{text}".lower()
    service_id = to_service_id(name)
    return (kind.lower(), service_id) if service_id else None


def namespaced_id(name: str, namespace: str) -> str | None:
    """A Kubernetes object's (or Istio workload's) service id: its name, followed by
    ``.namespace`` outside the `default` namespace, like a cluster DNS name.

    >>> namespaced_id("reviews-v2", "bookinfo"), namespaced_id("ratings", "default")
    ('reviews-v2.bookinfo', 'ratings')
    >>> namespaced_id("ratings", "")
    'ratings'
    """
    return to_service_id(name if namespace in ("", "default") else f"{name}.{namespace}")
