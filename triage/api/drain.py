"""The grace period after SIGTERM: requests running when it ends are answered 503 with ``Retry-After``.

Without it, uvicorn cancels what still runs at its own timeout and the client gets a bare 500. :class:`Drain`
holds the deadline (a future resolved ``grace`` seconds after :meth:`Drain.begin`); :class:`DrainMiddleware`
runs each request as a task and waits for whichever comes first, the response or the deadline. A response
already started is left to finish (uvicorn's ``timeout_graceful_shutdown``, a little longer, bounds it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import suppress

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.api.errors import RETRY_AFTER_S, error_body
from triage.api.metrics import ServiceMetrics

logger = logging.getLogger(__name__)

UNAVAILABLE = json.dumps(
    error_body("shutting_down", "the service is shutting down; send the request again (another instance answers)")
).encode()


class Drain:
    """The shutdown deadline of one app; bound to the event loop in the lifespan."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.deadline: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.deadline, self._timer = loop.create_future(), None

    @property
    def draining(self) -> bool:
        return self._timer is not None

    def begin(self) -> None:
        """Start the grace period (on the event loop's thread; a second call changes nothing)."""
        if self.deadline is None or self._timer is not None:
            return
        logger.info("shutting down: requests still running in %.1f s will be answered 503", self.grace)
        self._timer = self.deadline.get_loop().call_later(self.grace, self._expire)

    def _expire(self) -> None:
        if self.deadline is not None and not self.deadline.done():
            self.deadline.set_result(None)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.deadline is not None and not self.deadline.done():
            self.deadline.cancel()


class DrainMiddleware:
    def __init__(self, app: ASGIApp, *, drain: Drain, metrics: ServiceMetrics) -> None:
        self.app, self.drain, self.metrics = app, drain, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        deadline = self.drain.deadline
        if scope["type"] != "http" or deadline is None:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        if deadline.done():
            await self._unavailable(scope, send, start)
            return
        started = abandoned = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if abandoned:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        try:
            await asyncio.wait((task, deadline), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task.done() or started:
            await task
            return
        abandoned = True
        task.add_done_callback(_forget)
        task.cancel()  # a worker thread it waits for still finishes; its answer is dropped
        await self._unavailable(scope, send, start)

    async def _unavailable(self, scope: Scope, send: Send, start: float) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(UNAVAILABLE)).encode()),
            (b"retry-after", RETRY_AFTER_S.encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": UNAVAILABLE})
        self.metrics.observe(scope, 503, start)


def _forget(task: asyncio.Future[None]) -> None:
    """Retrieve an abandoned request's outcome, so asyncio does not log it as never retrieved."""
    with suppress(asyncio.CancelledError, Exception):
        task.result()
