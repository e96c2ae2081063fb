"""Live quality from a store whose every figure is known by hand (the seed of conftest.py), on SQLite and
PostgreSQL: precision with the outcome winning over the review, acceptance, deferral and why, unfamiliar
rate, label drift, the two windows; and the same store read with reviews alone."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.monitoring.conftest import NOW, seed
from triage.monitoring import Reference, compute_quality
from triage.monitoring.stats import wilson
from triage.store import Store

REFERENCE = Reference(
    model_version="m1", targets={"category": 0.9}, training_counts={"category": {"vpn": 50, "email": 50}}
)


def test_precision_judges_auto_routed_tickets_by_outcome_then_review(store: Store) -> None:
    seed(store)
    summary = compute_quality(store, REFERENCE, now=NOW)
    assert summary.truth == "outcomes and reviews" and summary.model_version == "m1"
    week, month = summary.windows["7d"], summary.windows["30d"]
    vpn = week.heads["category"].classes["vpn"]
    # A1 right and A2 wrong by their outcomes, A3 right by its review, A4's outcome overrules its review, A5 unknown
    assert (vpn.tickets, vpn.auto_routed, vpn.judged, vpn.correct) == (6, 5, 4, 3)
    assert vpn.precision == 0.75 and vpn.interval == wilson(3, 4)
    # 30 days add O1, auto-routed and wrong by its review; X1 (40 days) is in no window
    month_vpn = month.heads["category"].classes["vpn"]
    assert (month_vpn.tickets, month_vpn.judged, month_vpn.correct) == (7, 5, 3)
    assert (week.tickets, month.tickets) == (9, 10)
    # priority: outcomes say nothing of it; the reviews of A3 and A4 kept P3
    priority = week.heads["priority"].total
    assert (priority.judged, priority.correct, priority.precision) == (2, 2, 1.0)


def test_acceptance_deferral_reasons_unfamiliar_and_drift(store: Store) -> None:
    seed(store)
    week = compute_quality(store, REFERENCE, now=NOW).windows["7d"]
    category = week.heads["category"]
    assert (category.total.reviewed, category.total.accepted) == (4, 2)  # D3 ("not a ticket") left out
    assert (week.reviews, week.not_a_ticket) == (4, 1)
    assert category.classes["vpn"].acceptance == pytest.approx(2 / 3)  # A3 and D2 kept, A4 changed
    assert category.classes["email"].acceptance == 0.0  # D1 corrected
    assert week.heads["priority"].total.acceptance == 1.0
    assert week.coverage == pytest.approx(5 / 9)
    assert week.reasons == {"low_confidence:category": 3, "unfamiliar": 2}
    assert week.unfamiliar_share == pytest.approx(2 / 9)
    email, printer = category.classes["email"], category.classes["printer"]
    assert (email.deferred_share, email.reasons) == (1.0, {"low_confidence:category": 2})
    assert (printer.unfamiliar_share, printer.reasons) == (1.0, {"low_confidence:category": 1, "unfamiliar": 1})
    assert category.classes["vpn"].unfamiliar_share == pytest.approx(1 / 6)
    # suggested 6 vpn, 2 email, 1 printer against a 50/50 vpn/email training set
    assert category.drift == pytest.approx(0.5 * (abs(6 / 9 - 0.5) + abs(2 / 9 - 0.5) + 1 / 9))
    assert week.heads["priority"].drift is None  # no training counts for it
    assert category.target == 0.9 and not category.below_target  # 3 of 4 right: the interval reaches 0.95


def test_a_head_is_below_target_only_when_the_whole_interval_is(store: Store) -> None:
    seed(store)
    week = compute_quality(store, REFERENCE, now=NOW).windows["7d"]
    upper = week.heads["category"].total.interval[1]  # type: ignore[index]
    strict = Reference(targets={"category": upper + 0.01})
    lenient = Reference(targets={"category": upper - 0.01})
    assert compute_quality(store, strict, now=NOW).windows["7d"].heads["category"].below_target
    assert not compute_quality(store, lenient, now=NOW).windows["7d"].heads["category"].below_target


def test_the_queue_size_and_an_empty_store(store: Store) -> None:
    empty = compute_quality(store, now=NOW)
    assert empty.queue_size == 0 and empty.windows["7d"].tickets == 0 and empty.windows["7d"].heads == {}
    assert empty.windows["7d"].coverage is None
    seed(store)
    assert compute_quality(store, now=NOW).queue_size == 1  # D4: the others were reviewed or auto-routed


@pytest.mark.parametrize("backend", ["sqlite"])  # dropped on a copy; the PostgreSQL schema is the session's
def test_without_the_outcomes_table_the_reviews_are_the_truth(store: Store) -> None:
    seed(store)
    with store.write() as conn:
        conn.execute(text("DROP TABLE outcomes"))
    summary = compute_quality(store, now=NOW)
    vpn = summary.windows["7d"].heads["category"].classes["vpn"]
    assert summary.truth == "reviews"
    assert (vpn.judged, vpn.correct) == (2, 1)  # A3 right, A4 wrong by its review; A1, A2 unjudged
    assert summary.as_dict()["windows"]["7d"]["heads"]["category"]["classes"]["vpn"]["precision"] == 0.5
