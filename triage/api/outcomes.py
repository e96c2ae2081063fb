"""The work of the outcome routes, in one worker-thread hop: parse and validate the body (triage's JSON or a
ticketing system's webhook body), clean any text, store the outcomes, and flag labels the served model does
not know (they are kept: a retrained model learns them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fastapi import Response
from pydantic import JsonValue, RootModel, ValidationError

from triage.api.bodies import parse_body, require_json
from triage.api.errors import ApiError, validation_details
from triage.api.outcome_schemas import (
    OutcomeBatchItem,
    OutcomeBatchRequest,
    OutcomeBatchResponse,
    OutcomeIn,
    OutcomeItem,
    OutcomeOut,
)
from triage.api.schemas import ErrorBody, ErrorDetail
from triage.api.tickets import json_response
from triage.data.cleaning import prepare_parts
from triage.data.mapping import HEADS, ColumnMapping
from triage.data.webhooks import WebhookBodyError, WebhookTicket, preset_mapping, read_webhook
from triage.decision import Triager
from triage.settings import Settings

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported at the first outcome, only when recording is on
    from triage.store import OutcomeRecord, OutcomeResult, Store

MAX_ID, MAX_LABEL = 200, 100  # the store's column sizes


class WebhookBody(RootModel[dict[str, JsonValue] | list[JsonValue]]):
    """A ticketing system's webhook body, as it comes: a JSON object (or a list of tickets)."""


def _labels_known(triager: Triager | None) -> tuple[str | None, dict[str, set[str]]]:
    if triager is None:
        return None, {}
    manifest = triager.bundle.manifest
    return manifest.model_version, {head: set(info.labels) for head, info in manifest.heads.items()}


def _answer(result: OutcomeResult, source: str, triager: Triager | None, notes: Sequence[str] = ()) -> OutcomeOut:
    version, known = _labels_known(triager)
    unknown = {h: label for h, label in result.labels.items() if h in known and label and label not in known[h]}
    return OutcomeOut(
        ticket_id=result.ticket_id,
        status=result.status.value,
        new_ticket=result.new_ticket,
        source=source,
        resolved_at=result.resolved_at,
        labels=result.labels,
        disagrees_with_review=result.disagrees,
        disagrees_with_suggestion=result.model_disagrees,
        unknown_labels=unknown,
        model_version=version,
        notes=list(notes),
    )


def _record(ticket_id: str, outcome: OutcomeIn, settings: Settings) -> OutcomeRecord:
    from triage.store import OutcomeRecord

    prepared = prepare_parts(outcome.subject, outcome.body, max_chars=settings.max_text_chars)
    return OutcomeRecord(
        ticket_id=ticket_id,
        source=outcome.source,
        labels=outcome.labels.model_dump(),
        resolved_at=outcome.resolved_at,
        subject=prepared.subject or None,
        body=prepared.body or None,
        created_at=outcome.created_at,
        channel=outcome.channel,
        truncated=prepared.truncated,
    )


def outcome_one(
    raw: bytes, content_type: str | None, store: Store, ticket_id: str, triager: Triager | None, settings: Settings
) -> Response:
    from triage.store import record_outcomes  # the store (SQLAlchemy), once recording is on

    require_json(content_type)
    outcome = parse_body(raw, OutcomeIn)
    [result] = record_outcomes(store, [_record(ticket_id, outcome, settings)])
    return json_response(_answer(result, outcome.source, triager))


def _too_many(n: int, settings: Settings) -> None:
    if n > settings.max_batch:
        message = f"{n} outcomes in one call; the limit is {settings.max_batch} (TRIAGE_MAX_BATCH)"
        raise ApiError(413, "payload_too_large", message)


