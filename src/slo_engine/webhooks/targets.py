"""Where a webhook may be sent: an http(s) URL whose host WEBHOOK_ALLOWED_HOSTS allows.

Checked when a subscription is made (a 422) and again before every attempt (the list
may have changed since). No I/O.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx


def allowed_hosts(setting: str) -> tuple[str, ...]:
    """The setting's hosts, lower-cased; empty: any host.

    >>> allowed_hosts(" hooks.example.com, *.corp.example ,")
    ('hooks.example.com', '*.corp.example')
    """
    return tuple(host.strip().lower() for host in setting.split(",") if host.strip())


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Exact names, and `*.domain` for any name under that domain (not the domain).

    >>> _host_allowed("a.corp.example", ("*.corp.example",))
    True
    >>> _host_allowed("corp.example", ("*.corp.example",)), _host_allowed("evil.example", ("x",))
    (False, False)
    """
    if not allowed:
        return True
    for pattern in allowed:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def refusal(url: str, allowed: tuple[str, ...]) -> str | None:
    """Why `url` may not receive webhooks, or None if it may.

    >>> refusal("ftp://h/x", ()), refusal("https://h.example/x", ("other",))
    ('only http and https URLs', 'host h.example is not in WEBHOOK_ALLOWED_HOSTS')
    >>> refusal("https://h.example:8443/hook", ("h.example",)) is None
    True
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as error:
        return f"not a URL: {error}"
    if parts.scheme not in ("http", "https"):
        return "only http and https URLs"
    host = (parts.hostname or "").lower()
    if not host:
        return "the URL names no host"
    try:
        httpx.URL(url).host  # noqa: B018 - what a delivery sends to (IDNA checked here)
    except (httpx.InvalidURL, UnicodeError) as error:
        return f"not a URL: {error}"
    if not _host_allowed(host, allowed):
        return f"host {host} is not in WEBHOOK_ALLOWED_HOSTS"
    return None
