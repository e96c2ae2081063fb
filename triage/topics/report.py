"""Candidate categories of a desk: the store's recent candidate tickets, embedded by the served bundle's own
encoder, clustered and named (what ``triage topics`` prints and the desk's admin page shows).

>>> report = store_topics(store, load_bundle("models/default"), days=30, min_size=5)  # doctest: +SKIP
>>> [(t.terms[:3], t.size, t.growth_text) for t in report.topics]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from triage.models.bundle import Bundle
from triage.store import Store
from triage.store.types import utcnow
from triage.topics.candidates import candidate_tickets
from triage.topics.proposals import Topic, find_topics
from triage.topics.vectors import DISTANCES, representation, ticket_vectors


@dataclass
class TopicReport:
    days: int
    computed_at: datetime
    model_version: str
    candidates: int  # candidate tickets read (at most the limit)
    unfamiliar: int  # of which flagged unfamiliar
    new_category: int  # of which corrected to a category the model does not have
    topics: list[Topic] = field(default_factory=list)

    @property
    def clustered(self) -> int:
        return sum(t.size for t in self.topics)

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "computed_at": self.computed_at.isoformat(),
            "model_version": self.model_version,
            "candidates": self.candidates,
            "unfamiliar": self.unfamiliar,
            "new_category": self.new_category,
            "clustered": self.clustered,
            "topics": [t.as_dict() for t in self.topics],
        }


def store_topics(
    store: Store,
    bundle: Bundle,
    *,
    days: int = 30,
    min_size: int = 5,
    limit: int = 5000,
    now: datetime | None = None,
) -> TopicReport:
    """Candidate categories among the tickets received in the last ``days`` days (at most ``limit``, the
    most recent)."""
    if days < 1:
        raise ValueError(f"days: {days} is below 1")
    now = now or utcnow()
    known = bundle.manifest.heads["category"].labels if "category" in bundle.manifest.heads else []
    found = candidate_tickets(store, since=now - timedelta(days=days), known_categories=known, limit=limit)
    report = TopicReport(
        days=days,
        computed_at=now,
        model_version=bundle.version,
        candidates=len(found),
        unfamiliar=sum(c.unfamiliar for c in found),
        new_category=sum(c.new_category is not None for c in found),
    )
    if len(found) >= min_size:
        texts = [c.text for c in found]
        vectors = ticket_vectors(bundle.model, texts)
        report.topics = find_topics(
            texts,
            vectors,
            ids=[c.id for c in found],
            times=[c.received_at for c in found],
            now=now,
            min_size=min_size,
            distance=DISTANCES[representation(bundle.model)],
        )
    return report
