"""A pure-ASGI middleware (cheap on the hot path): request-size limit (413) and latency metrics."""

from __future__ import annotations

import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.api.metrics import ServiceMetrics

KNOWN_ROUTES = {
    "/v1/triage",
    "/v1/triage/batch",
    "/v1/model",
    "/v1/admin/reload",
    "/healthz",
    "/readyz",
    "/metrics",
}


class LimitAndMeasure:
    def __init__(self, app: ASGIApp, *, max_bytes: int, metrics: ServiceMetrics) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.metrics = metrics

    async def _too_large(self, send: Send, size: str) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "payload_too_large",
                    "message": f"request body {size} exceeds the limit of {self.max_bytes} bytes",
                    "details": [],
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
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

        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send, f"of {int(declared)} bytes")
            status["code"] = 413
        else:
            # Buffer the body up to the limit (covers chunked uploads without content-length).
            chunks: list[bytes] = []
            size = 0
            more = scope["method"] in ("POST", "PUT", "PATCH")
            disconnected: Message | None = None
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    disconnected = message
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_bytes:
                    await self._too_large(send, "is too large")
                    self._observe(scope, 413, start)
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

            await self.app(scope, replay if scope["method"] in ("POST", "PUT", "PATCH") else receive, send_wrapper)
        self._observe(scope, status["code"], start)

    def _observe(self, scope: Scope, status: int, start: float) -> None:
        path = scope.get("path", "")
        route = path if path in KNOWN_ROUTES else "other"
        self.metrics.latency.labels(route=route, method=scope.get("method", ""), status=str(status)).observe(
            time.perf_counter() - start
        )
