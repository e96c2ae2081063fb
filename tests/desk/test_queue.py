"""The queue page: deferred tickets only, most urgent risk first then oldest, counts per reason, filters and
search, and pages that load nothing from elsewhere."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from triage.decision import Decision
from triage.store import QueueFilter, Store, TicketRecord, queue, reason_counts

Clients = Callable[[str | None], TestClient]
ROW_ID = re.compile(r'<td class="id"><a href="/review/t/([^"?]+)')


def listed(html: str) -> list[str]:
    return ROW_ID.findall(html)


def test_queue_lists_deferred_tickets_most_urgent_first(
    client_of: Clients, store: Store, decided: list[tuple[TicketRecord, Decision]]
) -> None:
    page = client_of("bob").get("/review")
    deferred = [r.id for r, d in decided if d.reasons]
    routed = [r.id for r, d in decided if not d.reasons]
    ids = listed(page.text)
    assert sorted(ids) == sorted(deferred) and not set(ids) & set(routed)
    risky = [r.id for r, d in decided if any(x.code == "priority_risk" for x in d.reasons)]
    assert risky and ids[: len(risky)] == risky  # priority risk first
    rest = [i for i in deferred if i not in risky]
    assert ids[len(risky) :] == rest  # then oldest first (seeded an hour apart, oldest first)
    assert f"{len(deferred)} tickets to review" in page.text


def test_counts_per_reason_are_the_stores(client_of: Clients, store: Store) -> None:
    page = client_of("bob").get("/review").text
    for (code, head), n in reason_counts(store).items():
        query = f"reason={code}" + (f"&amp;head={head}" if head else "")
        assert re.search(rf'href="/review\?{query}"[^>]*>[^<]+<span class="n">{n}</span>', page), (code, head)


def test_filters_narrow_the_queue_as_the_store_does(
    client_of: Clients, store: Store, decided: list[tuple[TicketRecord, Decision]]
) -> None:
    client = client_of("bob")
    first, first_decision = next((r, d) for r, d in decided if d.reasons)
    category, tier = first_decision.heads["category"].label, first_decision.heads["tier"].label
    word = max(first.subject.split(), key=len)
    cases = {
        "reason=unfamiliar": QueueFilter(reason="unfamiliar"),
        "reason=low_confidence&head=category": QueueFilter(reason="low_confidence", head="category"),
        "head=priority": QueueFilter(head="priority"),
        f"category={category}": QueueFilter(category=category),
        f"tier={tier}": QueueFilter(tier=tier),
        f"channel={first.channel}": QueueFilter(channel=first.channel),
        f"q={word.upper()}": QueueFilter(search=word),
        "age=gt3d": QueueFilter(older_than=timedelta(days=3)),
        "age=lt1d": QueueFilter(newer_than=timedelta(days=1)),
    }
    sizes = set()
    for query, filters in cases.items():
        expected = [item.id for item in queue(store, filters)]
        ids = listed(client.get(f"/review?{query}").text)
        assert ids == expected, query
        sizes.add(len(ids))
    assert first.id in listed(client.get(f"/review?q={word}").text)
    assert len(sizes) > 2  # the filters really narrow (not all the same size)
    assert listed(client.get("/review?age=gt3d").text) == []
    assert "No tickets" not in client.get("/review?q=zzzz-nothing").text
    assert "Nothing to review with these filters" in client.get("/review?q=zzzz-nothing").text


def test_pages_load_nothing_from_elsewhere_and_send_security_headers(client_of: Clients, first_id: str) -> None:
    client = client_of("ann")
    for path in ("/review", f"/review/t/{first_id}", "/review/admin", "/review/login"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        refs = re.findall(r'(?:src|href|action)="([^"]*)"', answer.text)
        assert refs and all(ref.startswith("/review") for ref in refs), (path, refs)
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY" and answer.headers["cache-control"] == "no-store"
    for asset in ("/review/static/desk.js", "/review/static/desk.css"):
        answer = client.get(asset)
        assert answer.status_code == 200 and "http:" not in answer.text and "https:" not in answer.text
