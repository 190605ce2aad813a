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
    pending = interpreter._PendingTrim.loop  # whatever an earlier test's app left
    interpreter.give_back_free_memory_later()
    assert interpreter._PendingTrim.loop is pending


def test_a_trim_pending_on_a_loop_that_has_gone_does_not_hold_back_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trims: list[str] = []
    monkeypatch.setattr(interpreter, "TRIM_DELAY_SECONDS", 0.05)
    monkeypatch.setattr(interpreter, "give_back_free_memory", lambda: trims.append("trim"))

    async def schedule_and_leave() -> None:
        interpreter.give_back_free_memory_later()

    async def schedule_and_wait() -> None:
        interpreter.give_back_free_memory_later()
        await asyncio.sleep(0.3)

    asyncio.run(schedule_and_leave())  # the loop closes with its trim pending
    asyncio.run(schedule_and_wait())
    assert trims == ["trim"]


def test_glibc_takes_the_fixed_mmap_threshold() -> None:
    assert interpreter.keep_large_blocks_out_of_the_heap()  # this machine runs glibc
    assert interpreter.keep_large_blocks_out_of_the_heap()  # and again, idempotent
    assert bytearray(1024 * 1024)[-1] == 0  # large blocks are still allocated and zeroed
