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
from triage.store.errors import ReviewConflict, SchemaNotReady, SearchTooSlow, StoreUnavailable, TicketNotFound
from triage.store.labels import LabelledTicket, LabelProvenance, final_labels
from triage.store.outcomes import OutcomeRecord, OutcomeResult, OutcomeStatus, record_outcome, record_outcomes
from triage.store.queue import QueueFilter, QueueItem, QueuePage, queue, queue_page, queue_size, reason_counts
from triage.store.recorder import Recorder
from triage.store.records import Provenance, StoredDecision, StoredReview, TicketRecord, TicketView, new_ticket_id
from triage.store.reviews import claim_next, claim_next_id, open_ticket, release, save_review, submit_review
from triage.store.schema import check_schema, upgrade
from triage.store.tickets import find_ticket, get_ticket

__all__ = [
    "LabelProvenance",
    "LabelledTicket",
    "OutcomeRecord",
    "OutcomeResult",
    "OutcomeStatus",
    "Provenance",
    "QueueFilter",
    "QueueItem",
    "QueuePage",
    "Recorder",
    "ReviewConflict",
    "SchemaNotReady",
    "SearchTooSlow",
    "Store",
    "StoreUnavailable",
    "StoredDecision",
    "StoredReview",
    "TicketNotFound",
    "TicketRecord",
    "TicketView",
    "check_schema",
    "claim_next",
    "claim_next_id",
    "final_labels",
    "find_ticket",
    "get_ticket",
    "make_engine",
    "new_ticket_id",
    "open_ticket",
    "queue",
    "queue_page",
    "queue_size",
    "reason_counts",
    "record_outcome",
    "record_outcomes",
    "release",
    "save_review",
    "submit_review",
    "upgrade",
]
