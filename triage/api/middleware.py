"""Pure-ASGI middlewares (cheap on the hot path): the count of open requests; the request-size limit (413) and
latency metrics.

The body is read here, up to the limit, also when it comes without a content length (chunked); the routes
then read it from this buffer."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.api.errors import error_body
from triage.api.metrics import ServiceMetrics

_WITH_BODY = ("POST", "PUT", "PATCH")


@dataclass
class OpenRequests:
    """The HTTP requests this worker has begun and not yet answered, the one asking included."""

    count: int = 0


class CountOpen:
    """Counts requests in :class:`OpenRequests`. It must be the outermost layer: the requests the event loop
    reads from its sockets in one pass start as tasks in the next, and each is counted in its first step,
    before any of them reaches a route (a layer that wraps the app in a task of its own, as the drain does,
    would let the first one through before the others are counted)."""

    def __init__(self, app: ASGIApp, *, open_requests: OpenRequests) -> None:
        self.app, self.open = app, open_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.open.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open.count -= 1


class LimitAndMeasure:
    def __init__(self, app: ASGIApp, *, max_bytes: int, metrics: ServiceMetrics) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.metrics = metrics

    async def _too_large(self, send: Send, size: str) -> None:
        message = f"request body {size} exceeds the limit of {self.max_bytes} bytes (TRIAGE_MAX_REQUEST_BYTES)"
        body = json.dumps(error_body("payload_too_large", message)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send, f"of {int(declared)} bytes")
            self.metrics.observe(scope, 413, start)
            return
        if scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send_wrapper)
            self.metrics.observe(scope, status["code"], start)
            return
        chunks: list[bytes] = []
        size = 0
        disconnected: Message | None = None
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = message
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send, "is too large")
                self.metrics.observe(scope, 413, start)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if disconnected is not None:
                return disconnected
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send_wrapper)
        self.metrics.observe(scope, status["code"], start)
