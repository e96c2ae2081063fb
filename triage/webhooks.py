"""Reviews back to the ticketing system: the outbox's deliveries POSTed to ``TRIAGE_WEBHOOK_URL``.

Each delivery was written in the transaction of the review it reports (:mod:`triage.store.outbox`), so a
ticketing system that is down loses nothing: a failed POST is retried later (30 s, doubling, at most 6 h).
The body is the review as JSON; ``X-Triage-Signature: sha256=<hex>`` is its HMAC-SHA256 with
``TRIAGE_WEBHOOK_SECRET``, ``X-Triage-Delivery`` the delivery's id (the same on a retry: deduplicate on it).
Several replicas deliver from one database side by side: each claims the rows it sends for a lease
(:func:`~triage.store.outbox.claim`), so a delivery is sent by one of them.

>>> signature(b'{"ticket_id": "INC1"}', "s3cret")[:7]
'sha256='
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from triage.aio import to_thread_finished
from triage.store import Store
from triage.store.outbox import LEASE, claim, mark_delivered, mark_failed, release

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Triage-Signature"
DELIVERY_HEADER = "X-Triage-Delivery"
BATCH = 50  # deliveries claimed at once: sent well within the lease (5 s timeout each)


def signature(body: bytes, secret: str) -> str:
    """The value of the signature header: ``sha256=`` and the hex HMAC-SHA256 of the exact body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sender_id() -> str:
    """Who holds a claim: this host and process (and a random part: a pid may be reused)."""
    return f"{socket.gethostname()[:150]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class WebhookSender:
    """POSTs the due deliveries of a store's outbox, one by one, marking each delivered or failed."""

    store: Store
    url: str
    secret: str | None = None
    timeout: float = 5.0
    transport: httpx.BaseTransport | None = None  # tests inject one; the default is a real connection
    lease: timedelta = LEASE
    owner: str = field(default_factory=sender_id)

    def deliver_due(self, *, now: datetime | None = None, limit: int = 50) -> tuple[int, int]:
        """Claim what is due and send it; returns (delivered, failed). A 2xx answer is a delivery, anything
        else a failure retried later. Rows still unsent when the lease is nearly over are given back."""
        delivered = failed = 0
        batch = claim(self.store, owner=self.owner, lease=self.lease, limit=limit, now=now)
        deadline = time.monotonic() + self.lease.total_seconds() - 2 * self.timeout
        with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
            for i, delivery in enumerate(batch):
                if time.monotonic() > deadline:  # another replica may take them once the lease ends
                    release(self.store, [d.id for d in batch[i:]], owner=self.owner)
                    break
                body = json.dumps({"ticket_id": delivery.ticket_id, **delivery.payload}, sort_keys=True).encode()
                headers = {"Content-Type": "application/json", DELIVERY_HEADER: str(delivery.id)}
                if self.secret:
                    headers[SIGNATURE_HEADER] = signature(body, self.secret)
                try:
                    status = client.post(self.url, content=body, headers=headers).status_code
                    error = None if 200 <= status < 300 else f"HTTP {status}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                if error is None:
                    mark_delivered(self.store, delivery.id, now=now)
                    delivered += 1
                else:
                    retry = mark_failed(self.store, delivery, error, now=now)
                    logger.warning("webhook delivery %d failed (%s); next attempt %s", delivery.id, error, retry)
                    failed += 1
        return delivered, failed


async def deliver_forever(sender: WebhookSender, *, every: float = 5.0) -> None:
    """The service's delivery loop: every ``every`` seconds, send what is due (in a worker thread); at once
    again after a full batch. Every replica runs one (one worker of each), the claims keep them apart."""
    while True:
        sent = 0
        try:
            sent = sum(await to_thread_finished(sender.deliver_due, limit=BATCH))
        except Exception as exc:  # the store unreachable: the deliveries wait in the outbox
            logger.error("webhook deliveries postponed: %s", type(exc).__name__)
        if sent < BATCH:  # a full batch: more may be due at once
            await asyncio.sleep(every)
