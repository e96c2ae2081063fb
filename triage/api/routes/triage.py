"""POST /v1/triage and /v1/triage/batch: routing suggestions for tickets."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from triage.api.deps import MetricsDep, SettingsDep, TriagerDep
from triage.api.errors import validation_details
from triage.api.metrics import ServiceMetrics
from triage.api.schemas import BatchItem, BatchRequest, BatchResponse, ErrorBody, TicketIn, TriageResponse
from triage.data.cleaning import ticket_text
from triage.decision import Decision

router = APIRouter(prefix="/v1", tags=["triage"])
NO_TEXT = "subject and body hold no text once HTML and quoted replies are removed"


def prepare(ticket: TicketIn, max_chars: int) -> tuple[str, bool]:
    """The cleaned text the model reads, cut to ``max_chars`` (and whether it was cut)."""
    text = ticket_text(ticket.subject, ticket.body)
    return text[:max_chars], len(text) > max_chars


def _record(metrics: ServiceMetrics, decision: Decision) -> None:
    metrics.decisions.labels(outcome=decision.outcome.value).inc()
    for head, suggestion in decision.heads.items():
        metrics.head_decisions.labels(head=head, outcome="confident" if suggestion.confident else "not_confident").inc()
    for reason in decision.reasons:
        metrics.reasons.labels(code=reason.code, head=reason.head or "").inc()


def _respond(ticket: TicketIn, decision: Decision, truncated: bool) -> TriageResponse:
    return TriageResponse(**decision.model_dump(), id=ticket.id, truncated=truncated)


@router.post("/triage", response_model=TriageResponse, summary="Triage one ticket")
def triage_one(ticket: TicketIn, triager: TriagerDep, settings: SettingsDep, metrics: MetricsDep) -> TriageResponse:
    """Category, priority and tier suggestions with calibrated confidence, and whether the ticket may be
    routed automatically (`auto_route`) or goes to a first-line agent (`needs_review`, with reasons)."""
    text, truncated = prepare(ticket, settings.max_text_chars)
    if not text:
        raise RequestValidationError([{"loc": ("body", "body"), "msg": NO_TEXT, "type": "value_error"}])
    decision = triager.decide([text])[0]
    _record(metrics, decision)
    return _respond(ticket, decision, truncated)


@router.post("/triage/batch", response_model=BatchResponse, summary="Triage several tickets in one call")
def triage_batch(
    request: BatchRequest, triager: TriagerDep, settings: SettingsDep, metrics: MetricsDep
) -> BatchResponse:
    """Answers in request order. A ticket that fails validation gets an error entry; the others are answered."""
    if len(request.tickets) > settings.max_batch:
        raise HTTPException(
            413, detail=f"{len(request.tickets)} tickets in one batch; the limit is {settings.max_batch}"
        )
    items: list[BatchItem | None] = [None] * len(request.tickets)
    valid: list[tuple[int, TicketIn, str, bool]] = []
    for i, raw in enumerate(request.tickets):
        try:
            ticket = TicketIn.model_validate(raw)
        except ValidationError as exc:
            details = validation_details(exc.errors(), from_request=False)
            items[i] = BatchItem(
                index=i,
                ok=False,
                error=ErrorBody(code="validation_error", message="the ticket is invalid", details=details),
            )
            continue
        text, truncated = prepare(ticket, settings.max_text_chars)
        if not text:
            items[i] = BatchItem(
                index=i,
                ok=False,
                error=ErrorBody(
                    code="validation_error",
                    message="the ticket is invalid",
                    details=[{"field": "body", "problem": NO_TEXT, "type": "value_error"}],
                ),
            )
            continue
        valid.append((i, ticket, text, truncated))
    decisions = triager.decide([text for _, _, text, _ in valid])
    for (i, ticket, _, truncated), decision in zip(valid, decisions, strict=True):
        _record(metrics, decision)
        items[i] = BatchItem(index=i, ok=True, result=_respond(ticket, decision, truncated))
    return BatchResponse(model_version=triager.version, results=[item for item in items if item is not None])
