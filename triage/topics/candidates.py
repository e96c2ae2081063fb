"""The stored tickets that may show a new kind of request: those the model flagged unfamiliar (reason
``unfamiliar`` on their latest decision), and those an agent corrected to a category the model does not have
(the desk has no "none of these" choice: a label it knows from elsewhere, typed by the agent, is that
signal). Tickets whose latest review says "not a ticket", and tickets whose text was purged, are left out.

>>> candidate_tickets(store, since=now - timedelta(days=30), known_categories=bundle_labels)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, or_, select

from triage.data.cleaning import PreparedText
from triage.store import Provenance, Store
from triage.store.models import decision_reasons, reviews, tickets

UNFAMILIAR = "unfamiliar"  # the reason code of triage.decision.Triager


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    text: str  # cleaned subject and body, as the model read them
    received_at: datetime
    unfamiliar: bool
    new_category: str | None  # the agent's category when the model does not have it


def candidate_tickets(
    store: Store,
    *,
    since: datetime,
    known_categories: Collection[str],
    limit: int = 5000,
) -> list[Candidate]:
    """Candidate tickets received since ``since``, the most recent first, at most ``limit`` of them."""
    flagged = exists().where(
        decision_reasons.c.decision_id == tickets.c.decision_id, decision_reasons.c.code == UNFAMILIAR
    )
    known = sorted(known_categories)
    new_label = and_(
        reviews.c.provenance == Provenance.CORRECTED.value,
        reviews.c.category.is_not(None),
        reviews.c.category.not_in(known),
    )
    query = (
        select(
            tickets.c.id,
            tickets.c.subject,
            tickets.c.body,
            tickets.c.received_at,
            flagged.label("unfamiliar"),
            reviews.c.provenance,
            reviews.c.category,
        )
        .select_from(tickets.outerjoin(reviews, reviews.c.id == tickets.c.review_id))
        .where(
            tickets.c.received_at >= since,
            or_(tickets.c.subject.is_not(None), tickets.c.body.is_not(None)),
            or_(reviews.c.id.is_(None), reviews.c.provenance != Provenance.NOT_A_TICKET.value),
            or_(flagged, new_label),
        )
        .order_by(tickets.c.received_at.desc(), tickets.c.id)
        .limit(limit)
    )
    with store.read() as conn:
        rows = conn.execute(query).all()
    found = []
    for row in rows:
        text = PreparedText(row.subject or "", row.body or "", False).text
        corrected = row.provenance == Provenance.CORRECTED.value and row.category not in known
        found.append(
            Candidate(row.id, text, row.received_at, bool(row.unfamiliar), row.category if corrected else None)
        )
    return found
