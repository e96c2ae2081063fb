"""A small ticket is answered on the event loop once its answers are known to be short (or not so short, while
it is the only request open); a long ticket, a slow model and the first answers after a load go to a worker
thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import KEY, make_settings
from triage.api import tickets
from triage.api.main import create_app
from triage.api.routes.triage import INLINE_BYTES
from triage.api.state import ALONE_BUDGET_S, INLINE_BUDGET_S, AnswerTime


def _busy(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU (the answer time counts CPU, not sleep)."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def where(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether each decision was made on the event loop (True) or in a worker thread (False)."""
    seen: list[bool] = []
    decide = tickets.decide

    def watched(*args: object) -> object:
        seen.append(_on_event_loop())
        return decide(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tickets, "decide", watched)
    yield seen


def test_short_answers_move_to_the_event_loop_long_tickets_never(trained_bundle: Path, where: list[bool]) -> None:
    with TestClient(create_app(make_settings(trained_bundle, max_text_chars=5000))) as client:
        client.headers["X-API-Key"] = KEY
        warm_up = client.app.state.model.answer_time.warm_up  # type: ignore[attr-defined]
        for _ in range(warm_up + 5):
            reply = client.post("/v1/triage", json={"subject": "printer jam", "body": "paper stuck on floor 2"})
            assert reply.status_code == 200 and reply.json()["heads"]["category"]["label"]
        assert where[:warm_up] == [False] * warm_up  # measured first, in worker threads
        assert where[warm_up:] == [True] * 5  # then answered on the loop, as they are short
        long_body = "the printer on floor two jams on every page " * (INLINE_BYTES // 40)
        assert client.post("/v1/triage", json={"body": long_body}).status_code == 200
        assert where[-1] is False  # a long ticket: a worker thread
        invalid = client.post("/v1/triage", json={"body": 3})
        assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "validation_error"  # also inline


def _slowed(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    decide = tickets.decide

    def slow(*args: object) -> object:
        _busy(seconds)
        return decide(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tickets, "decide", slow)


def test_a_slow_model_stays_in_worker_threads(
    trained_bundle: Path, where: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    _slowed(monkeypatch, 1.5 * ALONE_BUDGET_S)  # slower than the budget even for a request on its own
    with TestClient(create_app(make_settings(trained_bundle))) as client:
        client.headers["X-API-Key"] = KEY
        for _ in range(25):
            assert client.post("/v1/triage", json={"subject": "printer jam"}).status_code == 200
        timing = client.app.state.model.answer_time  # type: ignore[attr-defined]
        assert timing.samples == 25 and timing.average > ALONE_BUDGET_S
    assert where == [False] * 25


def test_a_slower_model_answers_on_the_loop_only_while_no_other_request_is_open(
    trained_bundle: Path, where: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    _slowed(monkeypatch, 2 * INLINE_BUDGET_S)  # over the budget for a busy worker, under the one for a lone request
    with TestClient(create_app(make_settings(trained_bundle))) as client:
        client.headers["X-API-Key"] = KEY
        app, portal = client.app, client.portal  # type: ignore[attr-defined]
        warm_up = app.state.model.answer_time.warm_up
        for _ in range(warm_up + 3):
            assert client.post("/v1/triage", json={"subject": "printer jam"}).status_code == 200
        assert where == [False] * warm_up + [True] * 3  # one at a time: on the loop
        seen_open: list[int] = []
        decide = tickets.decide

        def counted(*args: object) -> object:
            seen_open.append(app.state.open_requests.count)
            return decide(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(tickets, "decide", counted)

        async def two_at_once() -> tuple[int, int]:
            """One client sends half its ticket and waits; another sends a whole ticket meanwhile."""
            rest = asyncio.Event()

            async def halting_body() -> AsyncIterator[bytes]:
                yield b'{"subject": "printer'
                await rest.wait()
                yield b' jam"}'

            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=client.headers) as http:
                kind = {"content-type": "application/json"}
                halting = asyncio.ensure_future(http.post("/v1/triage", content=halting_body(), headers=kind))
                await asyncio.sleep(0.05)  # its first half is read: it is open
                whole = await http.post("/v1/triage", json={"subject": "printer jam"})
                rest.set()
                return whole.status_code, (await halting).status_code

        assert portal.call(two_at_once) == (200, 200)
        assert app.state.open_requests.count == 0
    assert seen_open == [2, 1]  # the whole ticket while the other was open; then the other, alone
    assert where[-2:] == [False, True]  # so the first went to a worker thread, the second stayed on the loop


def test_answer_time_is_a_moving_average_and_resets_with_a_new_model(trained_bundle: Path) -> None:
    timing = AnswerTime(warm_up=2)
    assert not timing.short()
    assert timing.timed(lambda x: x + 1, 1) == 2
    assert timing.timed(_busy, 0.02) is None
    assert timing.samples == 2 and 0.001 < timing.average < 0.005 and timing.short()  # 0.9 of the first
    timing.timed(time.sleep, 0.2)
    assert timing.average < 0.005 and timing.short()  # waiting is not answering: no CPU spent
    timing.timed(_busy, 0.1)
    assert timing.average > 0.01 and not timing.short()
    with pytest.raises(ZeroDivisionError):
        timing.timed(lambda: 1 / 0)  # an error is measured too, and raised
    assert timing.samples == 5
    with TestClient(create_app(make_settings(trained_bundle))) as client:
        state = client.app.state.model  # type: ignore[attr-defined]
        state.answer_time.samples = 99
        state.load()
        assert state.answer_time.samples == 0
