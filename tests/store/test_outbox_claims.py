"""The outbox shared by replicas: a delivery claimed by one sender is not taken by another until its lease
ends; four senders draining one outbox at once (threads standing in for replicas, on SQLite and PostgreSQL)
send every delivery exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from triage.store import Store
from triage.store.models import outbox
from triage.store.outbox import claim, enqueue, mark_delivered, mark_failed, release
from triage.store.types import utcnow
from triage.webhooks import DELIVERY_HEADER, WebhookSender


def _enqueue(store: Store, n: int) -> None:
    with store.write() as conn:
        for i in range(n):
            enqueue(conn, f"T{i:03d}", {"provenance": "accepted", "n": i})


def test_a_claim_holds_until_its_lease_ends_and_a_failure_frees_it(store: Store) -> None:
    _enqueue(store, 3)
    now = utcnow()
    mine = claim(store, owner="a", lease=timedelta(minutes=5), limit=2, now=now)
    assert [d.ticket_id for d in mine] == ["T000", "T001"]  # oldest first, at most `limit`
    theirs = claim(store, owner="b", lease=timedelta(minutes=5), now=now)
    assert [d.ticket_id for d in theirs] == ["T002"]  # the rows `a` holds are not handed out again
    assert claim(store, owner="c", now=now + timedelta(minutes=4)) == []
    # `a` died holding T001: after the lease another sender takes it; T000 and T002 were delivered meanwhile
    mark_delivered(store, mine[0].id, now=now)
    mark_delivered(store, theirs[0].id, now=now)
    [late] = claim(store, owner="c", now=now + timedelta(minutes=5, seconds=1))
    assert late.ticket_id == "T001"
    # a failure drops the lease: the retry is due in 30 s, for whichever sender comes first
    retry_at = mark_failed(store, late, "HTTP 503", now=now + timedelta(minutes=6))
    assert claim(store, owner="d", now=retry_at - timedelta(seconds=1)) == []
    [again] = claim(store, owner="d", now=retry_at)
    assert again.ticket_id == "T001" and again.attempts == 1
    # a sender that stops early gives back what it did not send (only its own claims)
    assert release(store, [again.id, theirs[0].id], owner="d") == 1
    assert [d.ticket_id for d in claim(store, owner="e", now=retry_at)] == ["T001"]


def test_senders_side_by_side_send_each_delivery_once(store: Store) -> None:
    n = 300
    _enqueue(store, n)
    received: Counter[str] = Counter()
    senders_of: dict[str, set[str]] = {}
    lock = threading.Lock()

    def sender(name: str) -> WebhookSender:
        def system(request: httpx.Request) -> httpx.Response:
            with lock:
                received[request.headers[DELIVERY_HEADER]] += 1
                senders_of.setdefault(name, set()).add(request.headers[DELIVERY_HEADER])
            return httpx.Response(204)

        return WebhookSender(store, "https://desk.example/hook", transport=httpx.MockTransport(system), owner=name)

    barrier = threading.Barrier(4)

    def drain(name: str) -> int:
        each = sender(name)
        barrier.wait()  # all four start claiming at the same moment
        sent = 0
        while (result := each.deliver_due(limit=7)) != (0, 0):
            sent += result[0]
        return sent

    with ThreadPoolExecutor(4) as pool:
        sent = list(pool.map(drain, ["r1", "r2", "r3", "r4"]))
    assert sum(sent) == n
    assert len(received) == n and set(received.values()) == {1}, received.most_common(3)  # each exactly once
    assert sum(len(ids) > 0 for ids in senders_of.values()) >= 2  # the work was shared, not serialised
    with store.read() as conn:
        assert conn.execute(select(func.count()).where(outbox.c.delivered_at.is_(None))).scalar() == 0
        assert conn.execute(select(func.count()).where(outbox.c.claimed_by.is_not(None))).scalar() == 0
