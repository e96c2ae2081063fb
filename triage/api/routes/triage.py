"""POST /v1/triage and /v1/triage/batch: routing suggestions for tickets.

The endpoints are ``async`` and only read the body (already buffered by the middleware); parsing, validation,
cleaning and the model run in one worker-thread hop (:mod:`triage.api.tickets`), except for a single ticket of at
most ``INLINE_BYTES`` while such answers take a few milliseconds (:class:`~triage.api.state.AnswerTime`), or
up to 20 ms while no other request is open in the worker (:class:`~triage.api.middleware.CountOpen`): that one
is answered on the event loop, as the hop itself cost about as much (benchmarks/README.md, "A lean, fast
service"). A longer ticket, a slow model and every batch go to a worker thread, so that no request holds the
loop for long. The routes read the app's state directly rather than through dependencies: FastAPI solves each
dependency on every request (tens of microseconds of CPU apiece: 0.37-0.39 ms for the web layer with
five more of them, 0.20-0.30 ms without, benchmarks/README.md)."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from triage.api import tickets
from triage.api.deps import served
from triage.api.openapi import errors, json_body
from triage.api.schemas import BatchRequest, BatchResponse, TicketIn, TriageResponse
from triage.api.state import ALONE_BUDGET_S

router = APIRouter(prefix="/v1", tags=["triage"], responses=errors(400, 413, 415, 422, 503))
INLINE_BYTES = 2048  # covers nine in ten IT tickets and every Banking77 query


@router.post("/triage", response_model=TriageResponse, summary="Triage one ticket", openapi_extra=json_body(TicketIn))
async def triage_one(request: Request) -> Response:
    """Category, priority and tier suggestions with calibrated confidence, and whether the ticket may be
    routed automatically (`auto_route`) or goes to a first-line agent (`needs_review`, with reasons). The
    ticket and decision are recorded (`"recorded": true`) unless TRIAGE_RECORD=off or the store is down."""
    state, context = served(request)
    triager = state.current()
    raw = await request.body()
    content_type = request.headers.get("content-type")
    work = partial(tickets.triage_one, raw, content_type, triager, *context)
    if len(raw) > INLINE_BYTES:
        return await run_in_threadpool(work)
    timing = state.answer_time
    if timing.short() or (request.app.state.open_requests.count == 1 and timing.short(ALONE_BUDGET_S)):
        return timing.timed(work)
    return await run_in_threadpool(timing.timed, work)


@router.post(
    "/triage/batch",
    response_model=BatchResponse,
    summary="Triage several tickets in one call",
    openapi_extra=json_body(BatchRequest),
)
async def triage_batch(request: Request) -> Response:
    """Answers in request order. A ticket that fails validation gets an error entry; the others are answered
    (and recorded together, in one transaction)."""
    state, context = served(request)
    triager = state.current()
    raw = await request.body()
    content_type = request.headers.get("content-type")
    return await run_in_threadpool(tickets.triage_batch, raw, content_type, triager, *context)
