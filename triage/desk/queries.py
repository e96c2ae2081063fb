"""Queries the desk needs that the store does not offer (yet), written against the store's tables and
transactions: an agent by name, enabling/disabling an account, the labels seen so far, claiming the next
ticket while passing over the ones an agent skipped, and the desk's numbers for admins."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, union, update

from triage.data.mapping import HEADS
from triage.store import QueueFilter, Store, TicketView
from triage.store.agents import AgentView
from triage.store.audit import audit
from triage.store.models import agents, decisions, reviews, tickets
from triage.store.queue import queue_select, unclaimed
from triage.store.reviews import CLAIM_MINUTES
from triage.store.tickets import load_ticket
from triage.store.types import utcnow


def get_agent(store: Store, name: str) -> AgentView | None:
    query = select(agents.c.id, agents.c.name, agents.c.is_admin, agents.c.created_at, agents.c.disabled_at)
    with store.read() as conn:
        row = conn.execute(query.where(agents.c.name == name)).first()
    return AgentView(**row._mapping) if row is not None else None


def set_disabled(store: Store, name: str, disabled: bool, *, actor: str) -> bool:
    """Disable (or enable again) an account, with an audit entry; False when no agent has that name."""
    with store.write() as conn:
        changed = conn.execute(
            update(agents).where(agents.c.name == name).values(disabled_at=utcnow() if disabled else None)
        ).rowcount
        if changed:
            audit(conn, actor, "agent_disabled" if disabled else "agent_enabled", detail={"agent": name})
    return bool(changed)


def stored_labels(store: Store) -> dict[str, set[str]]:
    """Per head, every label a decision suggested or a review chose."""
    found: dict[str, set[str]] = {head: set() for head in HEADS}
    with store.read() as conn:
        for head in HEADS:
            both = union(select(decisions.c[head]).distinct(), select(reviews.c[head]).distinct())
            found[head] = {label for (label,) in conn.execute(both) if label}
    return found


def claim_next_skipping(
    store: Store,
    agent: str,
    filters: QueueFilter,
    skipped: Sequence[str],
    *,
    minutes: float = CLAIM_MINUTES,
    now: datetime | None = None,
) -> TicketView | None:
    """:func:`triage.store.claim_next`, passing over the tickets in ``skipped``."""
    now = now or utcnow()
    candidate = queue_select(filters, now).where(unclaimed(agent, now))
    if skipped:
        candidate = candidate.where(tickets.c.id.not_in(list(skipped)))
    candidate = candidate.limit(1).with_for_update(skip_locked=True, of=tickets)
    with store.write() as conn:
        ticket_id = conn.execute(candidate).scalar()
        if ticket_id is None:
            return None
        until = now + timedelta(minutes=minutes)
        conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(claimed_by=agent, claimed_until=until))
        return load_ticket(conn, ticket_id)


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
