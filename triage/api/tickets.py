"""The work of the triage routes, done in one worker-thread hop off the event loop: parse and validate the
JSON body, clean the text, run the model, record metrics and serialise the answer.

A ticket whose text is empty only once HTML, quoted replies and signatures are removed is still answered:
``needs_review`` with the reason ``no_text`` (the schema cannot know what cleaning leaves)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fastapi import Response
from pydantic import BaseModel, ValidationError

from triage.api.bodies import parse_body, require_json
from triage.api.errors import ApiError, validation_details
from triage.api.metrics import ServiceMetrics
from triage.api.schemas import BatchItem, BatchRequest, BatchResponse, ErrorBody, ErrorDetail, TicketIn, TriageResponse
from triage.data.cleaning import PreparedText, prepare_parts
from triage.decision import Decision, Triager, decide_tickets
from triage.settings import Settings
from triage.store.records import TicketRecord

if TYPE_CHECKING:
    from triage.store import Recorder


def json_response(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


def decide(triager: Triager, texts: Sequence[str]) -> list[Decision]:
    """The triager's decisions; a ticket without text goes to review whatever the model says of it."""
    return decide_tickets(triager, texts)


def record(metrics: ServiceMetrics, decision: Decision) -> None:
    metrics.decisions.labels(outcome=decision.outcome.value).inc()
    for head, suggestion in decision.heads.items():
        metrics.head_decisions.labels(head=head, outcome="confident" if suggestion.confident else "not_confident").inc()
    for reason in decision.reasons:
        metrics.reasons.labels(code=reason.code, head=reason.head or "").inc()


def _answer(ticket: TicketIn, decision: Decision, truncated: bool, stored: TicketRecord | None) -> TriageResponse:
    """The answer; a recorded ticket sent without an id is told the id it was stored under."""
    ticket_id = stored.id if stored is not None else ticket.id
    return TriageResponse.model_construct(
        **dict(decision), id=ticket_id, truncated=truncated, recorded=stored is not None
    )


def store_records(
    recorder: Recorder | None,
    tickets: Sequence[TicketIn],
    prepared: Sequence[PreparedText],
    decisions: Sequence[Decision],
) -> list[TicketRecord | None]:
    """Record the tickets (their text as cleaned for the model) with their decisions in one transaction: their
    records, or None each when recording is off or failed (the miss is counted; the tickets are answered all
    the same)."""
    if recorder is None:
        return [None] * len(tickets)
    records = [
        TicketRecord.from_prepared(
            p, id=t.id, channel=t.channel, created_at=t.created_at, metadata=t.metadata, truncated=p.truncated
        )
        for t, p in zip(tickets, prepared, strict=True)
    ]
    ok = recorder.record_many(list(zip(records, decisions, strict=True)))
    return list(records) if ok else [None] * len(tickets)


def triage_one(
    raw: bytes,
    content_type: str | None,
    triager: Triager,
    settings: Settings,
    metrics: ServiceMetrics,
    recorder: Recorder | None = None,
) -> Response:
    require_json(content_type)
    ticket = parse_body(raw, TicketIn)
    prepared = prepare_parts(ticket.subject, ticket.body, max_chars=settings.max_text_chars)
    decision = decide(triager, [prepared.text])[0]
    record(metrics, decision)
    [stored] = store_records(recorder, [ticket], [prepared], [decision])
    return json_response(_answer(ticket, decision, prepared.truncated, stored))


def triage_batch(
    raw: bytes,
    content_type: str | None,
    triager: Triager,
    settings: Settings,
    metrics: ServiceMetrics,
    recorder: Recorder | None = None,
) -> Response:
    require_json(content_type)
    request = parse_body(raw, BatchRequest)
    if len(request.tickets) > settings.max_batch:
        message = f"{len(request.tickets)} tickets in one batch; the limit is {settings.max_batch} (TRIAGE_MAX_BATCH)"
        raise ApiError(413, "payload_too_large", message)
    items: list[BatchItem | None] = [None] * len(request.tickets)
    valid: list[tuple[int, TicketIn, PreparedText]] = []
    for i, fields in enumerate(request.tickets):
        try:
            ticket = TicketIn.model_validate(fields)
        except ValidationError as exc:
            details = [ErrorDetail(**d) for d in validation_details(exc.errors(include_input=False))]
            error = ErrorBody(code="validation_error", message="the ticket is invalid", details=details)
            items[i] = BatchItem(index=i, ok=False, error=error)
            continue
        valid.append((i, ticket, prepare_parts(ticket.subject, ticket.body, max_chars=settings.max_text_chars)))
    decisions = decide(triager, [prepared.text for _, _, prepared in valid])
    tickets, prepared_texts = [ticket for _, ticket, _ in valid], [prepared for _, _, prepared in valid]
    stored = store_records(recorder, tickets, prepared_texts, decisions)
    for (i, ticket, prepared), decision, kept in zip(valid, decisions, stored, strict=True):
        record(metrics, decision)
        items[i] = BatchItem(index=i, ok=True, result=_answer(ticket, decision, prepared.truncated, kept))
    return json_response(BatchResponse(model_version=triager.version, results=[it for it in items if it is not None]))
