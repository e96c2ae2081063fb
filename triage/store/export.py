"""Reviewed tickets as training data: a CSV that ``triage train`` reads with no mapping (columns ``id``,
``created_at``, ``subject``, ``body``, ``category``, ``priority``, ``tier``) plus ``provenance``
(``accepted`` or ``corrected``; ``not_a_ticket`` rows only when asked for, without labels).

>>> export_reviews(store, Path("reviews.csv"), since=datetime(2026, 11, 1, tzinfo=UTC))  # doctest: +SKIP
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from triage.data.mapping import HEADS
from triage.store.engine import Store
from triage.store.models import reviews, tickets
from triage.store.records import Provenance

COLUMNS = ("id", "created_at", "subject", "body", *HEADS, "provenance", "channel", "reviewed_at")


@dataclass(frozen=True, slots=True)
class ExportSummary:
    rows: int
    purged: int  # reviewed tickets whose text is gone (not written: nothing to learn from)
    not_a_ticket: int  # written only with include_not_a_ticket
    by_provenance: dict[str, int]


def export_reviews(
    store: Store, out: Path, *, since: datetime | None = None, include_not_a_ticket: bool = False
) -> ExportSummary:
    """Write each ticket's latest review since ``since`` (all when None), oldest first, to ``out``."""
    query = (
        select(
            tickets.c.id,
            tickets.c.created_at,
            tickets.c.received_at,
            tickets.c.subject,
            tickets.c.body,
            tickets.c.channel,
            reviews.c.reviewed_at,
            reviews.c.provenance,
            *(reviews.c[h] for h in HEADS),
        )
        .join(reviews, reviews.c.id == tickets.c.review_id)
        .order_by(reviews.c.reviewed_at, tickets.c.id)
    )
    if since is not None:
        query = query.where(reviews.c.reviewed_at >= since)
    rows = purged = skipped = 0
    counts: dict[str, int] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with store.read() as conn, out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in conn.execution_options(yield_per=1000).execute(query):
            if row.subject is None and row.body is None:
                purged += 1
                continue
            if row.provenance == Provenance.NOT_A_TICKET:
                skipped += 1
                if not include_not_a_ticket:
                    continue
            created = row.created_at or row.received_at
            writer.writerow(
                (
                    row.id,
                    created.isoformat(timespec="seconds"),
                    row.subject or "",
                    row.body or "",
                    *((getattr(row, h) or "") for h in HEADS),
                    row.provenance,
                    row.channel or "",
                    row.reviewed_at.isoformat(timespec="seconds"),
                )
            )
            rows += 1
            counts[row.provenance] = counts.get(row.provenance, 0) + 1
    return ExportSummary(rows=rows, purged=purged, not_a_ticket=skipped, by_provenance=counts)
