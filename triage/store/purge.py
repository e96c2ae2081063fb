"""Text retention: a ticket's subject and body are kept ``text_retention_days`` after it was last received,
then set to NULL; its decisions, reviews and labels stay. ``triage db purge`` runs it; the service runs
:func:`purge_daily` in the background.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import update

from triage.aio import to_thread_finished
from triage.store.audit import audit
from triage.store.engine import Store
from triage.store.models import tickets
from triage.store.types import utcnow

log = logging.getLogger(__name__)
DAY = 86_400.0


def purge_text(store: Store, *, retention_days: int, now: datetime | None = None, actor: str = "system") -> int:
    """Remove the text of tickets last received more than ``retention_days`` ago; returns how many (and audits
    it when any)."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    with store.write() as conn:
        result = conn.execute(
            update(tickets)
            .where(tickets.c.updated_at < cutoff, tickets.c.text_purged_at.is_(None))
            .values(subject=None, body=None, text_purged_at=now)
        )
        purged = int(result.rowcount)
        if purged:
            detail = {"tickets": purged, "received_before": cutoff.isoformat(), "retention_days": retention_days}
            audit(conn, actor, "purge_text", detail=detail)
    return purged


async def purge_daily(store: Store, *, retention_days: int, every: float = DAY) -> None:
    """Purge now and then every ``every`` seconds, until cancelled (the API starts it as a lifespan task). A
    failed run is logged and retried at the next one; the service keeps serving."""
    while True:
        try:
            purged = await to_thread_finished(purge_text, store, retention_days=retention_days)
            if purged:
                log.info("purged the text of %d tickets older than %d days", purged, retention_days)
        except Exception as exc:  # a background task must not die
            log.warning("text purge failed (%s); next try in %.0f s", type(exc).__name__, every)
        await asyncio.sleep(every)
