"""The grace period after SIGTERM (issue 10, section 4): requests still running when it ends are answered 503
with Retry-After and the error body, not a bare 500 from uvicorn. Driven without uvicorn: the drain is started
directly, or by a real signal to this process with a stand-in for uvicorn's handler."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import FrameType

import httpx
import pytest
from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from tests.api.conftest import KEY, make_settings
from triage.api import tickets
from triage.api.drain import Drain, DrainMiddleware
from triage.api.main import create_app
from triage.api.metrics import ServiceMetrics

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _slow(request: Request) -> JSONResponse:
    await asyncio.sleep(float(request.query_params.get("s", "5")))
    return JSONResponse({"done": True})


async def _fast(request: Request) -> JSONResponse:
    return JSONResponse({"done": True})


async def _streaming(request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        yield b"started "
        await asyncio.sleep(0.3)
        yield b"and finished"

    return StreamingResponse(parts())


def _client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=10)  # type: ignore[arg-type]


def _shutting_down(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "shutting_down"


async def test_a_request_still_running_after_the_grace_gets_503() -> None:
    drain, metrics = Drain(grace=0.1), ServiceMetrics()
    inner = Starlette(routes=[Route("/slow", _slow), Route("/fast", _fast), Route("/stream", _streaming)])
    drain.bind(asyncio.get_running_loop())
    async with _client(DrainMiddleware(inner, drain=drain, metrics=metrics)) as client:
        slow = asyncio.ensure_future(client.get("/slow"))
        finishing = asyncio.ensure_future(client.get("/slow", params={"s": "0.05"}))
        streaming = asyncio.ensure_future(client.get("/stream"))
        await asyncio.sleep(0.02)
        started = time.perf_counter()
        drain.begin()
        assert (await client.get("/fast")).json() == {"done": True}  # within the grace: served
        assert (await finishing).json() == {"done": True}
        _shutting_down(await slow)
        assert 0.05 < time.perf_counter() - started < 2
        assert (await streaming).text == "started and finished"  # a started response is never cut
        _shutting_down(await client.get("/fast"))  # after the grace: at once
    statuses = [s.labels["status"] for m in metrics.latency.collect() for s in m.samples if s.name.endswith("_count")]
    assert statuses == ["503"]  # the two 503s; the inner app's own answers are measured by LimitAndMeasure


@pytest.fixture
def slow_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    decide = tickets.decide

    def slow_decide(*args: object) -> object:
        time.sleep(0.6)
        return decide(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tickets, "decide", slow_decide)
    yield
    time.sleep(0.7)  # the abandoned worker thread finishes before the next test


async def test_the_service_answers_503_to_a_triage_running_past_the_grace(
    trained_bundle: Path, slow_model: None
) -> None:
    app = create_app(make_settings(trained_bundle, shutdown_grace=0.1))
    async with app.router.lifespan_context(app), _client(app) as client:
        client.headers["X-API-Key"] = KEY
        request = asyncio.ensure_future(client.post("/v1/triage", json={"subject": "printer jam"}))
        await asyncio.sleep(0.05)
        app.state.drain.begin()
        _shutting_down(await request)
        _shutting_down(await client.get("/metrics"))  # every route, once the grace is over
    metrics = generate_latest(app.state.metrics.registry).decode()
    assert 'triage_request_duration_seconds_count{method="POST",route="/v1/triage",status="503"} 1.0' in metrics


async def test_sigterm_starts_the_grace_then_hands_over_to_the_server(trained_bundle: Path) -> None:
    """The lifespan chains its handler before the one in place (uvicorn's, here a stand-in) and restores it."""
    received: list[int] = []

    def server_handler(sig: int, frame: FrameType | None) -> None:
        received.append(sig)

    previous = signal.signal(signal.SIGTERM, server_handler)
    try:
        app = create_app(make_settings(trained_bundle, shutdown_grace=30))
        async with app.router.lifespan_context(app):
            assert not app.state.drain.draining
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):
                if received:
                    break
                await asyncio.sleep(0.01)
            assert app.state.drain.draining and received == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is server_handler
    finally:
        signal.signal(signal.SIGTERM, previous)


async def test_sighup_reloads_the_configured_bundle(trained_bundle: Path) -> None:
    app = create_app(make_settings(trained_bundle))
    async with app.router.lifespan_context(app), _client(app) as client:
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(500):
            metrics = (await client.get("/metrics")).text
            if 'triage_model_reloads_total{result="ok"} 1.0' in metrics:
                break
            await asyncio.sleep(0.01)
        assert 'triage_model_reloads_total{result="ok"} 1.0' in metrics
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
