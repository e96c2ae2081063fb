"""Recording on the hot path: what is kept, re-sends update instead of duplicating (also concurrently), and a
dead database costs a counted miss, never an error or a wait."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.store.conftest import make_decision
from triage.store import Recorder, Store, TicketRecord, get_ticket
from triage.store.models import decision_reasons, decisions, tickets

DEFERRED = (("low_confidence", "priority"), ("priority_risk", "priority"), ("unfamiliar", None))


def test_a_ticket_and_its_decision_are_kept_whole(store: Store) -> None:
    decision = make_decision("vpn", "P2", "L2", reasons=DEFERRED)
    created = datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    record = TicketRecord.from_request(
        id="INC0012345",
        subject="  VPN <b>keeps</b> disconnecting ",
        body="<p>Since this morning&nbsp;it drops.</p>",
        channel="email",
        created_at=created,
        metadata={"site": "Berlin", "vip": True},
    )
    assert Recorder(store).record(record, decision)
    ticket = get_ticket(store, "INC0012345")
    assert (ticket.subject, ticket.body) == ("VPN keeps disconnecting", "Since this morning it drops.")
    assert (ticket.channel, ticket.created_at, ticket.metadata) == ("email", created, {"site": "Berlin", "vip": True})
    assert ticket.received_at.tzinfo is not None and ticket.times_received == 1 and ticket.version == 1
    assert ticket.decision is not None and ticket.review is None
    assert ticket.decision.decision == decision  # outcome, reasons, every head's label/confidence/threshold/sets
    assert ticket.decision.decision.heads["priority"].prediction_set == ["P2", "x", "y"]


def test_a_ticket_without_id_gets_one() -> None:
    first, second = (TicketRecord.from_request(id=None, subject="a", body="b") for _ in range(2))
    assert first.id.startswith("triage-") and first.id != second.id


def test_a_resent_ticket_is_updated_not_duplicated(store: Store) -> None:
    recorder = Recorder(store)
    created = datetime(2026, 11, 1, tzinfo=UTC)
    assert recorder.record(TicketRecord(id="T1", subject="old", body="x", created_at=created), make_decision("vpn"))
    first = get_ticket(store, "T1")
    time.sleep(0.01)
    resent = TicketRecord(id="T1", subject="new", body="y", channel="portal")
    assert recorder.record(resent, make_decision("network", reasons=(("unfamiliar", None),)))
    ticket = get_ticket(store, "T1")
    assert (ticket.subject, ticket.body, ticket.channel, ticket.times_received) == ("new", "y", "portal", 2)
    assert ticket.created_at == created  # a re-send without created_at keeps it
    assert ticket.received_at == first.received_at < ticket.updated_at
    assert ticket.decision is not None and ticket.decision.decision.heads["category"].label == "network"
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(tickets)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(decisions)).scalar() == 2  # every decision is kept


def test_concurrent_resends_never_duplicate(store: Store) -> None:
    recorder = Recorder(store)
    ids = [f"INC{i}" for i in range(10)]

    def send(round_: int) -> bool:
        batch = [(TicketRecord(id=i, subject=f"s{round_}", body="b"), make_decision()) for i in ids]
        return recorder.record_many(batch[round_ % 10 :] + batch[: round_ % 10])  # each thread its own order

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(send, range(40)))
    singles = [(TicketRecord(id="INC0", subject="one", body="b"), make_decision()) for _ in range(20)]
    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(lambda item: recorder.record(*item), singles))
    with store.read() as conn:
        counts = dict(conn.execute(select(tickets.c.id, tickets.c.times_received)).all())
        assert conn.execute(select(func.count()).select_from(decisions)).scalar() == 40 * 10 + 20
    assert counts == {i: 40 + (20 if i == "INC0" else 0) for i in ids}
    assert recorder.misses == 0


def test_reasons_are_rows_to_filter_on(store: Store) -> None:
    assert Recorder(store).record(TicketRecord(id="T", subject="s", body=""), make_decision(reasons=DEFERRED))
    with store.read() as conn:
        rows = set(conn.execute(select(decision_reasons.c.code, decision_reasons.c.head)).all())
        risk = conn.execute(select(decisions.c.priority_risk, decisions.c.outcome)).one()
    assert rows == {("low_confidence", "priority"), ("priority_risk", "priority"), ("unfamiliar", "")}
    assert tuple(risk) == (True, "needs_review")


@pytest.mark.parametrize("url", ["postgresql+psycopg://nobody@127.0.0.1:1/none", "sqlite:////nonexistent/dir/x.db"])
def test_an_unreachable_database_fails_fast_and_counts_the_miss(url: str, caplog: pytest.LogCaptureFixture) -> None:
    missed: list[int] = []
    recorder = Recorder(Store.from_url(url, connect_timeout=1), retry_after=60, on_miss=missed.append)
    secret = TicketRecord(id="T", subject="my password is hunter2", body="")
    start = time.perf_counter()
    assert recorder.record(secret, make_decision()) is False
    assert time.perf_counter() - start < 2.5
    start = time.perf_counter()  # within retry_after: no new attempt at all
    assert recorder.record_many([(secret, make_decision())] * 3) is False
    assert time.perf_counter() - start < 0.01
    assert recorder.misses == 4 and missed == [1, 3]
    assert "hunter2" not in caplog.text and len(caplog.records) == 1  # one line per outage, no ticket text


def test_recording_resumes_after_the_outage(store: Store) -> None:
    recorder = Recorder(store, retry_after=0.05)
    recorder._down_until = time.monotonic() + 0.05  # as after a failure
    assert not recorder.record(TicketRecord(id="A", subject="s", body=""), make_decision())
    time.sleep(0.06)
    assert recorder.record(TicketRecord(id="B", subject="s", body=""), make_decision())
    assert recorder.misses == 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_busy_sqlite_writer_costs_a_miss_not_a_stall(store: Store) -> None:
    path = store.engine.url.database
    assert path is not None
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock (a long purge, say)
    try:
        recorder = Recorder(store, wait=0.2)
        start = time.perf_counter()
        assert not recorder.record(TicketRecord(id="T", subject="s", body=""), make_decision())
        assert time.perf_counter() - start < 1.0 and recorder.misses == 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
