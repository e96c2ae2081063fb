"""Looking up a stored ticket with its latest decision and latest review (what ``GET /v1/tickets/{id}`` and
the desk show)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select

from triage.data.mapping import HEADS
from triage.decision import Decision
from triage.store.engine import Store
from triage.store.errors import TicketNotFound
from triage.store.models import decisions, reviews, tickets
from triage.store.records import Provenance, StoredDecision, StoredReview, TicketView


def get_ticket(store: Store, ticket_id: str) -> TicketView:
    """The ticket ``ticket_id``, or :class:`TicketNotFound`."""
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
    values: dict[str, Any] = dict(row._mapping)
    for name in ("decision_id", "review_id"):
        del values[name]
    return TicketView(**values, decision=decision, review=review)


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
