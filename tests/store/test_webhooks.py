"""Reviews go back to the ticketing system: signed, retried with backoff while it is down, none lost."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import httpx

from tests.store.conftest import make_decision
from triage.store import Recorder, Store, TicketRecord, submit_review
from triage.store.outbox import due
from triage.store.types import utcnow
from triage.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, WebhookSender


class FlakySystem:
    """A ticketing system that is down for its first ``down`` requests, then accepts."""

    def __init__(self, down: int) -> None:
        self.down, self.received = down, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            self.down -= 1
            return httpx.Response(503)
        self.received.append(request)
        return httpx.Response(204)


def test_a_review_is_delivered_signed_after_the_system_comes_back(store: Store) -> None:
    decision = make_decision(reasons=(("low_confidence", "category"),))
    assert Recorder(store).record(TicketRecord(id="INC7", subject="vpn", body="drops"), decision)
    submit_review(store, "INC7", "ann", version=1, labels={"category": "printer"}, webhook=True)
    system = FlakySystem(down=2)
    sender = WebhookSender(store, "https://desk.example/hook", "s3cret", transport=httpx.MockTransport(system))

    now = utcnow()
    assert sender.deliver_due(now=now) == (0, 1)  # down: kept, retried in 30 s
    assert sender.deliver_due(now=now + timedelta(seconds=10)) == (0, 0)  # not due yet
    assert sender.deliver_due(now=now + timedelta(seconds=31)) == (0, 1)  # still down: next in 60 s
    assert sender.deliver_due(now=now + timedelta(seconds=80)) == (0, 0)
    assert sender.deliver_due(now=now + timedelta(seconds=92)) == (1, 0)
    assert sender.deliver_due(now=now + timedelta(days=1)) == (0, 0)  # delivered once, never again
    assert due(store, now=now + timedelta(days=1)) == []

    [request] = system.received
    body = request.content
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == expected and request.headers[DELIVERY_HEADER]
    payload = json.loads(body)
    assert payload["ticket_id"] == "INC7" and payload["category"] == "printer"


def test_an_unreachable_system_is_a_failure_to_retry_not_a_crash(store: Store) -> None:
    assert Recorder(store).record(TicketRecord(id="INC8", subject="vpn", body="drops"), make_decision())
    submit_review(store, "INC8", "bob", version=1, not_a_ticket=True, webhook=True)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    sender = WebhookSender(store, "https://desk.example/hook", transport=httpx.MockTransport(refuse))
    assert sender.deliver_due(now=utcnow()) == (0, 1)
    assert len(due(store, now=utcnow() + timedelta(minutes=1))) == 1
