"""A background loop cancelled at shutdown waits for its thread (its store connection goes back before the
store is disposed)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from triage.aio import to_thread_finished


def test_a_cancelled_caller_waits_for_the_thread_and_gets_its_result_otherwise() -> None:
    started, done = threading.Event(), []

    def work(seconds: float) -> str:
        started.set()
        time.sleep(seconds)
        done.append(time.monotonic())
        return "result"

    async def main() -> float:
        assert await to_thread_finished(work, 0) == "result"
        started.clear()
        task = asyncio.create_task(to_thread_finished(work, 0.3))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic()

    cancelled_at = asyncio.run(main())
    assert len(done) == 2 and done[1] <= cancelled_at  # the cancellation went on only once the thread ended


def test_a_thread_failing_after_the_cancel_is_not_left_unretrieved() -> None:
    started = threading.Event()

    def fail() -> None:
        started.set()
        time.sleep(0.1)
        raise RuntimeError("the store went away")

    async def main() -> None:
        with pytest.raises(RuntimeError, match="went away"):
            await to_thread_finished(fail)
        started.clear()
        task = asyncio.create_task(to_thread_finished(fail))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):  # the cancellation, not the thread's error
            await task

    asyncio.run(main())
