"""Each stored ticket's final labels and where they come from: training data out of the store.

The ticketing system's outcome wins over an agent's review (it is the later word on the ticket); a head the
outcome leaves empty keeps the review's label. Provenance says which source decided: ``outcome``,
``agent_accepted`` (the agent kept every suggestion), ``agent_corrected``; imported exports are ``export``
(:mod:`triage.data.loader`). ``triage train --from-store`` and ``triage export reviews`` read them here.

>>> for ticket in final_labels(store, since=datetime(2026, 11, 1, tzinfo=UTC)): ...  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select

from triage.data.mapping import HEADS
from triage.store.engine import Store
from triage.store.models import outcomes, reviews, tickets
from triage.store.records import Provenance

if TYPE_CHECKING:
    from triage.data.loader import LabelledSource


class LabelProvenance(StrEnum):
    """Where a ticket's training labels come from."""

    OUTCOME = "outcome"  # the ticketing system's final labels
    AGENT_ACCEPTED = "agent_accepted"  # an agent kept the model's suggestions
    AGENT_CORRECTED = "agent_corrected"  # an agent changed at least one
    EXPORT = "export"  # an imported export file
    NOT_A_TICKET = "not_a_ticket"  # an agent said: spam, an auto-reply (no labels)


_FROM_REVIEW = {
    Provenance.ACCEPTED.value: LabelProvenance.AGENT_ACCEPTED,
    Provenance.CORRECTED.value: LabelProvenance.AGENT_CORRECTED,
    Provenance.NOT_A_TICKET.value: LabelProvenance.NOT_A_TICKET,
}


@dataclass(frozen=True, slots=True)
class LabelledTicket:
    """A stored ticket with final labels; ``subject`` and ``body`` are the cleaned text (None once purged)."""

    id: str
    created_at: datetime  # in the ticketing system, else when first received
    subject: str | None
    body: str | None
    channel: str | None
    labels: dict[str, str | None]
    provenance: LabelProvenance
    labelled_at: datetime  # the outcome's resolution time, else the review's time

    @property
    def purged(self) -> bool:
        return self.subject is None and self.body is None


def final_labels(store: Store, *, since: datetime | None = None) -> Iterator[LabelledTicket]:
    """Every ticket with an outcome or a review (labelled at or after ``since``, when given), oldest label
    first. ``not_a_ticket`` tickets are included (their labels are None): callers leave them out or not. The
    rows are read in batches inside one read transaction, held while the iterator is consumed."""
    labelled_at = func.coalesce(outcomes.c.resolved_at, reviews.c.reviewed_at)
    query = (
        select(
            tickets.c.id,
            tickets.c.created_at,
            tickets.c.received_at,
            tickets.c.subject,
            tickets.c.body,
            tickets.c.channel,
            reviews.c.provenance,
            reviews.c.reviewed_at,
            outcomes.c.resolved_at,
            *(reviews.c[h].label(f"r_{h}") for h in HEADS),
            *(outcomes.c[h].label(f"o_{h}") for h in HEADS),
        )
        .select_from(tickets)
        .outerjoin(reviews, reviews.c.id == tickets.c.review_id)
        .outerjoin(outcomes, outcomes.c.ticket_id == tickets.c.id)
        .where(or_(reviews.c.id.is_not(None), outcomes.c.ticket_id.is_not(None)))
        .order_by(labelled_at, tickets.c.id)
    )
    if since is not None:
        query = query.where(labelled_at >= since)
    with store.read() as conn:
        for row in conn.execution_options(yield_per=1000).execute(query):
            review = {h: getattr(row, f"r_{h}") for h in HEADS}
            if row.resolved_at is not None:
                labels = {h: getattr(row, f"o_{h}") or review[h] for h in HEADS}
                provenance, at = LabelProvenance.OUTCOME, row.resolved_at
            else:
                labels, provenance, at = review, _FROM_REVIEW[row.provenance], row.reviewed_at
            yield LabelledTicket(
                id=row.id,
                created_at=row.created_at or row.received_at,
                subject=row.subject,
                body=row.body,
                channel=row.channel,
                labels=labels,
                provenance=provenance,
                labelled_at=at,
            )


def training_source(store: Store) -> LabelledSource:
    """The store's labelled tickets as training data for :func:`~triage.data.load_tickets` (``triage train
    --from-store``): those whose text is purged, and "not a ticket" ones, are left out and counted in the notes."""
    import pandas as pd

    from triage.data.loader import LabelledSource

    rows: list[dict[str, object]] = []
    purged = not_a_ticket = 0
    for ticket in final_labels(store):
        if ticket.provenance == LabelProvenance.NOT_A_TICKET:
            not_a_ticket += 1
        elif ticket.purged:
            purged += 1
        else:
            rows.append(
                {
                    "id": ticket.id,
                    "created_at": ticket.created_at,
                    "subject": ticket.subject or "",
                    "body": ticket.body or "",
                    **ticket.labels,
                    "provenance": ticket.provenance.value,
                    "channel": ticket.channel or "",
                }
            )
    columns = ["id", "created_at", "subject", "body", *HEADS, "provenance", "channel"]
    notes = []
    if purged:
        notes.append(f"{purged} labelled tickets of the store left out: their text was purged (retention)")
    if not_a_ticket:
        notes.append(f"{not_a_ticket} tickets of the store left out: agents marked them 'not a ticket'")
    return LabelledSource(name=f"store {store.where}", frame=pd.DataFrame(rows, columns=columns), notes=notes)
