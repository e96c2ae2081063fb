"""Outcomes from the ticketing system: a resolved ticket's final labels, one at a time, in batches, or as the
system's own webhook body (ServiceNow, Zendesk, Jira) pointed straight at the service (client keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from triage.api import outcomes
from triage.api.deps import RecordingDep, SettingsDep, StateDep
from triage.api.openapi import errors, json_body
from triage.api.outcome_schemas import OutcomeBatchRequest, OutcomeBatchResponse, OutcomeIn, OutcomeOut
from triage.api.recording import Recording
from triage.store.errors import TicketNotFound

if TYPE_CHECKING:
    from triage.store import Store

STORE_DOWN = "`store_unavailable`: the store cannot be reached; retry after `Retry-After` seconds."
NO_STORE = "`not_found`: recording is off (TRIAGE_RECORD=off): no outcome can be stored."
BAD = "`validation_error`: JSON that breaks the schema, or a webhook body without the ticket's id, a label or "
BAD += "a readable resolution time; `details` names each field at fault, as the body names it."
LIMITS = "`payload_too_large`: a body over TRIAGE_MAX_REQUEST_BYTES, or more than TRIAGE_MAX_BATCH outcomes."
router = APIRouter(
    prefix="/v1",
    tags=["outcomes"],
    responses=errors(400, 404, 413, 415, 422, 503, described={404: NO_STORE, 413: LIMITS, 422: BAD, 503: STORE_DOWN}),
)
TicketId = Annotated[str, Path(min_length=1, max_length=200, description="the ticket's id in your system")]
System = Annotated[
    Literal["servicenow", "zendesk", "jira"], Path(description="the ticketing system whose webhook body this is")
]
WEBHOOK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": ["object", "array"],
                    "description": "the system's webhook body as it sends it: ServiceNow incident fields (or "
                    '{"result": ...}), Zendesk {"ticket": {...}}, Jira {"webhookEvent": ..., "issue": {...}}',
                }
            }
        },
    }
}


def _store(recording: Recording) -> Store:
    if recording.store is None:
        raise TicketNotFound("recording is off (TRIAGE_RECORD=off): no outcome can be stored")
    return recording.store


@router.post(
    "/outcomes",
    response_model=OutcomeBatchResponse,
    summary="Record the outcomes of several resolved tickets",
    openapi_extra=json_body(OutcomeBatchRequest),
)
async def post_outcomes(request: Request, recording: RecordingDep, state: StateDep, settings: SettingsDep) -> Response:
    """Answers in request order; an invalid outcome gets an error entry, the others are stored together."""
    store = _store(recording)
    raw, content_type = await request.body(), request.headers.get("content-type")
    return await run_in_threadpool(outcomes.outcome_batch, raw, content_type, store, state.triager, settings)


@router.post(
    "/outcomes/{system}",
    response_model=OutcomeBatchResponse,
    summary="Record outcomes from a ticketing system's webhook",
    openapi_extra=WEBHOOK_BODY,
)
async def post_webhook_outcomes(
    system: System, request: Request, recording: RecordingDep, state: StateDep, settings: SettingsDep
) -> Response:
    """The body as the system's webhook sends it, read through the preset of its exports (or the served
    bundle's training mapping for that system, with its tier_map). A body saying the ticket is still open is
    answered `not_resolved` and not stored."""
    store = _store(recording)
    raw, content_type = await request.body(), request.headers.get("content-type")
    return await run_in_threadpool(outcomes.outcome_webhook, system, raw, content_type, store, state.triager, settings)


@router.post(
    "/tickets/{ticket_id}/outcome",
    response_model=OutcomeOut,
    summary="Record a resolved ticket's final labels",
    openapi_extra=json_body(OutcomeIn),
)
async def post_outcome(
    ticket_id: TicketId, request: Request, recording: RecordingDep, state: StateDep, settings: SettingsDep
) -> Response:
    """Idempotent: the same outcome again changes nothing; a later one (by `resolved_at`) replaces it, an
    earlier one is answered `superseded`. A ticket never triaged is kept as a labelled ticket. Disagreements
    with the agent's review and the model's suggestion are counted; labels the model does not know are kept
    and flagged (`unknown_labels`)."""
    store = _store(recording)
    raw, content_type = await request.body(), request.headers.get("content-type")
    return await run_in_threadpool(outcomes.outcome_one, raw, content_type, store, ticket_id, state.triager, settings)
