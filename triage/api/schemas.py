"""Request and response schemas of the HTTP API (separate from the library's decision objects)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from triage.decision import Decision


class TicketIn(BaseModel):
    """One ticket to triage. ``subject`` and/or ``body`` must hold text; unknown fields are rejected."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "INC0012345",
                    "subject": "VPN keeps disconnecting",
                    "body": "Since this morning the VPN drops every few minutes when I work from home.",
                    "channel": "email",
                    "created_at": "2026-11-23T09:15:00Z",
                    "metadata": {"requester_site": "Berlin"},
                }
            ]
        },
    )

    id: str | None = Field(None, max_length=200)
    subject: str = Field("", max_length=1_000_000)
    body: str = Field("", max_length=1_000_000)
    channel: str | None = Field(None, max_length=100)
    created_at: datetime | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_text(self) -> TicketIn:
        if not self.subject and not self.body:
            raise ValueError("subject and body are both empty: a ticket needs text")
        return self


class TriageResponse(Decision):
    """The decision for one ticket, with the ticket's id echoed back."""

    id: str | None = None
    truncated: bool = Field(False, description="the text was longer than the limit and was cut")


class BatchRequest(BaseModel):
    """Up to ``TRIAGE_MAX_BATCH`` tickets; each is validated on its own so one bad ticket fails alone."""

    model_config = ConfigDict(extra="forbid")

    tickets: list[dict[str, Any]] = Field(min_length=1)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] = Field(default_factory=list)


class BatchItem(BaseModel):
    """The answer for one ticket of a batch: a result or an error, never both."""

    index: int
    ok: bool
    result: TriageResponse | None = None
    error: ErrorBody | None = None


class BatchResponse(BaseModel):
    model_version: str
    results: list[BatchItem]


class ReloadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_dir: str | None = Field(None, description="bundle to load; default: the one being served")


class ModelInfo(BaseModel):
    model_version: str
    path: str
    created_at: datetime
    heads: dict[str, dict[str, Any]]
    feature_set: str
    encoder: dict[str, Any] | None
    metrics: dict[str, Any]
    data: dict[str, Any]
