"""The append-only audit log: who did what to which ticket, when (never ticket text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from triage.store.engine import Store
from triage.store.models import audit_log
from triage.store.types import utcnow


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    ticket_id: str | None
    detail: dict[str, Any]


def audit(
    conn: Connection, actor: str, action: str, *, ticket_id: str | None = None, detail: dict[str, Any] | None = None
) -> None:
    """Append one entry, inside the caller's transaction (it is written with what it reports, or not at all)."""
    values = {"at": utcnow(), "actor": actor, "action": action, "ticket_id": ticket_id, "detail": detail or {}}
    conn.execute(insert(audit_log), values)


def audit_entries(store: Store, *, ticket_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """The latest entries, newest first; those of one ticket when ``ticket_id`` is given."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if ticket_id is not None:
        query = query.where(audit_log.c.ticket_id == ticket_id)
    with store.read() as conn:
        return [AuditEntry(**row._mapping) for row in conn.execute(query)]
