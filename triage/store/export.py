"""Labelled tickets as training data: a CSV that ``triage train`` reads with no mapping (columns ``id``,
``created_at``, ``subject``, ``body``, ``category``, ``priority``, ``tier``) plus ``provenance`` (``outcome``,
``agent_accepted`` or ``agent_corrected``: :mod:`triage.store.labels`; ``not_a_ticket`` rows only when asked
for, without labels), ``channel`` and ``labelled_at``.

>>> export_reviews(store, Path("reviews.csv"), since=datetime(2026, 11, 1, tzinfo=UTC))  # doctest: +SKIP
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from triage.data.mapping import HEADS
from triage.store.engine import Store
from triage.store.labels import LabelProvenance, final_labels

COLUMNS = ("id", "created_at", "subject", "body", *HEADS, "provenance", "channel", "labelled_at")


@dataclass(frozen=True, slots=True)
class ExportSummary:
    rows: int
    purged: int  # labelled tickets whose text is gone (not written: nothing to learn from)
    not_a_ticket: int  # written only with include_not_a_ticket
    by_provenance: dict[str, int]


def export_reviews(
    store: Store, out: Path, *, since: datetime | None = None, include_not_a_ticket: bool = False
) -> ExportSummary:
    """Write each ticket's final labels (its outcome, else its latest review) labelled since ``since`` (all
    when None), oldest first, to ``out``."""
    rows = purged = skipped = 0
    counts: dict[str, int] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for ticket in final_labels(store, since=since):
            if ticket.purged:
                purged += 1
                continue
            if ticket.provenance == LabelProvenance.NOT_A_TICKET:
                skipped += 1
                if not include_not_a_ticket:
                    continue
            writer.writerow(
                (
                    ticket.id,
                    ticket.created_at.isoformat(timespec="seconds"),
                    ticket.subject or "",
                    ticket.body or "",
                    *((ticket.labels[h] or "") for h in HEADS),
                    ticket.provenance.value,
                    ticket.channel or "",
                    ticket.labelled_at.isoformat(timespec="seconds"),
                )
            )
            rows += 1
            counts[ticket.provenance.value] = counts.get(ticket.provenance.value, 0) + 1
    return ExportSummary(rows=rows, purged=purged, not_a_ticket=skipped, by_provenance=counts)
