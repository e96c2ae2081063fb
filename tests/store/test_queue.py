"""The review queue: only deferred, unreviewed tickets; priority risk first, then the oldest; filters, counts
per reason and search."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.store.conftest import make_decision
from triage.store import QueueFilter, Recorder, Store, TicketRecord, queue, queue_size, reason_counts, submit_review
from triage.store.types import utcnow

NOW = utcnow()
TICKETS = [  # id, minutes ago, channel, subject, decision
    ("auto", 300, "email", "password reset", make_decision()),
    ("low-cat", 200, "email", "Printer jams", make_decision("printer", reasons=(("low_confidence", "category"),))),
    ("risk", 10, "portal", "Server room is hot", make_decision("hardware", "P2", "L2", reasons=(
        ("priority_risk", "priority"), ("low_confidence", "priority")))),
    ("odd", 100, "phone", "100% off_sale", make_decision("other", tier="L2", reasons=(("unfamiliar", None),))),
    ("done", 400, "email", "VPN", make_decision(reasons=(("unfamiliar", None),))),
]  # fmt: skip


@pytest.fixture
def filled(store: Store) -> Store:
    recorder = Recorder(store)
    for ticket_id, minutes, channel, subject, decision in TICKETS:
        record = TicketRecord(id=ticket_id, subject=subject, body=f"body of {ticket_id}", channel=channel)
        assert recorder.record(record, decision, received_at=NOW - timedelta(minutes=minutes))
    submit_review(store, "done", "ann", version=1)
    return store


def ids(store: Store, **filters: object) -> list[str]:
    return [item.id for item in queue(store, QueueFilter(**filters), now=NOW)]  # type: ignore[arg-type]


def test_deferred_unreviewed_tickets_most_urgent_first(filled: Store) -> None:
    assert ids(filled) == ["risk", "low-cat", "odd"]  # priority risk first, then the oldest
    [first, *_] = queue(filled, now=NOW)
    assert (first.category, first.priority, first.tier, first.priority_risk, first.version) == (
        "hardware", "P2", "L2", True, 1
    )  # fmt: skip
    assert {r["code"] for r in first.reasons} == {"priority_risk", "low_confidence"}
    assert queue_size(filled, now=NOW) == 3
    assert [item.id for item in queue(filled, limit=1, offset=1, now=NOW)] == ["low-cat"]


def test_filters(filled: Store) -> None:
    assert ids(filled, reason="low_confidence") == ["risk", "low-cat"]
    assert ids(filled, reason="low_confidence", head="category") == ["low-cat"]
    assert ids(filled, head="priority") == ["risk"]
    assert ids(filled, category="printer") == ["low-cat"]
    assert ids(filled, tier="L2") == ["risk", "odd"]
    assert ids(filled, channel="phone") == ["odd"]
    assert ids(filled, older_than=timedelta(minutes=60)) == ["low-cat", "odd"]
    assert ids(filled, newer_than=timedelta(minutes=150)) == ["risk", "odd"]
    assert ids(filled, channel="portal", reason="unfamiliar") == []


def test_search_subject_and_body_case_insensitively(filled: Store) -> None:
    assert ids(filled, search="printer") == ["low-cat"]
    assert ids(filled, search="BODY OF ODD") == ["odd"]
    assert ids(filled, search="100%") == ["odd"]  # % and _ are literal characters, not wildcards
    assert ids(filled, search="0% off_") == ["odd"] and ids(filled, search="1_0") == []


def test_counts_per_reason(filled: Store) -> None:
    assert reason_counts(filled, now=NOW) == {
        ("low_confidence", "category"): 1,
        ("low_confidence", "priority"): 1,
        ("priority_risk", "priority"): 1,
        ("unfamiliar", None): 1,  # "done" was reviewed: not counted
    }
    assert reason_counts(filled, QueueFilter(channel="email", reason="unfamiliar"), now=NOW) == {
        ("low_confidence", "category"): 1  # the reason filter does not narrow the counts of the reasons
    }


def test_a_resend_moves_the_ticket_by_its_new_decision(filled: Store) -> None:
    assert Recorder(filled).record(TicketRecord(id="odd", subject="s", body=""), make_decision())
    assert ids(filled) == ["risk", "low-cat"]  # now auto-routed
    assert Recorder(filled).record(TicketRecord(id="auto", subject="s", body=""), make_decision(reasons=(("x", None),)))
    assert ids(filled) == ["risk", "auto", "low-cat"]  # deferred now; its age is from its first receipt
