"""Request and response schemas of the HTTP API (separate from the library's decision objects).

The JSON Schema of each request model says exactly what the service accepts: a request it validates is
answered, one it does not is a 422 (the contract test sends both kinds)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, WithJsonSchema, model_validator

from triage.decision import Decision

HAS_TEXT = r"\S"
_HAS_TEXT = re.compile(HAS_TEXT)
_ISO_DATE_TIME = re.compile(r"\d{4}-?\d{2}-?\d{2}[Tt ]")
PATH_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$"
"""A server path: no control characters or line separators (a newline, a NUL byte)."""


def _iso_date_time(value: object) -> datetime:
    """An ISO-8601 date and time given as a string (``2026-11-23T09:15:00Z``); numbers are refused."""
    if not isinstance(value, str):
        raise ValueError("expected an ISO-8601 date and time as a string, e.g. 2026-11-23T09:15:00Z")
    if not _ISO_DATE_TIME.match(value):
        raise ValueError("expected an ISO-8601 date and time, e.g. 2026-11-23T09:15:00Z")
    try:
        return datetime.fromisoformat(value.upper())
    except ValueError as exc:
        raise ValueError(f"not a valid ISO-8601 date and time ({exc})") from None


IsoDateTime = Annotated[
    datetime,
    BeforeValidator(_iso_date_time),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-23T09:15:00Z"]}),
]


_TICKET_EXAMPLE = {
    "id": "INC0012345",
    "subject": "VPN keeps disconnecting",
    "body": "Since this morning the VPN drops every few minutes when I work from home.",
    "channel": "email",
    "created_at": "2026-11-23T09:15:00Z",
    "metadata": {"requester_site": "Berlin"},
}


def _ticket_schema(schema: dict[str, Any]) -> None:
    """An example, and ``subject`` or ``body`` holding a non-blank character (what ``_has_text`` checks)."""
    schema["examples"] = [_TICKET_EXAMPLE]
    schema["anyOf"] = [
        {"required": [name], "properties": {name: {"pattern": HAS_TEXT}}} for name in ("subject", "body")
    ]


class TicketIn(BaseModel):
    """One ticket to triage. ``subject`` or ``body`` must hold a character other than white space; unknown
    fields are refused. Text that is only markup (``<p>&nbsp;</p>``) is answered ``needs_review`` with the
    reason ``no_text``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_ticket_schema)

    id: str | None = Field(None, max_length=200, description="the ticket's id in your system, echoed back")
    subject: str = Field("", description="any length within TRIAGE_MAX_REQUEST_BYTES (413 beyond)")
    body: str = Field(
        "",
        description="plain text or HTML; quoted replies and signatures are dropped; the cleaned text is cut at "
        "TRIAGE_MAX_TEXT_CHARS characters (and the answer says truncated)",
    )
    channel: str | None = Field(None, max_length=100, examples=["email"])
    created_at: IsoDateTime | None = Field(None, description="ISO-8601 date and time (a string)")
    metadata: dict[str, JsonValue] = Field(default_factory=dict, description="anything; not used by the model")

    @model_validator(mode="after")
    def _has_text(self) -> TicketIn:
        if not (_HAS_TEXT.search(self.subject) or _HAS_TEXT.search(self.body)):
            raise ValueError("subject and body are both empty or blank: a ticket needs text")
        return self


class TriageResponse(Decision):
    """The decision for one ticket, with the ticket's id echoed back."""

    id: str | None = Field(
        None, description="the ticket's id, echoed back; for a ticket sent without one, the id it was recorded under"
    )
    truncated: bool = Field(False, description="the text was longer than the limit and was cut")
    recorded: bool = Field(
        False, description="the ticket and decision were stored (false: TRIAGE_RECORD=off, or the store is down)"
    )


class BatchRequest(BaseModel):
    """Up to ``TRIAGE_MAX_BATCH`` tickets (more: 413). Each ticket is validated on its own, as ``TicketIn``,
    and one that is invalid gets its own error entry in the answer."""

    model_config = ConfigDict(extra="forbid")

    tickets: list[dict[str, Any]] = Field(
        min_length=1, description="tickets, each as TicketIn; an invalid one fails alone"
    )


class ErrorDetail(BaseModel):
    field: str = Field(description='the field at fault, dotted ("tickets.0.body"), or "(request body)"')
    problem: str
    type: str | None = Field(None, description="a machine-readable kind of problem, when there is one")


class ErrorBody(BaseModel):
    code: str = Field(
        description="invalid_json, validation_error, unsupported_media_type, unauthorized, forbidden, "
        "admin_disabled, forbidden_path, payload_too_large, bundle_rejected, model_not_ready, shutting_down, "
        "not_found, review_conflict, store_unavailable"
    )
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every error answer of the service."""

    error: ErrorBody


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

    model_dir: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        pattern=PATH_PATTERN,
        description="bundle to load, a folder on the server inside TRIAGE_MODELS_ROOT (relative paths from the "
        "service's working directory, symbolic links followed), or a registered model (models:/NAME@ALIAS or "
        "models:/NAME/VERSION, downloaded into TRIAGE_MODELS_ROOT/.registry); default: the configured "
        "TRIAGE_MODEL_DIR",
    )


class ModelInfo(BaseModel):
    model_version: str
    created_at: datetime
    heads: dict[str, dict[str, Any]]
    feature_set: str
    encoder: dict[str, Any] | None
    metrics: dict[str, Any]
    data: dict[str, Any]


class ReloadResponse(ModelInfo):
    """What was loaded, and from where (admins only: clients are not told the server's paths)."""

    path: str


class Ready(BaseModel):
    status: str = Field(examples=["ready"], description="ready, or degraded: answering, but not recording")
    model_version: str
    reason: str | None = Field(None, description="why the service is degraded (absent when ready)")


class Alive(BaseModel):
    status: str = Field(examples=["ok"])
