"""Live quality from the store: per head and class, over the last 7 and 30 days, the realised precision of
auto-routed tickets with its 95% interval, agents' acceptance of suggestions, the share deferred and why, the
unfamiliar rate, and the drift of the predicted labels from the training data.

A window holds the tickets received in it (judged by whatever truth has arrived since) and the reviews made
in it. The truth of a ticket is its outcome from the ticketing system when there is one, else the label of
its latest review (a "not a ticket" review gives none). Everything is counted by three aggregate queries
(tickets, their reasons, reviews), grouped by the suggested labels: the database does the scanning, Python
only adds up a few hundred groups.

>>> summary = compute_quality(Store.from_url("sqlite:///triage.db"), reference)  # doctest: +SKIP
>>> summary.windows["7d"].heads["category"].total.precision  # doctest: +SKIP
0.93
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, column, func, inspect, select, table

from triage.data.mapping import HEADS
from triage.monitoring.reference import Reference
from triage.monitoring.stats import total_variation, wilson
from triage.store import Store, queue_size
from triage.store.models import decision_reasons, decisions, reviews, tickets
from triage.store.types import UTCDateTime, utcnow

WINDOWS: dict[str, int] = {"7d": 7, "30d": 30}
"""The windows live quality is computed over: label -> days."""
AUTO_ROUTE = "auto_route"
NOT_A_TICKET = "not_a_ticket"

outcomes = table(
    "outcomes",
    column("ticket_id"),
    column("received_at", UTCDateTime()),
    *(column(head) for head in HEADS),
)
"""The outcomes the ticketing system reports (one row per ticket, the latest wins), as far as live quality
reads them; a store migrated before the table existed is read without it."""


@dataclass
class Counts:
    """The counts behind the rates of one class of a head (or of the whole head)."""

    tickets: int = 0
    auto_routed: int = 0
    judged: int = 0  # auto-routed tickets whose true label is known (outcome, else review)
    correct: int = 0  # of those, the suggested label was the true one
    reviewed: int = 0  # reviews of tickets with this suggestion ("not a ticket" left out)
    accepted: int = 0  # of those, the agent kept the suggestion
    unfamiliar: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # tickets deferred with each reason ("code:head")

    def add(self, other: Counts) -> None:
        for name in ("tickets", "auto_routed", "judged", "correct", "reviewed", "accepted", "unfamiliar"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, n in other.reasons.items():
            self.reasons[key] = self.reasons.get(key, 0) + n

    @property
    def deferred(self) -> int:
        return self.tickets - self.auto_routed

    @property
    def precision(self) -> float | None:
        return self.correct / self.judged if self.judged else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% Wilson interval of the precision (None without judged tickets)."""
        return wilson(self.correct, self.judged) if self.judged else None

    @property
    def acceptance(self) -> float | None:
        return self.accepted / self.reviewed if self.reviewed else None

    @property
    def deferred_share(self) -> float | None:
        return self.deferred / self.tickets if self.tickets else None

    @property
    def unfamiliar_share(self) -> float | None:
        return self.unfamiliar / self.tickets if self.tickets else None

    def as_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "tickets": self.tickets,
            "auto_routed": self.auto_routed,
            "deferred_share": self.deferred_share,
            "judged": self.judged,
            "correct": self.correct,
            "precision": self.precision,
            "precision_interval": list(interval) if interval else None,
            "reviewed": self.reviewed,
            "accepted": self.accepted,
            "acceptance": self.acceptance,
            "unfamiliar": self.unfamiliar,
            "unfamiliar_share": self.unfamiliar_share,
            "deferral_reasons": dict(sorted(self.reasons.items(), key=lambda kv: -kv[1])),
        }


@dataclass
class HeadQuality:
    """One head in one window: per suggested class, their total, the target and the label drift."""

    head: str
    classes: dict[str, Counts] = field(default_factory=dict)
    target: float | None = None
    drift: float | None = None  # total variation between suggested and training label shares

    @property
    def total(self) -> Counts:
        total = Counts()
        for counts in self.classes.values():
            total.add(counts)
        return total

    @property
    def below_target(self) -> bool:
        """The whole interval lies under the target: the head does worse than promised, not by chance."""
        interval = self.total.interval
        return self.target is not None and interval is not None and interval[1] < self.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "below_target": self.below_target,
            "label_drift": self.drift,
            **self.total.as_dict(),
            "classes": {label: c.as_dict() for label, c in sorted(self.classes.items())},
        }


