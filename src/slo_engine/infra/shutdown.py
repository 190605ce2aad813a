"""Graceful shutdown: on SIGTERM, turn not-ready at once, keep serving for a while, then
let the server stop.

Kubernetes removes a terminating pod from its Service asynchronously: for a few seconds
after SIGTERM, requests still arrive. So the first SIGTERM only marks the process as
draining (readiness answers 503 from then on) and hands the signal on to the server
(uvicorn: stop accepting, finish the requests in flight, run the shutdown that stops the
scheduler and closes the pools) after `drain_seconds`. A second SIGTERM or a SIGINT
goes through at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from slo_engine.infra.components import AppComponent

logger = logging.getLogger(__name__)


class Drain:
    def __init__(self) -> None:
        self.draining = False

    def install(self, drain_seconds: float) -> bool:
        """Wrap the server's SIGTERM handler; False when there is none to wrap (tests,
        or not on the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            return False
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):
            return False
        loop = asyncio.get_running_loop()
        server_handler: Callable[[int, FrameType | None], Any] = previous

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            if self.draining:  # a second SIGTERM: no more waiting
                server_handler(signum, frame)
                return
            self.draining = True
            logger.warning(
                "SIGTERM: not ready any more; serving %.1f s more, then shutting down",
                drain_seconds,
            )
            loop.call_soon_threadsafe(loop.call_later, drain_seconds, server_handler, signum, frame)

        signal.signal(signal.SIGTERM, on_sigterm)
        return True


DRAIN: AppComponent[Drain] = AppComponent("drain")
