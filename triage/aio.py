"""Work in a thread from a background task that shutdown may cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def to_thread_finished(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """:func:`asyncio.to_thread`, except that a cancelled caller waits for the thread to finish before the
    cancellation goes on. A background loop cancelled at shutdown so returns its database connection before
    the store is disposed: a connection returned to a disposed pool afterwards was closed only by the garbage
    collector, with a ``ResourceWarning``, at some later moment."""
    thread = asyncio.ensure_future(asyncio.to_thread(func, *args, **kwargs))
    try:
        return await asyncio.shield(thread)
    except asyncio.CancelledError:
        await asyncio.wait([thread])
        if not thread.cancelled():
            thread.exception()  # retrieved: the thread's own failure does not matter once cancelled
        raise
