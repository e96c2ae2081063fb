"""The store: triaged tickets, their decisions, reviews and outcomes, in SQLite (default) or PostgreSQL.

It knows nothing of HTTP: the API and the desk call its repositories. Importing ``triage.store`` connects to
nothing and imports nothing heavy: each name below is imported from its module at first use (PEP 562), so a
service that does not record (``TRIAGE_RECORD=off``) never imports SQLAlchemy.

>>> store = Store.from_url("sqlite:///triage.db")  # doctest: +SKIP
>>> check_schema(store.engine)  # doctest: +SKIP
>>> Recorder(store).record(TicketRecord(id="INC1", subject="VPN down", body=""), decision)  # doctest: +SKIP
True
"""

from __future__ import annotations

import sys
from types import ModuleType  # not `import types`: `triage.store.types` would take its name here
from typing import TYPE_CHECKING, Any

from triage.lazy import lazy_names

if TYPE_CHECKING:
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

_MODULES = {
    "engine": ("Store", "make_engine"),
    "errors": ("ReviewConflict", "SchemaNotReady", "SearchTooSlow", "StoreUnavailable", "TicketNotFound"),
    "labels": ("LabelledTicket", "LabelProvenance", "final_labels"),
    "outcomes": ("OutcomeRecord", "OutcomeResult", "OutcomeStatus", "record_outcome", "record_outcomes"),
    "queue": ("QueueFilter", "QueueItem", "QueuePage", "queue", "queue_page", "queue_size", "reason_counts"),
    "recorder": ("Recorder",),
    "records": ("Provenance", "StoredDecision", "StoredReview", "TicketRecord", "TicketView", "new_ticket_id"),
    "reviews": ("claim_next", "claim_next_id", "open_ticket", "release", "save_review", "submit_review"),
    "schema": ("check_schema", "upgrade"),
    "tickets": ("find_ticket", "get_ticket"),
}
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

__getattr__, __dir__ = lazy_names(__name__, _MODULES, __all__)


class _Package(ModuleType):
    """``triage.store.queue`` is both a module and the function it exports: importing the module must not
    replace the function (``from triage.store import queue``) here, as it did not when everything was imported
    eagerly."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "queue" and isinstance(value, ModuleType):
            value = value.queue
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
