"""Outcomes from the ticketing system: idempotent, the later one wins, a never-triaged ticket is kept as a
labelled ticket, disagreements with the review and the suggestion are counted, and the final labels carry
their provenance (outcome over review)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.store.conftest import make_decision
from tests.store.test_waiting import assert_consistent
from triage.store import (
    LabelProvenance,
    OutcomeRecord,
    OutcomeStatus,
    QueueFilter,
    Recorder,
    ReviewConflict,
    Store,
    TicketRecord,
    claim_next,
    final_labels,
    get_ticket,
    queue,
    queue_size,
    reason_counts,
    record_outcome,
    record_outcomes,
    submit_review,
)
from triage.store.audit import audit_entries
from triage.store.models import outcomes, tickets
from triage.store.outcomes import disagreements

LOW = (("low_confidence", "category"),)
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _triaged(store: Store, ticket_id: str, category: str = "vpn", *, deferred: bool = True) -> None:
    decision = make_decision(category, "P3", "L1", reasons=LOW if deferred else ())
    record = TicketRecord(id=ticket_id, subject=f"subject {ticket_id}", body="body")
    assert Recorder(store).record(record, decision, received_at=T0)


def _outcome(ticket_id: str, at: datetime | None = T0, source: str = "servicenow", **labels: str) -> OutcomeRecord:
    return OutcomeRecord(ticket_id, source, labels or {"category": "vpn"}, resolved_at=at)


def _stored(store: Store, ticket_id: str) -> dict:
    with store.read() as conn:
        return dict(conn.execute(select(outcomes).where(outcomes.c.ticket_id == ticket_id)).one()._mapping)


def test_an_outcome_is_idempotent_and_the_later_one_wins(store: Store) -> None:
    _triaged(store, "INC1")
    first = record_outcome(store, _outcome("INC1", T0, category="printer", priority="P2"))
    assert first.status is OutcomeStatus.CREATED and not first.new_ticket
    assert first.labels == {"category": "printer", "priority": "P2", "tier": None}
    assert first.model_disagrees == ["category", "priority"]  # the model suggested vpn, P3 (tier not reported)
    retry = record_outcome(store, _outcome("INC1", T0, category="printer", priority="P2"))
    assert retry.status is OutcomeStatus.UNCHANGED
    later = record_outcome(store, _outcome("INC1", T0 + timedelta(hours=2), category="network"))
    assert later.status is OutcomeStatus.UPDATED and later.model_disagrees == ["category"]
    stale = record_outcome(store, _outcome("INC1", T0 + timedelta(hours=1), category="printer"))
    assert stale.status is OutcomeStatus.SUPERSEDED
    assert stale.labels["category"] == "network" and stale.resolved_at == T0 + timedelta(hours=2)
    stored = _stored(store, "INC1")
    assert (stored["category"], stored["priority"], stored["resolved_at"]) == ("network", None, later.resolved_at)
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(outcomes)).scalar_one() == 1
    # one audit entry per change, none for the retry and the stale one; never any text
    entries = [e for e in audit_entries(store, ticket_id="INC1") if e.action == "outcome"]
    assert [e.detail["status"] for e in entries] == ["updated", "created"]
    assert entries[0].actor == "servicenow" and "subject" not in str(entries[0].detail)


def test_an_outcome_for_a_ticket_never_triaged_keeps_it_as_a_labelled_ticket(store: Store) -> None:
    record = OutcomeRecord(
        "SN-9", "zendesk", {"priority": "urgent"}, subject="Printer on fire", body="Smoke from tray 2", channel="web"
    )
    result = record_outcome(store, record)
    assert result.status is OutcomeStatus.CREATED and result.new_ticket
    ticket = get_ticket(store, "SN-9")
    assert ticket.decision is None and ticket.review is None and ticket.times_received == 0
    assert (ticket.subject, ticket.body, ticket.channel) == ("Printer on fire", "Smoke from tray 2", "web")
    # it is training data with the outcome's provenance, and it never enters the review queue
    [labelled] = list(final_labels(store))
    assert labelled.provenance is LabelProvenance.OUTCOME and labelled.labels["priority"] == "urgent"
    with store.read() as conn:
        assert conn.execute(select(tickets.c.waiting).where(tickets.c.id == "SN-9")).scalar_one() is False
    # triaged afterwards (the system sent it late, deferred): the ticket is updated, the outcome stays, and the
    # resolved ticket does not join the queue
    _triaged(store, "SN-9", "printer")
    assert get_ticket(store, "SN-9").decision is not None and _stored(store, "SN-9")["priority"] == "urgent"
    assert queue_size(store) == 0 and [i.id for i in queue(store)] == []
    assert_consistent(store)


def test_a_resolved_ticket_leaves_the_queue_and_a_stale_submit_names_the_outcome(store: Store) -> None:
    risk = (("priority_risk", "priority"), ("low_confidence", "priority"))
    for ticket_id, reasons in (("A", LOW), ("B", risk), ("C", LOW), ("D", ())):
        decision = make_decision("vpn", "P3", "L1", reasons=reasons)
        assert Recorder(store).record(TicketRecord(id=ticket_id, subject="s", body="b"), decision, received_at=T0)
    assert queue_size(store) == 3 and reason_counts(store)[("low_confidence", "category")] == 2
    held = claim_next(store, "ann")  # B: the priority risk comes first
    assert held is not None and held.id == "B"
    # one batch: B (claimed) and A leave the queue, D (auto-routed) and N (never triaged) never were in it
    record_outcomes(store, [_outcome(t, category="printer") for t in ("B", "A", "D", "N")])
    assert_consistent(store)
    assert [i.id for i in queue(store)] == ["C"] and queue_size(store) == 1
    assert reason_counts(store) == {("low_confidence", "category"): 1}
    assert queue_size(store, QueueFilter(reason="priority_risk")) == 0
    assert claim_next(store, "carl") is not None and claim_next(store, "dora") is None  # only C is left
    # the agent who held B submits what they read: refused, naming the ticketing system's outcome
    with pytest.raises(ReviewConflict, match=r"resolved in the ticketing system \(outcome from servicenow") as info:
        submit_review(store, "B", "ann", version=held.version, labels={"category": "vpn"})
    assert info.value.resolved and info.value.by == "servicenow" and info.value.at == T0
    ticket = get_ticket(store, "B")
    assert ticket.review is None and ticket.claimed_by is None and ticket.version == held.version + 1
    assert ticket.outcome is not None and ticket.outcome.labels["category"] == "printer"
    # retries and re-sends change nothing: the counts stay exact and the resolved tickets stay out
    record_outcome(store, _outcome("A", category="printer"))
    _triaged(store, "A")
    assert Recorder(store).record(TicketRecord(id="B", subject="s", body="b"), make_decision(reasons=risk))
    assert_consistent(store)
    assert [i.id for i in queue(store)] == ["C"] and queue_size(store) == 1
    # an outcome after a review: the ticket is already out of the queue; the reviewer's stale submit is refused
    submit_review(store, "C", "carl", version=1)
    record_outcome(store, _outcome("C", category="vpn"))
    with pytest.raises(ReviewConflict, match="resolved in the ticketing system"):
        submit_review(store, "C", "carl", version=2)
    assert_consistent(store)
    assert queue_size(store) == 0 and get_ticket(store, "C").review is not None


def test_disagreements_with_the_review_and_the_suggestion_are_kept_and_counted(store: Store) -> None:
    for ticket_id in ("A", "B", "C"):
        _triaged(store, ticket_id)
    submit_review(store, "A", "ann", version=1, labels={"category": "printer"})  # corrected
    submit_review(store, "B", "ann", version=1)  # accepted: vpn, P3, L1
    results = record_outcomes(
        store,
        [
            _outcome("A", category="printer", tier="L2"),  # agrees with the review on category
            _outcome("B", category="network", priority="P3"),  # contradicts the agent and the model
            _outcome("C", category="vpn"),  # never reviewed; agrees with the model
            _outcome("D", category="vpn"),  # never triaged
        ],
    )
    assert [r.disagrees for r in results] == [["tier"], ["category"], [], []]
    assert [r.model_disagrees for r in results] == [["category", "tier"], ["category"], [], []]
    assert _stored(store, "B")["disagrees"] == ["category"]
    counts = disagreements(store)
    assert (counts.outcomes, counts.reviewed, counts.suggested) == (4, 2, 3)
    assert counts.with_review == {"category": 1, "priority": 0, "tier": 1}
    assert counts.with_suggestion == {"category": 2, "priority": 0, "tier": 1}
    assert disagreements(store, since=datetime.now(UTC) + timedelta(days=1)).outcomes == 0


def test_final_labels_take_the_outcome_over_the_review_head_by_head(store: Store) -> None:
    for ticket_id in ("ACC", "COR", "OUT", "SPAM", "RAW"):
        _triaged(store, ticket_id)
    at = T0 + timedelta(days=1)
    submit_review(store, "ACC", "ann", version=1, now=at)
    submit_review(store, "COR", "ann", version=1, labels={"priority": "P1"}, now=at)
    submit_review(store, "OUT", "ann", version=1, labels={"tier": "L2"}, now=at)
    submit_review(store, "SPAM", "ann", version=1, not_a_ticket=True, now=at)
    record_outcome(store, _outcome("OUT", T0 + timedelta(days=2), category="printer"))
    labelled = {t.id: t for t in final_labels(store)}
    assert set(labelled) == {"ACC", "COR", "OUT", "SPAM"}  # RAW has neither a review nor an outcome
    assert labelled["ACC"].provenance is LabelProvenance.AGENT_ACCEPTED
    assert labelled["COR"].provenance is LabelProvenance.AGENT_CORRECTED
    assert labelled["COR"].labels == {"category": "vpn", "priority": "P1", "tier": "L1"}
    assert labelled["SPAM"].provenance is LabelProvenance.NOT_A_TICKET
    out = labelled["OUT"]  # the outcome's category; the heads it left empty keep the agent's labels
    assert out.provenance is LabelProvenance.OUTCOME
    assert out.labels == {"category": "printer", "priority": "P3", "tier": "L2"}
    assert out.labelled_at == T0 + timedelta(days=2)
    later = [t.id for t in final_labels(store, since=T0 + timedelta(days=1, hours=12))]
    assert later == ["OUT"]


def test_a_bad_outcome_is_refused_before_the_store() -> None:
    with pytest.raises(ValueError, match="unknown head"):
        OutcomeRecord("X", "api", {"severity": "high"})
    with pytest.raises(ValueError, match="at least one head"):
        OutcomeRecord("X", "api", {"category": None})


def test_concurrent_outcomes_for_one_new_ticket_keep_the_latest(store: Store) -> None:
    """Eight webhook deliveries at once for a ticket the store has never seen: one ticket row, one outcome,
    and it is the latest."""
    records = [_outcome("NEW", T0 + timedelta(minutes=i), category=f"c{i}") for i in range(8)]
    errors: list[BaseException] = []

    def send(record: OutcomeRecord) -> None:
        try:
            record_outcome(store, record)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(r,)) for r in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _stored(store, "NEW")["category"] == "c7"
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(tickets)).scalar_one() == 1
