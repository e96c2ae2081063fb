"""The store: triaged tickets, their decisions, reviews and outcomes, in SQLite (default) or PostgreSQL.

It knows nothing of HTTP: the API and the desk call its repositories. Importing ``triage.store`` imports
SQLAlchemy but connects to nothing.

>>> store = Store.from_url("sqlite:///triage.db")  # doctest: +SKIP
>>> check_schema(store.engine)  # doctest: +SKIP
>>> Recorder(store).record(TicketRecord(id="INC1", subject="VPN down", body=""), decision)  # doctest: +SKIP
True
"""

from __future__ import annotations

from triage.store.engine import Store, make_engine
from triage.store.errors import ReviewConflict, SchemaNotReady, StoreUnavailable, TicketNotFound
from triage.store.queue import QueueFilter, QueueItem, queue, queue_size, reason_counts
from triage.store.recorder import Recorder
from triage.store.records import Provenance, StoredDecision, StoredReview, TicketRecord, TicketView, new_ticket_id
from triage.store.reviews import claim_next, open_ticket, release, submit_review
from triage.store.schema import check_schema, upgrade
from triage.store.tickets import find_ticket, get_ticket

__all__ = [
    "Provenance",
    "QueueFilter",
    "QueueItem",
    "Recorder",
    "ReviewConflict",
    "SchemaNotReady",
    "Store",
    "StoreUnavailable",
    "StoredDecision",
    "StoredReview",
    "TicketNotFound",
    "TicketRecord",
    "TicketView",
    "check_schema",
    "claim_next",
    "find_ticket",
    "get_ticket",
    "make_engine",
    "new_ticket_id",
    "open_ticket",
    "queue",
    "queue_size",
    "reason_counts",
    "release",
    "submit_review",
    "upgrade",
]
