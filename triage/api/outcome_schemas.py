"""Schemas of the outcome routes (`POST /v1/tickets/{id}/outcome`, `/v1/outcomes` and
`/v1/outcomes/{system}`), separate from the store's records (:mod:`triage.store.outcomes`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from triage.api.schemas import HAS_TEXT, ErrorBody, IsoDateTime
from triage.data.mapping import HEADS

Label = Field(None, min_length=1, max_length=100, pattern=HAS_TEXT)


def _one_label(schema: dict[str, Any]) -> None:
    """The JSON Schema says what the validator checks: at least one head holds a label."""
    schema["anyOf"] = [{"required": [h], "properties": {h: {"type": "string"}}} for h in HEADS]


class OutcomeLabels(BaseModel):
    """The final labels the ticketing system settled on; at least one head, a head left out: not reported."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_label)

    category: str | None = Label
    priority: str | None = Label
    tier: str | None = Label

    @model_validator(mode="after")
    def _one(self) -> OutcomeLabels:
        if not any(getattr(self, h) for h in HEADS):
            raise ValueError(f"an outcome needs a label for at least one of {', '.join(HEADS)}")
        return self


_EXAMPLE: dict[str, Any] = {
    "labels": {"category": "vpn", "priority": "P2", "tier": "L2"},
    "resolved_at": "2026-11-24T16:40:00Z",
    "source": "freshservice",
}


class OutcomeIn(BaseModel):
    """A resolved ticket's final labels. ``subject`` and ``body`` matter only for a ticket triage never saw:
    it is kept as a labelled ticket, with that text to learn from."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    labels: OutcomeLabels
    resolved_at: IsoDateTime | None = Field(None, description="when your system resolved it (default: now)")
    source: str = Field("api", min_length=1, max_length=50, pattern=HAS_TEXT, description="your system's name")
    subject: str | None = Field(None, description="for a ticket never triaged: its text, to learn from")
    body: str | None = Field(None, description="for a ticket never triaged: its text, to learn from")
    channel: str | None = Field(None, max_length=100)
    created_at: IsoDateTime | None = Field(None, description="when the ticket was created in your system")


class OutcomeItem(OutcomeIn):
    """An outcome of a batch: an outcome with its ticket's id."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ticket_id": "INC0012345", **_EXAMPLE}]})

    ticket_id: str = Field(min_length=1, max_length=200, pattern=HAS_TEXT, description="the ticket's id in your system")


class OutcomeBatchRequest(BaseModel):
    """Up to ``TRIAGE_MAX_BATCH`` outcomes (more: 413), each validated on its own as ``OutcomeItem``: an
    invalid one gets its own error entry, the others are stored together."""

    model_config = ConfigDict(extra="forbid")

    outcomes: list[dict[str, Any]] = Field(min_length=1, description="outcomes, each as OutcomeItem")


OutcomeStatusName = Literal["created", "updated", "unchanged", "superseded", "not_resolved"]


class OutcomeOut(BaseModel):
    """What became of one outcome."""

    ticket_id: str
    status: OutcomeStatusName = Field(
        description="created (the ticket's first outcome), updated (it replaced an earlier one), unchanged (the "
        "same outcome again: a retry), superseded (a later outcome is already stored; this one was not kept), "
        "not_resolved (the webhook body says the ticket is still open; nothing was stored)"
    )
    new_ticket: bool = Field(description="the ticket was never triaged: it is kept as a labelled ticket")
    source: str
    resolved_at: datetime | None = Field(description="the stored outcome's (none when not_resolved)")
    labels: dict[str, str | None] = Field(description="the stored outcome's labels (or those read, when not_resolved)")
    disagrees_with_review: list[str] = Field(description="heads where the outcome differs from the agent's review")
    disagrees_with_suggestion: list[str] = Field(description="heads where it differs from the model's suggestion")
    unknown_labels: dict[str, str] = Field(
        description="labels the served model does not know, per head: kept (a retrained model learns them), "
        "but check the mapping or tier_map if they are many"
    )
    model_version: str | None = Field(description="the model the labels were checked against (none loaded: null)")
    notes: list[str] = Field(default_factory=list, description="what was decided while reading a webhook body")


class OutcomeBatchItem(BaseModel):
    """The answer for one outcome of a batch: a result or an error, never both."""

    index: int
    ok: bool
    result: OutcomeOut | None = None
    error: ErrorBody | None = None


class OutcomeBatchResponse(BaseModel):
    results: list[OutcomeBatchItem]
