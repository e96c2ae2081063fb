"""The desk's numbers for admins: reviews per agent by provenance, and per head and suggested label how often
agents kept the suggestion."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from triage.data.mapping import HEADS
from triage.store.engine import Store
from triage.store.models import decisions, reviews
from triage.store.types import utcnow


@dataclass
class Acceptance:
    """How often agents kept a head's suggestion: overall and per suggested label."""

    kept: int = 0
    total: int = 0
    per_label: dict[str, list[int]] = field(default_factory=dict)  # label -> [kept, total]

    @property
    def rate(self) -> float | None:
        return self.kept / self.total if self.total else None


@dataclass
class DeskNumbers:
    days: int
    reviews: int
    per_agent: dict[str, Counter[str]]  # agent -> provenance -> count
    acceptance: dict[str, Acceptance]
    reviewed_today: int


def desk_numbers(store: Store, *, days: int = 30, now: datetime | None = None, limit: int = 100_000) -> DeskNumbers:
    """Reviews of the last ``days`` days: per agent by provenance; per head and suggested label, the share of
    reviews that kept the suggestion (tickets marked "not a ticket" left out)."""
    now = now or utcnow()
    since = now - timedelta(days=days)
    query = (
        select(reviews.c.agent, reviews.c.provenance, reviews.c.changed, reviews.c.reviewed_at,
               *(decisions.c[h].label(f"suggested_{h}") for h in HEADS))
        .select_from(reviews.outerjoin(decisions, decisions.c.id == reviews.c.decision_id))
        .where(reviews.c.reviewed_at >= since)
        .order_by(reviews.c.id.desc())
        .limit(limit)
    )  # fmt: skip
    per_agent: dict[str, Counter[str]] = defaultdict(Counter)
    acceptance = {head: Acceptance() for head in HEADS}
    n = today = 0
    with store.read() as conn:
        for row in conn.execute(query):
            n += 1
            today += row.reviewed_at >= now - timedelta(days=1)
            per_agent[row.agent][row.provenance] += 1
            if row.provenance == "not_a_ticket":
                continue
            for head in HEADS:
                label = getattr(row, f"suggested_{head}")
                if label is None:
                    continue
                kept = head not in (row.changed or [])
                counts = acceptance[head].per_label.setdefault(label, [0, 0])
                counts[0] += kept
                counts[1] += 1
                acceptance[head].kept += kept
                acceptance[head].total += 1
    return DeskNumbers(days=days, reviews=n, per_agent=dict(per_agent), acceptance=acceptance, reviewed_today=today)
