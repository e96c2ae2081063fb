"""Live quality on /metrics of a recording service: the seeded store's figures as `triage_live_*` series, the
served bundle's targets, the queue and the store's health; a scrape reads the cache, never the store."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import KEY, make_settings
from tests.conftest import PRECISION_TARGETS
from triage.api.main import create_app
from triage.monitoring.stats import wilson


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    types = [line.split()[2] for line in answer.text.splitlines() if line.startswith("# TYPE ")]
    assert len(types) == len(set(types)), "a metric family is written twice"
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def test_the_live_figures_are_exported_per_head_class_and_window(service: TestClient) -> None:
    live = service.app.state.live_quality  # type: ignore[attr-defined]
    assert live.refresh() is not None
    found = samples(service)
    lower, upper = wilson(3, 4)
    category_7d = {"head": "category", "window": "7d"}
    assert value(found, "triage_live_precision", **category_7d) == 0.75
    assert value(found, "triage_live_precision_lower", **category_7d) == pytest.approx(lower)
    assert value(found, "triage_live_precision_upper", **category_7d) == pytest.approx(upper)
    assert value(found, "triage_live_judged_tickets", **category_7d) == 4
    assert value(found, "triage_live_precision", head="category", window="30d") == 0.6
    assert value(found, "triage_live_class_precision", head="category", window="7d", **{"class": "vpn"}) == 0.75
    assert value(found, "triage_live_class_acceptance_ratio", head="category", window="7d", **{"class": "email"}) == 0
    assert value(found, "triage_live_acceptance_ratio", **category_7d) == 0.5
    assert value(found, "triage_live_class_deferred_ratio", head="category", window="7d", **{"class": "email"}) == 1
    assert value(found, "triage_live_tickets", window="7d") == 9
    assert value(found, "triage_live_auto_routed_ratio", window="7d") == pytest.approx(5 / 9)
    assert value(found, "triage_live_unfamiliar_ratio", window="7d") == pytest.approx(2 / 9)
    assert value(found, "triage_live_deferral_reason_ratio", window="7d", reason="unfamiliar", head="") == (
        pytest.approx(2 / 9)
    )
    assert value(found, "triage_live_deferral_reason_ratio", window="7d", reason="low_confidence", head="category") == (
        pytest.approx(3 / 9)
    )
    # the served bundle's targets and training labels (its data-quality summary): the seed's labels are not its own
    for head, target in PRECISION_TARGETS.items():
        assert value(found, "triage_head_precision_target", head=head) == target
    assert 0 < value(found, "triage_live_label_drift", **category_7d) <= 1
    assert value(found, "triage_review_queue_size") == 1
    assert value(found, "triage_store_up") == 1
    assert value(found, "triage_live_class_unfamiliar_ratio", head="category", window="7d", **{"class": "vpn"}) == (
        pytest.approx(1 / 6)
    )
    # a class with no judged ticket has no precision series rather than a 0
    assert (
        "triage_live_class_precision",
        frozenset({"head": "category", "class": "email", "window": "7d"}.items()),
    ) not in found


def test_a_scrape_reads_the_cache_and_a_stale_cache_refreshes_in_the_background(service: TestClient) -> None:
    live = service.app.state.live_quality  # type: ignore[attr-defined]
    calls: list[int] = []
    original = live.refresh

    def counted() -> object:
        calls.append(1)
        return original()

    live.refresh = counted
    first = samples(service)  # nothing cached yet: the scrape starts a refresh and does not wait for it
    assert ("triage_live_tickets", frozenset({"window": "7d"}.items())) not in first
    assert value(first, "triage_store_up") == 1
    for _ in range(200):  # the background refresh ends within a moment
        if live.summary() is not None:
            break
        time.sleep(0.01)
    assert value(samples(service), "triage_live_tickets", window="7d") == 9
    assert len(calls) == 1  # further scrapes within max_age reuse it


def test_an_unusable_store_is_reported_down(service: TestClient) -> None:
    recording = service.app.state.recording  # type: ignore[attr-defined]
    service.app.state.live_quality.refresh()  # type: ignore[attr-defined]
    recording.unreachable = "store unusable: OperationalError"
    found = samples(service)
    assert value(found, "triage_store_up") == 0
    assert value(found, "triage_live_tickets", window="7d") == 9  # the last figures are kept


def test_a_service_that_does_not_record_exports_no_store_figures(trained_bundle: Path) -> None:
    with TestClient(create_app(make_settings(trained_bundle))) as client:
        client.headers["X-API-Key"] = KEY
        names = {name for name, _ in samples(client)}
    assert "triage_head_precision_target" in names
    assert not any(n.startswith(("triage_live_", "triage_store_up", "triage_review_queue")) for n in names)