@dataclass
class WindowQuality:
    """Everything of one window (``7d`` or ``30d``): ticket-level totals and each head."""

    window: str
    since: datetime
    tickets: int = 0
    auto_routed: int = 0
    unfamiliar: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    reviews: int = 0
    not_a_ticket: int = 0
    heads: dict[str, HeadQuality] = field(default_factory=dict)

    @property
    def coverage(self) -> float | None:
        return self.auto_routed / self.tickets if self.tickets else None

    @property
    def unfamiliar_share(self) -> float | None:
        return self.unfamiliar / self.tickets if self.tickets else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "tickets": self.tickets,
            "auto_routed": self.auto_routed,
            "coverage": self.coverage,
            "unfamiliar": self.unfamiliar,
            "unfamiliar_share": self.unfamiliar_share,
            "deferral_reasons": dict(sorted(self.reasons.items(), key=lambda kv: -kv[1])),
            "reviews": self.reviews,
            "not_a_ticket": self.not_a_ticket,
            "heads": {head: h.as_dict() for head, h in self.heads.items()},
        }


@dataclass
class QualitySummary:
    computed_at: datetime
    seconds: float  # how long the queries took
    queue_size: int
    truth: str  # "outcomes and reviews", or "reviews" on a store without the outcomes table
    model_version: str | None
    windows: dict[str, WindowQuality]

    def as_dict(self) -> dict[str, Any]:
        return {
            "computed_at": self.computed_at.isoformat(),
            "seconds": round(self.seconds, 4),
            "queue_size": self.queue_size,
            "truth": self.truth,
            "model_version": self.model_version,
            "windows": {name: w.as_dict() for name, w in self.windows.items()},
        }


def reason_key(code: str, head: str | None) -> str:
    """``low_confidence:category``; ``unfamiliar`` for a reason of the whole ticket."""
    return f"{code}:{head}" if head else code


def has_outcomes(conn: Connection) -> bool:
    return inspect(conn).has_table("outcomes")


def _n(*conditions: ColumnElement[bool]) -> Any:
    """How many rows of the group meet every condition (``count(*) FILTER (WHERE ...)``, SQLite 3.30+)."""
    return func.count().filter(and_(*conditions))


_SUGGESTED = [decisions.c[h] for h in HEADS]


def _ticket_counts(conn: Connection, since: Mapping[str, datetime], with_outcomes: bool) -> list[Any]:
    """Per combination of suggested labels: tickets, auto-routed, and per head the judged and correct ones."""
    auto = decisions.c.outcome == AUTO_ROUTE
    joined = tickets.join(decisions, decisions.c.id == tickets.c.decision_id).outerjoin(
        reviews, reviews.c.id == tickets.c.review_id
    )
    if with_outcomes:
        joined = joined.outerjoin(outcomes, outcomes.c.ticket_id == tickets.c.id)
    counted = []
    for name, start in since.items():
        recent = tickets.c.received_at >= start
        counted += [_n(recent).label(f"tickets_{name}"), _n(recent, auto).label(f"auto_{name}")]
        for head in HEADS:
            truth = func.coalesce(outcomes.c[head], reviews.c[head]) if with_outcomes else reviews.c[head]
            counted.append(_n(recent, auto, truth.is_not(None)).label(f"judged_{head}_{name}"))
            counted.append(_n(recent, auto, truth == decisions.c[head]).label(f"correct_{head}_{name}"))
    query = (
        select(*_SUGGESTED, *counted)
        .select_from(joined)
        .where(tickets.c.received_at >= min(since.values()))
        .group_by(*_SUGGESTED)
    )
    return list(conn.execute(query))


def _reason_counts(conn: Connection, since: Mapping[str, datetime]) -> list[Any]:
    """Per reason (code, head) and combination of suggested labels: the tickets deferred with it."""
    counted = [_n(tickets.c.received_at >= start).label(f"tickets_{name}") for name, start in since.items()]
    keys = [decision_reasons.c.code, decision_reasons.c.head, *_SUGGESTED]
    query = (
        select(*keys, *counted)
        .select_from(
            tickets.join(decisions, decisions.c.id == tickets.c.decision_id).join(
                decision_reasons, decision_reasons.c.decision_id == decisions.c.id
            )
        )
        .where(tickets.c.received_at >= min(since.values()))
        .group_by(*keys)
    )
    return list(conn.execute(query))


