"""Work a request starts for the whole process: run outside the request's context.

`asyncio.create_task` copies the caller's context, so a catch-up of the live graph or a
key's last-used stamp started while serving a request would log with that request's
correlation id and trace under its span, as if its failures were that request's: a
"database unavailable" line of a background write read as an outage some client saw.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def start_in_background(work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """`work` as a task of the running loop, in a fresh context."""
    return asyncio.get_running_loop().create_task(work, context=contextvars.Context())
