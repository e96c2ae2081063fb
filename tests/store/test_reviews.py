"""Reviews and claims: provenance, optimistic conflicts refused with who and when, claims that keep agents
apart, and 8 agents working one queue without ever sharing a ticket."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.store.conftest import make_decision
from triage.store import (
    Provenance,
    Recorder,
    ReviewConflict,
    Store,
    TicketNotFound,
    TicketRecord,
    claim_next,
    get_ticket,
    open_ticket,
    release,
    submit_review,
)
from triage.store.audit import audit_entries
from triage.store.models import reviews
from triage.store.outbox import due, mark_delivered, mark_failed
from triage.store.types import utcnow

LOW = (("low_confidence", "category"),)


def _deferred(store: Store, *ids: str) -> None:
    items = [(TicketRecord(id=i, subject=f"subject {i}", body="body"), make_decision(reasons=LOW)) for i in ids]
    assert Recorder(store).record_many(items)


def test_provenance_accepted_corrected_not_a_ticket(store: Store) -> None:
    _deferred(store, "A", "C", "N")
    accepted = submit_review(store, "A", "ann", version=1, labels={"category": "vpn"})
    corrected = submit_review(store, "C", "ann", version=1, labels={"category": "printer", "tier": "L2"})
    spam = submit_review(store, "N", "bob", version=1, not_a_ticket=True)
    assert accepted.review is not None and accepted.review.provenance is Provenance.ACCEPTED
    assert accepted.review.labels == {"category": "vpn", "priority": "P3", "tier": "L1"} and not accepted.review.changed
    assert corrected.review is not None and corrected.review.provenance is Provenance.CORRECTED
    assert corrected.review.labels == {"category": "printer", "priority": "P3", "tier": "L2"}
    assert corrected.review.changed == ["category", "tier"]
    assert spam.review is not None and spam.review.provenance is Provenance.NOT_A_TICKET
    assert spam.review.labels == {"category": None, "priority": None, "tier": None}
    assert (accepted.version, accepted.reviewed_by, corrected.decision) == (2, "ann", get_ticket(store, "C").decision)
    assert [e.action for e in audit_entries(store, ticket_id="C")] == ["review"]
    assert audit_entries(store, ticket_id="C")[0].detail["changed"] == ["category", "tier"]


def test_a_review_of_a_ticket_someone_else_finished_is_refused_with_who_and_when(store: Store) -> None:
    _deferred(store, "T")
    seen = open_ticket(store, "T", "ann")
    assert seen.version == 1
    first = submit_review(store, "T", "ann", version=1, labels={"category": "printer"})
    with pytest.raises(ReviewConflict) as caught:
        submit_review(store, "T", "bob", version=seen.version, labels={"category": "network"})
    conflict = caught.value
    assert (conflict.by, conflict.at, conflict.version, conflict.claimed) == ("ann", first.reviewed_at, 2, False)
    assert "reviewed by ann at" in str(conflict) and "nothing was changed" in str(conflict)
    ticket = get_ticket(store, "T")  # nothing overwritten
    assert ticket.review is not None and ticket.review.labels["category"] == "printer" and ticket.version == 2
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(reviews)).scalar() == 1
    again = submit_review(store, "T", "bob", version=2, labels={"category": "network"})  # with the new version
    assert again.review is not None and again.review.agent == "bob" and again.version == 3


def test_a_claim_keeps_other_agents_out_until_it_expires(store: Store) -> None:
    _deferred(store, "T")
    now = utcnow()
    assert open_ticket(store, "T", "ann", minutes=10, now=now).claimed_by == "ann"
    assert open_ticket(store, "T", "bob", now=now).claimed_by == "ann"  # bob sees who holds it
    with pytest.raises(ReviewConflict, match="claimed by ann until") as caught:
        submit_review(store, "T", "bob", version=1, now=now)
    assert caught.value.claimed and caught.value.at == now + timedelta(minutes=10)
    later = now + timedelta(minutes=11)
    assert open_ticket(store, "T", "bob", now=later).claimed_by == "bob"  # expired: bob may take it
    assert not release(store, "T", "ann") and release(store, "T", "bob")
    assert get_ticket(store, "T").claimed_by is None


def test_unknown_ticket_and_head(store: Store) -> None:
    with pytest.raises(TicketNotFound):
        submit_review(store, "nope", "ann", version=1)
    _deferred(store, "T")
    with pytest.raises(ValueError, match="unknown head"):
        submit_review(store, "T", "ann", version=1, labels={"colour": "red"})


def test_the_webhook_delivery_is_written_with_the_review(store: Store) -> None:
    _deferred(store, "T", "U")
    submit_review(store, "T", "ann", version=1, labels={"category": "printer"}, webhook=True, source="api")
    submit_review(store, "U", "ann", version=1)  # no webhook configured: no delivery
    [delivery] = due(store)
    assert delivery.ticket_id == "T" and delivery.attempts == 0
    assert delivery.payload["provenance"] == "corrected" and delivery.payload["category"] == "printer"
    assert delivery.payload["source"] == "api" and "subject" not in delivery.payload
    later = mark_failed(store, delivery, "HTTP 502")
    assert due(store) == [] and due(store, now=later)[0].attempts == 1
    mark_delivered(store, delivery.id)
    assert due(store, now=later + timedelta(days=1)) == []
    with pytest.raises(ReviewConflict):  # a refused review leaves no delivery
        submit_review(store, "T", "bob", version=1, webhook=True)
    assert due(store, now=later + timedelta(days=1)) == []


def test_eight_agents_never_get_the_same_ticket(store: Store) -> None:
    ids = [f"T{i:03d}" for i in range(200)]
    _deferred(store, *ids)
    handled: list[tuple[str, str]] = []
    lock = threading.Lock()

    def work(agent: str) -> None:
        while (ticket := claim_next(store, agent)) is not None:
            assert ticket.claimed_by == agent
            submit_review(store, ticket.id, agent, version=ticket.version)
            with lock:
                handled.append((ticket.id, agent))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, [f"agent{i}" for i in range(8)]))
    assert sorted(i for i, _ in handled) == ids  # each ticket exactly once
    assert len(Counter(a for _, a in handled)) > 1
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(reviews)).scalar() == 200
    assert claim_next(store, "late") is None


def test_claim_next_skips_claimed_tickets_and_takes_the_most_urgent(store: Store) -> None:
    recorder, now = Recorder(store), utcnow()
    for ticket_id, age in (("new", 1), ("old", 60)):
        record = TicketRecord(id=ticket_id, subject="s", body="")
        assert recorder.record(record, make_decision(reasons=LOW), received_at=now - timedelta(minutes=age))
    urgent = make_decision(reasons=(("priority_risk", "priority"),))
    assert recorder.record(TicketRecord(id="risky", subject="s", body=""), urgent)  # the newest
    first = claim_next(store, "ann")
    second = claim_next(store, "bob")
    assert first is not None and second is not None and (first.id, second.id) == ("risky", "old")
    third = claim_next(store, "ann")  # ann already holds "risky": she gets it back (her own claim)
    assert third is not None and third.id == "risky"
