"""What the store is given and gives back: plain data, no database objects (the API's schemas stay its own)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from triage.data.cleaning import DEFAULT_MAX_CHARS, PreparedText, prepare_parts
from triage.decision import Decision


def new_ticket_id() -> str:
    """The id of a ticket sent without one."""
    return f"triage-{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A triaged ticket as stored: ``subject`` and ``body`` are the cleaned text the model read."""

    subject: str
    body: str
    id: str = field(default_factory=new_ticket_id)
    channel: str | None = None
    created_at: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    truncated: bool = False

    @classmethod
    def from_request(
        cls,
        *,
        id: str | None,
        subject: str | None,
        body: str | None,
        channel: str | None = None,
        created_at: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        truncated: bool = False,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> TicketRecord:
        """A record of a ticket as received: subject and body cleaned and cut as the model reads them
        (:func:`~triage.data.cleaning.prepare_parts`); an id made when the ticket has none."""
        prepared = prepare_parts(subject, body, max_chars=max_chars)
        return cls.from_prepared(
            prepared, id=id, channel=channel, created_at=created_at, metadata=metadata, truncated=truncated
        )

    @classmethod
    def from_prepared(
        cls,
        prepared: PreparedText,
        *,
        id: str | None,
        channel: str | None = None,
        created_at: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        truncated: bool = False,
    ) -> TicketRecord:
        """A record of text already cleaned for the model (the API cleans each ticket once)."""
        return cls(
            subject=prepared.subject,
            body=prepared.body,
            id=id or new_ticket_id(),
            channel=channel,
            created_at=created_at,
            metadata=dict(metadata or {}),
            truncated=truncated,
        )


class Provenance(StrEnum):
    """Where a reviewed label comes from."""

    ACCEPTED = "accepted"  # the agent accepted every suggestion
    CORRECTED = "corrected"  # the agent changed at least one
    NOT_A_TICKET = "not_a_ticket"  # spam, an auto-reply, a duplicate: no labels


@dataclass(frozen=True, slots=True)
class StoredDecision:
    id: str
    decided_at: datetime
    decision: Decision


@dataclass(frozen=True, slots=True)
class StoredReview:
    id: int
    agent: str
    source: str
    reviewed_at: datetime
    provenance: Provenance
    labels: dict[str, str | None]
    changed: list[str]
    decision_id: str | None


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    """The ticketing system's final labels for a resolved ticket (:mod:`triage.store.outcomes`)."""

    source: str
    resolved_at: datetime
    received_at: datetime
    labels: dict[str, str | None]
    disagrees: list[str]  # heads where it differs from the latest agent review


@dataclass(frozen=True, slots=True)
class TicketView:
    """A stored ticket with its latest decision, latest review and outcome, and its review state."""

    id: str
    received_at: datetime
    updated_at: datetime
    times_received: int
    created_at: datetime | None
    channel: str | None
    subject: str | None  # None once purged
    body: str | None
    truncated: bool
    text_purged_at: datetime | None
    metadata: dict[str, Any]
    version: int
    claimed_by: str | None
    claimed_until: datetime | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    decision: StoredDecision | None
    review: StoredReview | None
    outcome: StoredOutcome | None = None  # resolved in the ticketing system: out of the review queue
