"""Row ids of services, derived from the business id so that writers never look them up."""

from __future__ import annotations

import functools
import uuid

_SERVICE_NAMESPACE = uuid.UUID("5d1c0f3e-7f5a-4c1e-9a57-1b0e6c2f9d41")

# Large enough for every service of a 250,000-service graph to stay cached.
_CACHED_IDS = 262_144


@functools.lru_cache(maxsize=_CACHED_IDS)
def service_uuid(service_id: str) -> uuid.UUID:
    """The `services.id` of a service: uuid5 of its service id (stable, never reused).

    >>> service_uuid("checkout") == service_uuid("checkout") != service_uuid("cart")
    True
    """
    return uuid.uuid5(_SERVICE_NAMESPACE, service_id)
