"""Lines logged while serving a request carry its correlation id; work the request
starts for the whole process (infra/background.py) does not."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from slo_engine.infra.background import start_in_background
from slo_engine.infra.correlation import current_correlation_id
from slo_engine.observability.logging import configure_logging


def _lines(err: str) -> dict[str, dict[str, object]]:
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return {str(r["event"]): r for r in records}


def test_request_lines_carry_the_id_and_background_work_does_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", json_lines=True)
    log = logging.getLogger("slo_engine.test")

    async def background(label: str) -> None:
        log.info("from %s", label)

    async def request() -> None:
        current_correlation_id.set("req-42")  # as CorrelationIdMiddleware does
        log.info("while serving")
        await start_in_background(background("the background"))
        # What start_in_background avoids: a plain task copies the request's context.
        await asyncio.get_running_loop().create_task(background("a plain task"))

    asyncio.run(request())
    log.info("outside any request")
    lines = _lines(capsys.readouterr().err)
    assert lines["while serving"]["correlation_id"] == "req-42"
    assert lines["from a plain task"]["correlation_id"] == "req-42"
    assert "correlation_id" not in lines["from the background"]
    assert "correlation_id" not in lines["outside any request"]
