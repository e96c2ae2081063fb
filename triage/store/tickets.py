"""Looking up a stored ticket with its latest decision, latest review and outcome (what
``GET /v1/tickets/{id}`` and the desk show)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select, union

from triage.data.mapping import HEADS
from triage.decision import Decision
from triage.store.engine import Store
from triage.store.errors import TicketNotFound
from triage.store.models import decisions, outcomes, reviews, tickets
from triage.store.records import Provenance, StoredDecision, StoredOutcome, StoredReview, TicketView

INTERNAL = ("decision_id", "review_id", "waiting", "queue_rank", "category", "tier")  # not in a TicketView


def get_ticket(store: Store, ticket_id: str) -> TicketView:
    """The ticket ``ticket_id``, or :class:`TicketNotFound` (a recording of it still queued is written first)."""
    store.settle(ticket_id)
    with store.read() as conn:
        return load_ticket(conn, ticket_id)


def find_ticket(store: Store, ticket_id: str) -> TicketView | None:
    try:
        return get_ticket(store, ticket_id)
    except TicketNotFound:
        return None


def load_ticket(conn: Connection, ticket_id: str) -> TicketView:
    row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
    if row is None:
        raise TicketNotFound(f"no stored ticket has the id {ticket_id!r}")
    decision = review = None
    if row.decision_id is not None:
        found = conn.execute(select(decisions).where(decisions.c.id == row.decision_id)).first()
        decision = stored_decision(found) if found is not None else None
    if row.review_id is not None:
        found = conn.execute(select(reviews).where(reviews.c.id == row.review_id)).first()
        review = stored_review(found) if found is not None else None
    found = conn.execute(select(outcomes).where(outcomes.c.ticket_id == ticket_id)).first()
    outcome = stored_outcome(found) if found is not None else None
    values: dict[str, Any] = dict(row._mapping)
    for name in INTERNAL:
        values.pop(name, None)
    return TicketView(**values, decision=decision, review=review, outcome=outcome)


def stored_decision(row: Row[Any]) -> StoredDecision:
    decision = Decision.model_validate(
        {"outcome": row.outcome, "reasons": row.reasons, "heads": row.heads, "model_version": row.model_version}
    )
    return StoredDecision(id=row.id, decided_at=row.decided_at, decision=decision)


def stored_review(row: Row[Any]) -> StoredReview:
    return StoredReview(
        id=row.id,
        agent=row.agent,
        source=row.source,
        reviewed_at=row.reviewed_at,
        provenance=Provenance(row.provenance),
        labels={head: getattr(row, head) for head in HEADS},
        changed=list(row.changed),
        decision_id=row.decision_id,
    )


def stored_outcome(row: Row[Any]) -> StoredOutcome:
    return StoredOutcome(
        source=row.source,
        resolved_at=row.resolved_at,
        received_at=row.received_at,
        labels={head: getattr(row, head) for head in HEADS},
        disagrees=list(row.disagrees),
    )


def stored_labels(store: Store) -> dict[str, set[str]]:
    """Per head, every label a decision suggested or a review chose."""
    found: dict[str, set[str]] = {head: set() for head in HEADS}
    with store.read() as conn:
        for head in HEADS:
            both = union(select(decisions.c[head]).distinct(), select(reviews.c[head]).distinct())
            found[head] = {label for (label,) in conn.execute(both) if label}
    return found
