"""A small ticket is answered on the event loop once its answers are known to be short; a long ticket, a slow
model and the first answers after a load go to a worker thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import KEY, make_settings
from triage.api import tickets
from triage.api.main import create_app
from triage.api.routes.triage import INLINE_BYTES
from triage.api.state import AnswerTime


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


def test_a_slow_model_stays_in_worker_threads(
    trained_bundle: Path, where: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    decide = tickets.decide

    def slow(*args: object) -> object:
        _busy(0.01)  # twice the budget
        return decide(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tickets, "decide", slow)
    with TestClient(create_app(make_settings(trained_bundle))) as client:
        client.headers["X-API-Key"] = KEY
        for _ in range(30):
            assert client.post("/v1/triage", json={"subject": "printer jam"}).status_code == 200
        timing = client.app.state.model.answer_time  # type: ignore[attr-defined]
        assert timing.samples == 30 and timing.average > 0.01
    assert where == [False] * 30


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
