"""The process-wide memory settings of infra/interpreter.py."""

from __future__ import annotations

import asyncio

import pytest

from slo_engine.infra import interpreter


def test_large_answers_schedule_one_trim_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[str] = []
    monkeypatch.setattr(interpreter, "TRIM_DELAY_SECONDS", 0.01)
    monkeypatch.setattr(interpreter, "give_back_free_memory", lambda: trims.append("trim"))

    async def burst_then_another() -> None:
        for _ in range(5):  # a burst of large answers: one trim after it
            interpreter.give_back_free_memory_later()
        await asyncio.sleep(0.2)
        interpreter.give_back_free_memory_later()  # a later one: its own trim
        await asyncio.sleep(0.2)

    asyncio.run(burst_then_another())
    assert trims == ["trim", "trim"]


def test_without_an_event_loop_nothing_is_scheduled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interpreter, "give_back_free_memory", pytest.fail)
    interpreter.give_back_free_memory_later()
    assert not interpreter._PendingTrim.scheduled


def test_the_allocator_setting_is_safe_to_repeat() -> None:
    interpreter.keep_large_blocks_out_of_the_heap()
    interpreter.keep_large_blocks_out_of_the_heap()
    assert bytearray(1024 * 1024)[-1] == 0  # large blocks are still allocated and zeroed
