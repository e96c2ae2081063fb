"""The queue kept on the ticket rows: the ``waiting`` flag, the reason keys and the counts stay equal to what
the decisions and reviews say, through record, re-send, claim, review and purge (also with agents and the
write-behind recorder at work at once), and migration 0002 fills them for a database written by 0001."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine, column, func, insert, select, table, text

from tests.store.conftest import make_decision
from triage.store import (
    QueueFilter,
    Recorder,
    SearchTooSlow,
    Store,
    TicketRecord,
    claim_next,
    queue,
    queue_page,
    queue_size,
    reason_counts,
    submit_review,
    upgrade,
)
from triage.store.models import decision_reasons, decisions, outcomes, queue_counts, queue_reasons, tickets
from triage.store.purge import purge_text
from triage.store.queue import _Searching
from triage.store.types import UTCDateTime, utcnow
from triage.store.writer import QueuedRecorder

LOW = (("low_confidence", "category"),)
RISK = (("priority_risk", "priority"), ("low_confidence", "priority"))
ODD = (("unfamiliar", None),)


def truth(store: Store) -> tuple[dict[str, bool], Counter[tuple[str, str]]]:
    """What the queue must be, from the decisions, reviews and outcomes alone: waiting per ticket (deferred, not
    reviewed, not resolved), and the counts per key (each reason, each reason on any head, any reason on each
    head, and the total). Tickets without a decision (known from an outcome only) never wait."""
    query = (
        select(
            tickets.c.id,
            tickets.c.reviewed_at,
            decisions.c.outcome,
            decisions.c.id.label("d"),
            outcomes.c.ticket_id.label("resolved"),
        )
        .outerjoin(decisions, decisions.c.id == tickets.c.decision_id)
        .outerjoin(outcomes, outcomes.c.ticket_id == tickets.c.id)
    )
    with store.read() as conn:
        rows = conn.execute(query).all()
        reasons = conn.execute(select(decision_reasons)).all()
    by_decision: dict[str, set[tuple[str, str]]] = {}
    for r in reasons:
        by_decision.setdefault(r.decision_id, set()).add((r.code, r.head))
    waiting = {r.id: r.reviewed_at is None and r.outcome == "needs_review" and r.resolved is None for r in rows}
    counts: Counter[tuple[str, str]] = Counter()
    for r in rows:
        if waiting[r.id]:
            keys = {("*", "*")}
            for code, head in by_decision.get(r.d, set()):
                keys |= {(code, head), (code, "*")} | ({("*", head)} if head else set())
            counts.update(keys)
    return waiting, counts


def assert_consistent(store: Store) -> None:
    waiting, counts = truth(store)
    with store.read() as conn:
        flags = dict(conn.execute(select(tickets.c.id, tickets.c.waiting)).all())
        kept = {(c, h): n for c, h, n in conn.execute(select(queue_counts)) if n}
        keyed = Counter((r.code, r.head) for r in conn.execute(select(queue_reasons)))
        ranks = conn.execute(
            select(tickets.c.id, tickets.c.queue_rank, decisions.c.priority_risk).join(
                decisions, decisions.c.id == tickets.c.decision_id
            )
        ).all()
    assert {k: bool(v) for k, v in flags.items()} == waiting
    assert kept == dict(counts) == dict(keyed)
    assert all(rank == (0 if risk else 1) for _, rank, risk in ranks)


def test_the_queue_follows_record_resend_claim_review_and_purge(store: Store) -> None:
    recorder, now = Recorder(store), utcnow()
    for i, (ticket_id, reasons) in enumerate((("A", LOW), ("B", RISK), ("C", ODD), ("D", ()))):
        record = TicketRecord(id=ticket_id, subject=f"s{ticket_id}", body="b", channel="email")
        assert recorder.record(record, make_decision(reasons=reasons), received_at=now - timedelta(days=100 - i))
    assert_consistent(store)
    assert queue_size(store) == 3 and reason_counts(store)[("low_confidence", "priority")] == 1
    assert [i.id for i in queue(store)] == ["B", "A", "C"]
    # re-sends: C is routed now (leaves), D deferred with a risk (joins, first), A changes its reason
    assert recorder.record(TicketRecord(id="C", subject="s", body=""), make_decision())
    assert recorder.record(TicketRecord(id="D", subject="s", body=""), make_decision(reasons=RISK))
    assert recorder.record(TicketRecord(id="A", subject="s", body=""), make_decision(reasons=ODD))
    assert_consistent(store)
    assert [i.id for i in queue(store)] == ["B", "D", "A"]  # D keeps its first receipt's age
    assert reason_counts(store) == {("priority_risk", "priority"): 2, ("low_confidence", "priority"): 2,
                                    ("unfamiliar", None): 1}  # fmt: skip
    claimed = claim_next(store, "ann")
    assert claimed is not None and claimed.id == "B"
    assert_consistent(store)  # a claim does not take a ticket out of the queue
    submit_review(store, "B", "ann", version=claimed.version)
    assert_consistent(store)
    assert [i.id for i in queue(store)] == ["D", "A"] and queue_size(store) == 2
    # a reviewed ticket re-sent stays reviewed; an unversioned second review changes no count
    assert recorder.record(TicketRecord(id="B", subject="s", body=""), make_decision(reasons=RISK))
    submit_review(store, "B", "carl", version=None, not_a_ticket=True)
    assert_consistent(store)
    assert purge_text(store, retention_days=30, now=now + timedelta(days=60)) == 4  # the text goes, not the queue
    assert_consistent(store)
    assert queue_size(store, QueueFilter(reason="priority_risk")) == 1 and queue_size(store) == 2


def test_counts_stay_exact_with_agents_and_the_recorder_at_once(store: Store) -> None:
    recorder = QueuedRecorder(store, batch=7).start()
    ids = [f"T{i:03d}" for i in range(120)]
    decisions_ = [make_decision(reasons=(LOW, RISK, ODD)[i % 3]) for i in range(len(ids))]
    try:
        for ticket_id, decision in zip(ids, decisions_, strict=True):
            assert recorder.record(TicketRecord(id=ticket_id, subject="s", body=""), decision)
        stop = threading.Event()

        accepted: list[bool] = []

        def resend() -> None:  # the ticketing system retries while agents work
            k = 0
            while not stop.wait(0.002):
                k += 1
                accepted.append(recorder.record(TicketRecord(id=ids[k % len(ids)], subject="s", body=""),
                                                decisions_[k % 3]))  # fmt: skip

        def work(agent: str) -> int:
            done = 0
            while (ticket := claim_next(store, agent)) is not None:
                submit_review(store, ticket.id, agent, version=ticket.version)
                done += 1
            return done

        sender = threading.Thread(target=resend)
        sender.start()
        with ThreadPoolExecutor(4) as pool:
            done = sum(pool.map(work, ["a", "b", "c", "d"]))
        stop.set()
        sender.join()
        assert recorder.flush(), recorder.last_exception
    finally:
        recorder.close()
    assert done == len(ids) and recorder.misses == 0 and accepted and all(accepted), recorder.last_exception
    assert_consistent(store)


def test_filtered_pages_cap_the_count_and_search_has_a_time_limit(store: Store) -> None:
    recorder, now = Recorder(store), utcnow()
    items = [(TicketRecord(id=f"P{i:02d}", subject=f"printer {i}", body="", channel="phone" if i % 2 else "email"),
              make_decision("printer", reasons=LOW if i % 3 else RISK)) for i in range(30)]  # fmt: skip
    assert recorder.record_many(items, received_at=now - timedelta(hours=1))
    page = queue_page(store, QueueFilter(channel="phone"), limit=5, cap=10)
    assert (page.size, page.capped, page.total, page.counts) == (10, True, 30, None)  # "10+"; no counts
    page = queue_page(store, QueueFilter(channel="phone", search="printer 1"), limit=50, cap=10)
    assert not page.capped and page.size == len(page.items) == 6  # 1, 11, 13, 15, 17, 19
    assert page.counts == reason_counts(store, QueueFilter(channel="phone", search="printer 1"))
    page = queue_page(store, QueueFilter(reason="priority_risk"), limit=5, cap=5)
    assert (page.size, page.capped) == (10, False)  # a reason alone: exact, from the counts
    assert page.counts == reason_counts(store)
    assert [i.id for i in page.items] == [i.id for i in queue(store, QueueFilter(reason="priority_risk"), limit=5)]


def test_a_search_past_its_time_limit_is_stopped_with_a_clear_error(store: Store) -> None:
    slow = {  # a statement that runs for about a second on each database
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
        "SELECT count(*) FROM n",
        "postgresql": "SELECT pg_sleep(1)",
    }[store.dialect]
    start = time.perf_counter()
    with (
        pytest.raises(SearchTooSlow, match="narrow it"),
        store.read() as conn,
        _Searching(conn, QueueFilter(search="vpn"), 0.05),
    ):
        conn.execute(text(slow))
    assert time.perf_counter() - start < 0.8
    assert Recorder(store).record(TicketRecord(id="X", subject="vpn", body="b"), make_decision(reasons=LOW))
    assert [i.id for i in queue_page(store, QueueFilter(search="VPN")).items] == ["X"]  # the limit is per read
    with store.read() as conn:  # and it ends with the read: the connection goes back to the pool without it
        assert conn.execute(text(slow.replace("3000000", "30000").replace("1)", "0)"))).scalar() is not None


TICKETS_0001 = table(
    "tickets", *(column(c) for c in ("id", "times_received", "truncated", "metadata", "decision_id", "version")),
    *(column(c, UTCDateTime()) for c in ("received_at", "updated_at", "reviewed_at")),
)  # fmt: skip


def fill_0001(engine: Engine) -> None:
    """Tickets as revision 0001 wrote them: deferred, routed, reviewed, a risk, a ticket with no decision."""
    now = utcnow()
    rows = [("W1", "needs_review", False, LOW, None), ("W2", "needs_review", True, RISK, None),
            ("R1", "auto_route", False, (), None), ("V1", "needs_review", False, ODD, now),
            ("N1", None, False, (), None)]  # fmt: skip
    with engine.begin() as conn:
        for i, (ticket_id, outcome, risk, reasons, reviewed) in enumerate(rows):
            at = now - timedelta(hours=10 - i)
            conn.execute(insert(TICKETS_0001), {
                "id": ticket_id, "received_at": at, "updated_at": at, "times_received": 1, "truncated": False,
                "metadata": "{}", "decision_id": f"d-{ticket_id}" if outcome else None, "version": 1,
                "reviewed_at": reviewed})  # fmt: skip
            if outcome is None:
                continue
            conn.execute(insert(decisions), {
                "id": f"d-{ticket_id}", "ticket_id": ticket_id, "decided_at": now, "outcome": outcome,
                "model_version": "m", "category": "vpn", "priority": "P2", "tier": "L1", "priority_risk": risk,
                "reasons": [], "heads": {}})  # fmt: skip
            for code, head in reasons:
                conn.execute(insert(decision_reasons), {"decision_id": f"d-{ticket_id}", "code": code,
                                                        "head": head or ""})  # fmt: skip


def test_migration_0002_fills_the_queue_of_an_existing_database(empty_engine: Engine) -> None:
    upgrade(empty_engine, "0001")
    fill_0001(empty_engine)
    upgrade(empty_engine, "0002")
    store = Store(empty_engine)
    with store.read() as conn:  # nothing lost on the way (no table copy cascading to the decisions)
        assert conn.execute(select(func.count()).select_from(decisions)).scalar() == 4
        rows = {r.id: (bool(r.waiting), r.queue_rank, r.category) for r in conn.execute(select(tickets))}
    assert rows == {"W1": (True, 1, "vpn"), "W2": (True, 0, "vpn"), "R1": (False, 1, "vpn"),
                    "V1": (False, 1, "vpn"), "N1": (False, 1, None)}  # fmt: skip
    assert [i.id for i in queue(store)] == ["W2", "W1"]
    assert queue_size(store) == 2 and queue_size(store, QueueFilter(head="priority")) == 1
    assert reason_counts(store) == {("low_confidence", "category"): 1, ("low_confidence", "priority"): 1,
                                    ("priority_risk", "priority"): 1}  # fmt: skip
    upgrade(empty_engine)  # on to head; then the queue keeps working as before
    submit_review(store, "W2", "ann", version=1)
    assert [i.id for i in queue(store)] == ["W1"] and queue_size(store) == 1
