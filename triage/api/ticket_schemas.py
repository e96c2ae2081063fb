"""Schemas of the stored-ticket routes (`GET /v1/tickets/{id}`, `POST /v1/tickets/{id}/review`), separate
from the store's own records (:mod:`triage.store.records`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictBool, model_validator

from triage.api.schemas import HAS_TEXT
from triage.decision import Decision

if TYPE_CHECKING:
    from triage.store import TicketView

Label = Field(None, min_length=1, max_length=100, pattern=HAS_TEXT)


class ReviewLabels(BaseModel):
    """The final labels; a head left out keeps the suggestion (accepted as suggested)."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Label
    priority: str | None = Label
    tier: str | None = Label


class ReviewIn(BaseModel):
    """A review made in the ticketing system: who, and the labels the agent settled on (or: not a ticket)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"agent": "ann.smith", "labels": {"priority": "P1"}, "version": 1}]},
    )

    agent: str = Field(
        min_length=1, max_length=100, pattern=HAS_TEXT, description="the agent, as your system names them"
    )
    labels: ReviewLabels = Field(default_factory=ReviewLabels)
    not_a_ticket: StrictBool = Field(
        False, description="spam, an auto-reply, a duplicate: no labels, not training data"
    )
    version: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="the review state's version you last read (GET); when given, a ticket reviewed since is "
        "refused with 409 instead of overwritten",
    )

    @model_validator(mode="after")
    def _labels_or_not_a_ticket(self) -> ReviewIn:
        if self.not_a_ticket and self.labels.model_dump(exclude_none=True):
            raise ValueError("a ticket marked not_a_ticket takes no labels")
        return self


class StoredDecision(Decision):
    decided_at: datetime


Status = Literal["auto_routed", "awaiting_review", "reviewed", "resolved"]


class ReviewState(BaseModel):
    status: Status = Field(
        description="`resolved`: the ticketing system reported its outcome (it left the review queue, `outcome` "
        "holds its labels), whether or not it was triaged or reviewed; `reviewed`: an agent reviewed it; "
        "`auto_routed`: the latest decision routed it; `awaiting_review`: in the review queue"
    )
    version: int = Field(description="send it with a review to have it refused if someone changed the ticket since")
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None


class ReviewOut(BaseModel):
    agent: str
    source: str = Field(description="desk (the review desk) or api (a ticketing system)")
    reviewed_at: datetime
    provenance: Literal["accepted", "corrected", "not_a_ticket"]
    labels: dict[str, str | None]
    changed: list[str] = Field(description="heads whose suggestion the agent changed")


class OutcomeOut(BaseModel):
    """The final labels the ticketing system reported once it resolved the ticket."""

    source: str = Field(description="api, servicenow, zendesk, jira, ...")
    resolved_at: datetime = Field(description="resolved in the ticketing system")
    received_at: datetime = Field(description="when triage got the outcome")
    labels: dict[str, str | None] = Field(description="per head; null: not reported")
    disagrees: list[str] = Field(description="heads where it differs from the latest agent review")


class StoredTicket(BaseModel):
    """A recorded ticket: its latest decision, review and outcome (its text is not sent back)."""

    id: str
    received_at: datetime
    updated_at: datetime
    times_received: int
    created_at: datetime | None
    channel: str | None
    metadata: dict[str, JsonValue]
    truncated: bool
    text_purged: bool = Field(description="the text is gone (older than TRIAGE_TEXT_RETENTION_DAYS); labels stay")
    decision: StoredDecision | None
    review_state: ReviewState
    review: ReviewOut | None
    outcome: OutcomeOut | None = Field(description="the ticketing system's outcome, once it resolved the ticket")

    @classmethod
    def from_view(cls, view: TicketView) -> StoredTicket:
        decision = view.decision
        status: Status
        if view.outcome is not None:
            status = "resolved"
        elif view.reviewed_at is not None:
            status = "reviewed"
        elif decision is not None and decision.decision.outcome == "auto_route":
            status = "auto_routed"
        else:
            status = "awaiting_review"
        review: dict[str, Any] | None = None
        if view.review is not None:
            r = view.review
            review = {"agent": r.agent, "source": r.source, "reviewed_at": r.reviewed_at}
            review |= {"provenance": r.provenance.value, "labels": r.labels, "changed": r.changed}
        return cls.model_validate(
            {
                "id": view.id,
                "received_at": view.received_at,
                "updated_at": view.updated_at,
                "times_received": view.times_received,
                "created_at": view.created_at,
                "channel": view.channel,
                "metadata": view.metadata,
                "truncated": view.truncated,
                "text_purged": view.text_purged_at is not None,
                "decision": {**dict(decision.decision), "decided_at": decision.decided_at} if decision else None,
                "review_state": {
                    "status": status,
                    "version": view.version,
                    "claimed_by": view.claimed_by,
                    "claimed_until": view.claimed_until,
                    "reviewed_by": view.reviewed_by,
                    "reviewed_at": view.reviewed_at,
                },
                "review": review,
                "outcome": asdict(view.outcome) if view.outcome is not None else None,
            }
        )
