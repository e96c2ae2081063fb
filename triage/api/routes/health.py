"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from triage.api.deps import MetricsDep, RecordingDep, StateDep
from triage.api.openapi import errors
from triage.api.schemas import Alive, Ready

health_router = APIRouter(tags=["operations"], responses=errors(503))
metrics_router = APIRouter(tags=["operations"], responses=errors(503))


@health_router.get("/healthz", summary="The process is alive")
async def healthz() -> Alive:
    return Alive(status="ok")


@health_router.get("/readyz", summary="A model is loaded and answering", response_model_exclude_none=True)
async def readyz(state: StateDep, recording: RecordingDep) -> Ready:
    """200 with the served version; `"status": "degraded"` and a `reason` while the store cannot be reached
    (tickets are answered, not recorded); 503 while no model is loaded (the reason is in the service log)."""
    version = state.current().version
    problem = recording.problem
    if problem is not None:
        return Ready(status="degraded", model_version=version, reason=problem)
    return Ready(status="ready", model_version=version)


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}},
)
def metrics(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.exposition()), media_type=CONTENT_TYPE_LATEST)