def _review_counts(conn: Connection, since: Mapping[str, datetime]) -> list[Any]:
    """Per combination of the labels the reviewers saw suggested: reviews, "not a ticket", and per head the
    reviews that kept the suggestion."""
    counted = []
    for name, start in since.items():
        recent = reviews.c.reviewed_at >= start
        labelled = reviews.c.provenance != NOT_A_TICKET
        counted += [_n(recent, labelled).label(f"reviewed_{name}"), _n(recent, ~labelled).label(f"nat_{name}")]
        counted += [_n(recent, reviews.c[h] == decisions.c[h]).label(f"accepted_{h}_{name}") for h in HEADS]
    query = (
        select(*_SUGGESTED, *counted)
        .select_from(reviews.join(decisions, decisions.c.id == reviews.c.decision_id))
        .where(reviews.c.reviewed_at >= min(since.values()))
        .group_by(*_SUGGESTED)
    )
    return list(conn.execute(query))


def _classes(window: WindowQuality, row: Any) -> Iterable[tuple[str, Counts]]:
    """Each head and the counts of its suggested class in a grouped row (heads the decision lacks skipped)."""
    for head in HEADS:
        label = getattr(row, head)
        if label is not None:
            yield head, window.heads.setdefault(head, HeadQuality(head)).classes.setdefault(label, Counts())


def compute_quality(
    store: Store,
    reference: Reference | None = None,
    *,
    windows: Mapping[str, int] = WINDOWS,
    now: datetime | None = None,
) -> QualitySummary:
    """Live quality over each of ``windows`` (label -> days) ending ``now``, against ``reference``."""
    reference = reference or Reference()
    now = now or utcnow()
    since = {name: now - timedelta(days=days) for name, days in windows.items()}
    started = time.perf_counter()
    with store.read() as conn:
        with_outcomes = has_outcomes(conn)
        ticket_rows = _ticket_counts(conn, since, with_outcomes)
        reason_rows = _reason_counts(conn, since)
        review_rows = _review_counts(conn, since)
    queued = queue_size(store, now=now)
    result = {name: WindowQuality(name, start) for name, start in since.items()}
    for name, window in result.items():
        for row in ticket_rows:
            n, auto = getattr(row, f"tickets_{name}"), getattr(row, f"auto_{name}")
            window.tickets += n
            window.auto_routed += auto
            for head, counts in _classes(window, row):
                counts.tickets += n
                counts.auto_routed += auto
                counts.judged += getattr(row, f"judged_{head}_{name}")
                counts.correct += getattr(row, f"correct_{head}_{name}")
        for row in reason_rows:
            n = getattr(row, f"tickets_{name}")
            key = reason_key(row.code, row.head)
            window.reasons[key] = window.reasons.get(key, 0) + n
            window.unfamiliar += n if row.code == "unfamiliar" else 0
            for _, counts in _classes(window, row):
                counts.reasons[key] = counts.reasons.get(key, 0) + n
                counts.unfamiliar += n if row.code == "unfamiliar" else 0
        for row in review_rows:
            window.reviews += getattr(row, f"reviewed_{name}")
            window.not_a_ticket += getattr(row, f"nat_{name}")
            for head, counts in _classes(window, row):
                counts.reviewed += getattr(row, f"reviewed_{name}")
                counts.accepted += getattr(row, f"accepted_{head}_{name}")
        for head, quality in window.heads.items():
            quality.classes = {label: c for label, c in quality.classes.items() if c.tickets or c.reviewed}
            quality.target = reference.targets.get(head)
            training = reference.training_counts.get(head)
            if training:
                quality.drift = total_variation({k: c.tickets for k, c in quality.classes.items()}, training)
    return QualitySummary(
        computed_at=now,
        seconds=time.perf_counter() - started,
        queue_size=queued,
        truth="outcomes and reviews" if with_outcomes else "reviews",
        model_version=reference.model_version,
        windows=result,
    )
