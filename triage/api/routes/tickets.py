"""GET /v1/tickets/{id} and POST /v1/tickets/{id}/review: a recorded ticket's decision, review state and outcome, and
reviews made by agents in a ticketing system's own UI (client keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from triage.api.bodies import parse_body, require_json
from triage.api.deps import RecordingDep, SettingsDep
from triage.api.openapi import errors, json_body
from triage.api.recording import Recording
from triage.api.ticket_schemas import ReviewIn, StoredTicket
from triage.api.tickets import json_response
from triage.settings import Settings
from triage.store.errors import TicketNotFound

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported at the first call, only when recording is on
    from triage.store import Store

STORE_DOWN = "`store_unavailable`: the store cannot be reached; retry after `Retry-After` seconds."
NOT_FOUND = "`not_found`: no stored ticket has this id (none at all while TRIAGE_RECORD=off)."
router = APIRouter(
    prefix="/v1/tickets", tags=["tickets"], responses=errors(404, 422, 503, described={404: NOT_FOUND, 503: STORE_DOWN})
)
TicketId = Annotated[str, Path(min_length=1, max_length=200, description="the ticket's id in your system")]


def _store(recording: Recording) -> Store:
    if recording.store is None:
        raise TicketNotFound("recording is off (TRIAGE_RECORD=off): no ticket is stored")
    return recording.store


def _lookup(store: Store, ticket_id: str) -> Response:
    from triage.store import get_ticket

    return json_response(StoredTicket.from_view(get_ticket(store, ticket_id)))


def _review(raw: bytes, content_type: str | None, store: Store, ticket_id: str, settings: Settings) -> Response:
    from triage.store import submit_review

    require_json(content_type)
    review = parse_body(raw, ReviewIn)
    labels = review.labels.model_dump(exclude_none=True)
    view = submit_review(
        store,
        ticket_id,
        review.agent,
        version=review.version,
        labels=labels,
        not_a_ticket=review.not_a_ticket,
        source="api",
        webhook=settings.webhook_url is not None,
    )
    return json_response(StoredTicket.from_view(view))


@router.get("/{ticket_id}", response_model=StoredTicket, summary="A recorded ticket's decision and review")
async def get_stored_ticket(ticket_id: TicketId, recording: RecordingDep) -> Response:
    """The latest decision on the ticket, its review state (`auto_routed`, `awaiting_review`, `reviewed`,
    `resolved`, with the `version` to send with a review), its latest review and the ticketing system's outcome
    (`POST /v1/tickets/{id}/outcome`). The text is not sent back."""
    return await run_in_threadpool(_lookup, _store(recording), ticket_id)


@router.post(
    "/{ticket_id}/review",
    response_model=StoredTicket,
    summary="Record a review made in the ticketing system",
    openapi_extra=json_body(ReviewIn),
    responses=errors(
        400,
        409,
        413,
        415,
        described={
            409: "`review_conflict`: the ticket was reviewed or resolved (an outcome) since `version`, or a desk "
            "agent holds it; the message says who and when, nothing was changed."
        },
    ),
)
async def review_ticket(
    ticket_id: TicketId, request: Request, recording: RecordingDep, settings: SettingsDep
) -> Response:
    """The final labels an agent chose (a head left out: the suggestion was accepted), or `not_a_ticket`.
    Corrections become training data (`triage export reviews`); with TRIAGE_WEBHOOK_URL the outcome is sent on."""
    raw = await request.body()
    content_type = request.headers.get("content-type")
    return await run_in_threadpool(_review, raw, content_type, _store(recording), ticket_id, settings)