def outcome_batch(
    raw: bytes, content_type: str | None, store: Store, triager: Triager | None, settings: Settings
) -> Response:
    from triage.store import record_outcomes  # the store (SQLAlchemy), once recording is on

    require_json(content_type)
    request = parse_body(raw, OutcomeBatchRequest)
    _too_many(len(request.outcomes), settings)
    items: list[OutcomeBatchItem | None] = [None] * len(request.outcomes)
    valid: list[tuple[int, OutcomeItem]] = []
    for i, fields in enumerate(request.outcomes):
        try:
            valid.append((i, OutcomeItem.model_validate(fields)))
        except ValidationError as exc:
            details = [ErrorDetail(**d) for d in validation_details(exc.errors(include_input=False))]
            error = ErrorBody(code="validation_error", message="the outcome is invalid", details=details)
            items[i] = OutcomeBatchItem(index=i, ok=False, error=error)
    results = record_outcomes(store, [_record(item.ticket_id, item, settings) for _, item in valid])
    for (i, item), result in zip(valid, results, strict=True):
        items[i] = OutcomeBatchItem(index=i, ok=True, result=_answer(result, item.source, triager))
    return json_response(OutcomeBatchResponse(results=[it for it in items if it is not None]))


def _trained_mapping(triager: Triager | None) -> ColumnMapping | None:
    stored = triager.bundle.manifest.mapping if triager is not None else None
    if not stored:
        return None
    try:
        return ColumnMapping.model_validate(stored)
    except ValidationError:  # a bundle of another triage version: read with the preset
        return None


def _invalid(field: str, problem: str) -> ApiError:
    detail = {"field": field, "problem": problem, "type": "webhook_body"}
    return ApiError(422, "validation_error", "the webhook body cannot be read", [detail])


def _checked(ticket: WebhookTicket) -> None:
    """The store's limits, said with the body's field names."""
    if len(ticket.id) > MAX_ID:
        raise _invalid(ticket.fields["id"], f"a ticket id is at most {MAX_ID} characters")
    for head, label in ticket.labels.items():
        if len(label) > MAX_LABEL:
            raise _invalid(ticket.fields.get(head, head), f"a label is at most {MAX_LABEL} characters")


def _webhook_record(system: str, ticket: WebhookTicket, settings: Settings) -> OutcomeRecord:
    from triage.store import OutcomeRecord

    prepared = prepare_parts(ticket.subject, ticket.body, max_chars=settings.max_text_chars)
    return OutcomeRecord(
        ticket_id=ticket.id,
        source=system,
        labels=ticket.labels,
        resolved_at=ticket.resolved_at,
        subject=prepared.subject or None,
        body=prepared.body or None,
        created_at=ticket.created_at,
        truncated=prepared.truncated,
    )


def _not_resolved(system: str, ticket: WebhookTicket, triager: Triager | None) -> OutcomeOut:
    version, known = _labels_known(triager)
    labels: dict[str, Any] = {h: ticket.labels.get(h) for h in HEADS}
    unknown = {h: label for h, label in ticket.labels.items() if h in known and label not in known[h]}
    return OutcomeOut(
        ticket_id=ticket.id,
        status="not_resolved",
        new_ticket=False,
        source=system,
        resolved_at=None,
        labels=labels,
        disagrees_with_review=[],
        disagrees_with_suggestion=[],
        unknown_labels=unknown,
        model_version=version,
        notes=[*ticket.notes, "the body says the ticket is not resolved: nothing was stored"],
    )


def outcome_webhook(
    system: str, raw: bytes, content_type: str | None, store: Store, triager: Triager | None, settings: Settings
) -> Response:
    from triage.store import record_outcomes  # the store (SQLAlchemy), once recording is on

    require_json(content_type)
    doc = parse_body(raw, WebhookBody).root
    mapping = preset_mapping(system, _trained_mapping(triager))
    try:
        tickets = read_webhook(system, doc, mapping)
    except WebhookBodyError as exc:
        raise _invalid(exc.field, exc.problem) from None
    _too_many(len(tickets), settings)
    for ticket in tickets:
        _checked(ticket)
    resolved = [t for t in tickets if t.resolved is not False]
    results = iter(record_outcomes(store, [_webhook_record(system, t, settings) for t in resolved]))
    items = [
        OutcomeBatchItem(
            index=i,
            ok=True,
            result=_answer(next(results), system, triager, t.notes)
            if t.resolved is not False
            else _not_resolved(system, t, triager),
        )
        for i, t in enumerate(tickets)
    ]
    return json_response(OutcomeBatchResponse(results=items))
