"""The cache a service keeps: a scrape never waits for the store, a stale summary is refreshed once in the
background, a failing store keeps the last figures and says why, and is not hammered."""

from __future__ import annotations

import time

import pytest

from tests.monitoring.conftest import seed
from triage.monitoring import LiveQuality, Reference
from triage.monitoring.live import MAX_AGE
from triage.store import Store
from triage.store.types import utcnow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_for(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the background refresh did not finish"
        time.sleep(0.01)


def test_a_stale_summary_is_refreshed_once_in_the_background(store: Store) -> None:
    seed(store, utcnow())
    clock, calls = Clock(), []
    live = LiveQuality(lambda: store, lambda: Reference(targets={"category": 0.9}), clock=clock)
    original = live.refresh

    def counted() -> object:
        calls.append(1)
        return original()

    live.refresh = counted  # type: ignore[method-assign,assignment]
    assert live.summary() is None  # nothing yet: a refresh starts, the caller does not wait
    wait_for(lambda: live.summary() is not None)
    summary = live.summary()
    assert summary is not None and summary.windows["7d"].tickets == 9
    assert summary.windows["7d"].heads["category"].target == 0.9
    clock.now += MAX_AGE - 1
    assert live.summary() is summary and len(calls) == 1  # fresh enough: no query
    assert live.age == pytest.approx(MAX_AGE - 1)
    clock.now += 2
    assert live.summary() is summary  # stale: still answered at once, refreshed behind
    wait_for(lambda: live.summary() is not summary)
    assert len(calls) == 2


def test_a_page_waits_for_the_first_summary(store: Store) -> None:
    seed(store, utcnow())
    live = LiveQuality(lambda: store)
    summary = live.summary(wait=True)
    assert summary is not None and summary.queue_size == 1


def test_a_failing_store_keeps_the_last_figures_and_is_retried_after_max_age(store: Store) -> None:
    seed(store, utcnow())
    down = Store.from_url("postgresql://postgres@127.0.0.1:1/none", connect_timeout=1)
    current, clock = [store], Clock()
    live = LiveQuality(lambda: current[0], clock=clock)
    kept = live.refresh()
    assert kept is not None and live.last_error is None
    current[0] = down
    clock.now += MAX_AGE
    assert live.refresh() is None
    assert live.last_error in ("OperationalError", "StoreUnavailable")
    assert live.summary() is kept  # the last figures, while the store is down
    clock.now += MAX_AGE / 2
    assert live.summary() is kept and not live._running.locked()  # tried a moment ago: no new try
    current[0] = store
    assert live.refresh() is not None and live.last_error is None
    down.dispose()


def test_without_a_store_nothing_is_measured() -> None:
    live = LiveQuality(lambda: None)
    assert not live.enabled and live.summary(wait=True) is None and live.refresh() is None


def test_slow_queries_are_run_less_often(store: Store) -> None:
    clock = Clock()
    live = LiveQuality(lambda: store, clock=clock, max_age=60)
    first = live.refresh()
    assert first is not None and live.interval == 60  # a small store: every max_age
    live._took = 30.0  # as if the queries had taken 30 s: at most a tenth of the time, every 300 s
    assert live.interval == 300
    clock.now += 120
    assert live.summary() is first and not live._running.locked()
    clock.now += 200
    live.summary()
    wait_for(lambda: live.summary() is not first)


def test_close_waits_for_a_running_refresh_and_starts_no_other(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """At shutdown the service closes the cache before it disposes of the store: a refresh in flight
    finishes first (its connection goes back to a live pool), and none starts after."""
    import threading

    from triage.monitoring import quality

    seed(store, utcnow())
    inside, release, finished = threading.Event(), threading.Event(), []
    compute = quality.compute_quality

    def slow(*args: object) -> object:
        inside.set()
        release.wait(5)
        result = compute(*args)  # type: ignore[arg-type]
        finished.append(time.monotonic())
        return result

    monkeypatch.setattr(quality, "compute_quality", slow)
    live = LiveQuality(lambda: store)
    assert live.summary() is None  # a refresh starts in the background
    assert inside.wait(5)
    threading.Timer(0.2, release.set).start()
    live.close()
    closed_at = time.monotonic()
    assert finished and finished[0] <= closed_at  # close() returned after the refresh
    kept = live.summary()
    assert kept is not None and kept.windows["7d"].tickets == 9  # the refresh in flight was kept
    live.clock = lambda: time.monotonic() + 10 * MAX_AGE  # stale: would start a refresh if open
    assert not live.enabled and live.summary(wait=True) is kept and live.refresh() is None
    time.sleep(0.1)
    assert len(finished) == 1  # no refresh after the close, even asked for
