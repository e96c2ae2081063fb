"""Text retention: the text goes, labels, decisions and reviews stay; the service's daily task runs it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import event

from tests.store.conftest import make_decision
from triage.store import Recorder, Store, TicketRecord, get_ticket, submit_review
from triage.store.audit import audit_entries
from triage.store.purge import purge_daily, purge_text
from triage.store.types import utcnow


def test_purge_removes_text_and_keeps_labels_and_decisions(store: Store) -> None:
    now, recorder = utcnow(), Recorder(store)
    for ticket_id, age in (("old", 91), ("recent", 89)):
        record = TicketRecord(id=ticket_id, subject="secret subject", body="secret body", metadata={"k": 1})
        decision = make_decision("vpn", reasons=(("unfamiliar", None),))
        assert recorder.record(record, decision, received_at=now - timedelta(days=age))
    submit_review(store, "old", "ann", version=1, labels={"category": "network"})
    assert purge_text(store, retention_days=90, now=now) == 1
    old, recent = get_ticket(store, "old"), get_ticket(store, "recent")
    assert (old.subject, old.body, old.text_purged_at) == (None, None, now)
    assert (recent.subject, recent.body, recent.text_purged_at) == ("secret subject", "secret body", None)
    assert old.decision is not None and old.decision.decision.heads["category"].label == "vpn"
    assert old.review is not None and old.review.labels["category"] == "network"
    assert old.metadata == {"k": 1} and old.version == 2
    assert purge_text(store, retention_days=90, now=now) == 0  # nothing twice
    entry = audit_entries(store)[0]  # the newest; the review before it
    assert (entry.action, entry.detail["tickets"]) == ("purge_text", 1)
    assert "secret" not in str(entry.detail)
    # a re-send brings the text back, and the retention starts again
    assert recorder.record(TicketRecord(id="old", subject="again", body="b"), make_decision())
    again = get_ticket(store, "old")
    assert (again.subject, again.text_purged_at) == ("again", None)


def test_the_daily_task_purges_until_cancelled(store: Store) -> None:
    old = utcnow() - timedelta(days=5)
    assert Recorder(store).record(TicketRecord(id="T", subject="s", body="b"), make_decision(), received_at=old)

    async def run() -> None:
        task = asyncio.create_task(purge_daily(store, retention_days=1, every=0.01))
        await asyncio.sleep(0.2)
        task.cancel()

    asyncio.run(run())
    assert get_ticket(store, "T").subject is None


def test_the_purge_reads_an_index_not_every_ticket(store: Store) -> None:
    """The purge runs at each start of the service: with a million tickets a full scan of ``tickets`` would hold
    SQLite's writer for seconds. Its UPDATE, as it runs, is planned on the index of tickets whose text is kept."""
    recorder, now = Recorder(store), utcnow()
    for i in range(20):
        assert recorder.record(TicketRecord(id=f"T{i}", subject="s", body="b"), make_decision(), received_at=now)
    statements: list[tuple[str, object]] = []

    def keep(conn: object, cursor: object, statement: str, parameters: object, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE TICKETS"):
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", keep)
    try:
        assert purge_text(store, retention_days=30, now=now) == 0
    finally:
        event.remove(store.engine, "before_cursor_execute", keep)
    [(statement, parameters)] = statements
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        if store.dialect == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
        else:  # a tiny table is scanned whatever the indexes: forbid that to see which index the plan can use
            cursor.execute("SET enable_seqscan = off")
            cursor.execute(f"EXPLAIN {statement}", parameters)
        plan = " ".join(str(row) for row in cursor.fetchall())
        cursor.close()
        conn.rollback()
    assert "ix_tickets_text_kept" in plan, plan
