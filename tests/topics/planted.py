"""Tickets with two planted new kinds of request (crypto wallets, parking permits) among unrelated ones, as
texts with vectors and receive times, and as a desk's store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import update

from tests.store.conftest import make_decision
from triage.store import Recorder, Store, TicketRecord, submit_review
from triage.store.models import tickets
from triage.store.types import utcnow

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WALLET = [
    "crypto wallet transfer stuck",
    "crypto wallet top up failed",
    "send money to crypto wallet",
    "where is the crypto wallet",
    "crypto wallet balance zero",
    "link a crypto wallet",
    "crypto wallet withdrawal pending",
    "crypto wallet fees too high",
    "crypto wallet verification failing",
    "is the crypto wallet insured",
    "close my crypto wallet",
    "crypto wallet address rejected",
]
PARKING = [
    "parking permit renewal broken",
    "parking permit not sent",
    "parking permit for new office",
    "lost my parking permit",
    "parking permit payment declined",
    "new car on parking permit",
    "visitor parking permit request",
    "parking permit expired",
    "refund unused parking permit",
]
OTHERS = [
    "printer on floor two jams",
    "password reset link expired",
    "laptop battery swells",
    "meeting room screen flickers",
    "email signature lost its logo",
    "vpn slow from home",
    "badge does not open the lab door",
    "invoice total looks wrong",
    "keyboard missing the letter q",
    "teams call drops after a minute",
    "shared drive is read only",
    "calendar invites arrive twice",
    "monitor cable too short",
    "coffee machine out of order",
    "spreadsheet macro blocked",
    "phone voicemail full",
    "wifi guest network password",
    "expense report rejected without reason",
    "new starter needs an account",
    "software licence renewal due",
]


def planted(seed: int = 0) -> tuple[list[str], np.ndarray, list[str], list[datetime]]:
    """Texts, vectors, ids and receive times: the wallet tickets (8 this week, 4 the week before) and the
    parking tickets (none this week, 6 the week before, 3 older) close to their own direction, the others
    each in a direction of its own."""
    rng = np.random.default_rng(seed)
    dim = 32
    wallet, parking = rng.normal(size=dim), rng.normal(size=dim)
    vectors = [wallet / np.linalg.norm(wallet) + rng.normal(scale=0.05, size=dim) for _ in WALLET]
    vectors += [parking / np.linalg.norm(parking) + rng.normal(scale=0.05, size=dim) for _ in PARKING]
    vectors += [rng.normal(size=dim) / np.sqrt(dim) for _ in OTHERS]
    days = [1, 2, 3, 4, 5, 6, 0, 2, 8, 9, 10, 13, 8, 9, 10, 11, 12, 13, 15, 20, 25, *range(20)]
    times = [NOW - timedelta(days=d, hours=1) for d in days]
    ids = [f"W{i}" for i in range(len(WALLET))] + [f"P{i}" for i in range(len(PARKING))]
    ids += [f"O{i}" for i in range(len(OTHERS))]
    order = rng.permutation(len(ids))  # the planted topics are not contiguous
    texts = WALLET + PARKING + OTHERS
    return (
        [texts[i] for i in order],
        np.array(vectors)[order],
        [ids[i] for i in order],
        [times[i] for i in order],
    )


UNFAMILIAR = (("unfamiliar", None), ("low_confidence", "category"))
UNSURE = (("low_confidence", "category"),)


def seed(store: Store) -> set[str]:
    """Tickets of a desk over six weeks; returns the ids that are candidates for the last 30 days: the
    wallet tickets and the others (flagged unfamiliar) and the parking tickets (not flagged, but agents
    corrected them to "parking", which the model lacks)."""
    recorder = Recorder(store)
    now = utcnow()

    def put(prefix: str, texts: list[str], reasons: tuple, *, days_ago: float = 1.0) -> list[str]:
        ids = []
        for i, text in enumerate(texts):
            ticket_id = f"{prefix}{i}"
            subject, _, body = text.partition(" ")
            record = TicketRecord.from_request(id=ticket_id, subject=subject, body=body)
            when = now - timedelta(days=days_ago + i / 2)
            assert recorder.record(record, make_decision(reasons=reasons), received_at=when)
            ids.append(ticket_id)
        return ids

    wallet = put("W", WALLET, UNFAMILIAR)
    others = put("O", OTHERS, UNFAMILIAR)
    parking = put("P", PARKING, UNSURE)
    for ticket_id in parking:
        submit_review(store, ticket_id, "bob", version=None, labels={"category": "parking"})
    put("R", WALLET[:4], ())  # auto-routed: the model knew what to do
    spam = put("S", WALLET[:2], UNFAMILIAR)
    for ticket_id in spam:
        submit_review(store, ticket_id, "bob", version=None, not_a_ticket=True)
    put("A", WALLET[:3], UNFAMILIAR, days_ago=40)  # older than the 30 days asked for
    known = put("K", ["vpn drops every hour"], UNSURE)
    submit_review(store, known[0], "bob", version=None, labels={"category": "email"})  # a category it has
    purged = put("X", WALLET[:1], UNFAMILIAR)
    with store.write() as conn:
        conn.execute(update(tickets).where(tickets.c.id == purged[0]).values(subject=None, body=None))
    return set(wallet + others + parking)
